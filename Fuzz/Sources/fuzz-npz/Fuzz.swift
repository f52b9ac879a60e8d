import ElmoBiLM
import FuzzSupport

/// `.npz` archives: the ZIP structure, every member's inflate and CRC, `.npy` headers and tensors, and the
/// checkpoint loader on top.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzInput.file(data, size, name: "archive.npz")
    if let reader = try? NpzReader(path: path) {
        for member in reader.memberNames { _ = try? reader.bytes(member) }
        for name in reader.tensorNames { _ = try? reader.tensor(name) }
    }
    _ = try? BiLMCheckpoint.load(path)
    return 0
}
