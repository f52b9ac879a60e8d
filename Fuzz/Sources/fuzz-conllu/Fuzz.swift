import ElmoText
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzInput.file(data, size, name: "data.conllu")
    _ = try? ConllReader(format: .conllu).read(path: path)
    _ = try? ConllReader(format: .conllu, useXPOS: true).read(path: path)
    return 0
}
