import ElmoBiLM
import FuzzSupport

/// Config JSON: decoding, range checks, unknown keys and the memory estimate must never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzInput.file(data, size, name: "config.json")
    _ = try? BiLMOptions.load(path: path)
    _ = try? BiLMOptions.load(path: path, allowUnknownKeys: true)
    return 0
}
