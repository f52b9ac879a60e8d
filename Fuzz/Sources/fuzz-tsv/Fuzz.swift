import ElmoText
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzInput.file(data, size, name: "data.tsv")
    _ = try? ClassificationReader().read(path: path)
    _ = try? ClassificationReader(labelColumn: "label", textColumn: "text", hasHeader: true).read(path: path)
    return 0
}
