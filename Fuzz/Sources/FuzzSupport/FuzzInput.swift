import CFuzzer
import Foundation

/// The readers take paths, so each input goes through a file (one per process, rewritten every run).
public enum FuzzInput {
    private static let folder: String = {
        let path = NSTemporaryDirectory() + "/elmo-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes the fuzzer's bytes to `<tmp>/elmo-fuzz-<pid>/<name>` and returns the path.
    public static func file(_ data: UnsafePointer<UInt8>, _ size: Int, name: String) -> String {
        let path = folder + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
        return path
    }
}

/// Starts libFuzzer with `callback` (the target's `LLVMFuzzerTestOneInput`); called from each target's entry point.
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                      _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32 {
    var count = argc
    var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &vector, callback)
}
