import ElmoText

/// What a user can get wrong when training or applying a tagger (beyond the readers' `DataError`s and the shared
/// `TaskError`s). Every message names the file and line, or the option, and says what to do.
public enum TaggerError: Error, Equatable, CustomStringConvertible {
    /// A tag is not of the forms the tag scheme allows (e.g. `X-PER` in BIO).
    case invalidTag(path: String, line: Int, token: String, tag: String, scheme: TagScheme)
    /// `--metric f1` on tags that have no chunk scheme (plain POS-like tags).
    case spanMetricWithoutScheme(path: String, example: String)

    public var description: String {
        switch self {
        case let .invalidTag(path, line, token, tag, scheme):
            return "\(path):\(line): token '\(token)' has the tag '\(tag)', which is not a \(scheme.rawValue) tag "
                + "(\(scheme.rawValue) allows \(scheme.tagForms)). Fix the tag, or pass the --scheme the data uses."
        case let .spanMetricWithoutScheme(path, example):
            return "\(path): --metric f1 needs chunk tags (O, B-TYPE, I-TYPE, …), but tags such as '\(example)' are not; "
                + "pass --scheme if the data is chunked, or use --metric accuracy."
        }
    }
}
