import Foundation

/// Appends one JSON object per line to `metrics.jsonl`, flushed at once so a killed run keeps its history.
public final class MetricsLog {
    private let handle: FileHandle?

    /// `truncate` starts an empty log; otherwise records are appended, after dropping those of steps beyond
    /// `keepingStepsUpTo` (a resumed run repeats the steps that a killed run logged after its last checkpoint).
    public init(path: String, truncate: Bool, keepingStepsUpTo lastStep: Int? = nil) {
        if truncate || !FileManager.default.fileExists(atPath: path) {
            // open(2) rather than `FileManager.createFile`, which leaves a stray temporary file if killed; a failure
            // shows when the handle opens.
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if fd >= 0 { close(fd) }
        } else if let lastStep, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                let record = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                return ((record?["step"] as? NSNumber)?.intValue ?? 0) <= lastStep
            }
            try? RunFolder.writeAtomically(Data(kept.map { $0 + "\n" }.joined().utf8), to: path)
        }
        handle = FileHandle(forWritingAtPath: path)
        handle?.seekToEndOfFile()
    }

    public func append(_ record: [String: Any]) {
        guard let line = JSONLineEncoder.encode(record) else { return }
        handle?.write(Data((line + "\n").utf8))
    }

    /// All records of a metrics file (for plotting after a resumed run).
    public static func read(path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap(JSONLineDecoder.decode)
    }

    deinit { try? handle?.close() }
}
