import ElmoBiLM
import FuzzSupport

/// `.npy` headers alone (the dictionary parser).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let headerSize = try? NpyFormat.headerSize(prefix: Array(bytes.prefix(12)), path: "fuzz", member: "x.npy"), headerSize <= bytes.count {
        _ = try? NpyFormat.decodeHeader(Array(bytes.prefix(headerSize)), path: "fuzz", member: "x.npy")
    }
    _ = try? NpyFormat.decodeHeader(bytes, path: "fuzz", member: "x.npy")
    return 0
}
