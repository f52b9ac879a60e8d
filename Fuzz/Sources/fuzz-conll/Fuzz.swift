import ElmoText
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzInput.file(data, size, name: "data.conll")
    _ = try? ConllReader(format: .conll).read(path: path)
    _ = try? ConllReader(format: .conll, tokenColumn: 1, tagColumn: 2).read(path: path)
    return 0
}
