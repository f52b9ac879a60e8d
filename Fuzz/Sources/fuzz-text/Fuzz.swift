import ElmoText
import FuzzSupport

/// Text input (LineReader, gzip included) and tokenization: any bytes must give lines or a clean error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    for name in ["input.txt", "input.txt.gz"] {
        let path = FuzzInput.file(data, size, name: name)
        if let reader = try? LineReader(path: path, bufferSize: 7) {
            while let line = try? reader.nextLine() { _ = Corpus.tokens(of: line) }
        }
    }
    return 0
}
