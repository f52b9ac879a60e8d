import ElmoKit
import FuzzSupport

/// Config JSON: decoding, range checks, unknown keys and the memory estimate must never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzInput.file(data, size, name: "config.json")
    _ = try? BiLMOptions.load(path: path)
    _ = try? BiLMOptions.load(path: path, allowUnknownKeys: true)
    return 0
}

/// Entry point: SwiftPM links `main` to `<module>_main`.
@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
