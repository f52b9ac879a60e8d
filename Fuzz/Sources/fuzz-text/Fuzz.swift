import ElmoKit
import FuzzSupport

/// Text input (LineReader, gzip included) and tokenization: any bytes must give lines or a clean error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    for name in ["input.txt", "input.txt.gz"] {
        let path = FuzzInput.file(data, size, name: name)
        if let reader = try? LineReader(path: path, bufferSize: 7) {
            while let line = try? reader.nextLine() { _ = Corpus.tokens(of: line) }
        }
    }
    return 0
}

/// Entry point: SwiftPM links `main` to `<module>_main`.
@_cdecl("fuzz_text_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
