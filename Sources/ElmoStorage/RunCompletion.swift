import Foundation

/// A run folder is marked incomplete while it trains: the marker file `INCOMPLETE` is written before the first
/// model file and removed only when training ends normally. So a run killed (even by SIGKILL) or stopped early
/// leaves a `best.npz` that says what it is, and the commands that use a model warn about it.
extension RunFolder {
    public static let incompleteMarker = "INCOMPLETE"

    public var incompleteMarkerPath: String { file(Self.incompleteMarker) }

    /// Writes the marker with `reason` (why the run may be incomplete, and how to go on).
    public func markIncomplete(_ reason: String) throws {
        try Self.writeAtomically(Data((reason + "\n").utf8), to: incompleteMarkerPath)
    }

    /// Removes the marker: training finished.
    public func markComplete() {
        unlink(incompleteMarkerPath)
    }

    /// A warning for a model file or run folder `path` whose run is marked incomplete, or nil.
    public static func incompleteWarning(for path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        let folder = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        let marker = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(incompleteMarker)
        guard let text = try? String(contentsOfFile: marker, encoding: .utf8) else { return nil }
        return "\(path) comes from a run that did not finish (\(marker): \(text.trimmingCharacters(in: .whitespacesAndNewlines)))"
    }
}
