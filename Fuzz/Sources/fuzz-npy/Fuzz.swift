import ElmoKit
import FuzzSupport

/// `.npy` headers alone (the dictionary parser).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let headerSize = try? NpyFormat.headerSize(prefix: Array(bytes.prefix(12)), path: "fuzz", member: "x.npy"), headerSize <= bytes.count {
        _ = try? NpyFormat.decodeHeader(Array(bytes.prefix(headerSize)), path: "fuzz", member: "x.npy")
    }
    _ = try? NpyFormat.decodeHeader(bytes, path: "fuzz", member: "x.npy")
    return 0
}

/// Entry point: SwiftPM links `main` to `<module>_main`.
@_cdecl("fuzz_npy_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
