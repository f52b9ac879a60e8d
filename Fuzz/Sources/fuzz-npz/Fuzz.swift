import ElmoKit
import FuzzSupport

/// `.npz` archives: the ZIP structure, every member's inflate and CRC, `.npy` headers and tensors, and the
/// checkpoint loader on top.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzInput.file(data, size, name: "archive.npz")
    if let reader = try? NpzReader(path: path) {
        for member in reader.memberNames { _ = try? reader.bytes(member) }
        for name in reader.tensorNames { _ = try? reader.tensor(name) }
    }
    _ = try? BiLMCheckpoint.load(path)
    return 0
}

/// Entry point: SwiftPM links `main` to `<module>_main`.
@_cdecl("fuzz_npz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
