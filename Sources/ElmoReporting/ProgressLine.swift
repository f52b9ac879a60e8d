import Foundation

/// The progress line on stderr: rewritten in place on a terminal; when stderr is not a terminal (CI, a log
/// file) only every `every`-th update is printed, one line each.
public final class ProgressLine {
    public let every: Int
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var updates = 0

    public init(every: Int) { self.every = max(1, every) }

    public func update(_ text: @autoclosure () -> String, force: Bool = false) {
        updates += 1
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text()).utf8))
        } else if force || updates % every == 0 {
            FileHandle.standardError.write(Data((text() + "\n").utf8))
        }
    }

    /// Ends the in-place line (terminal) so the next message starts on its own line.
    public func finish() {
        if isTerminal && updates > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds)
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
