import ElmoKit
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzInput.file(data, size, name: "data.conll")
    _ = try? ConllReader(format: .conll).read(path: path)
    _ = try? ConllReader(format: .conll, tokenColumn: 1, tagColumn: 2).read(path: path)
    return 0
}

/// Entry point: SwiftPM links `main` to `<module>_main`.
@_cdecl("fuzz_conll_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
