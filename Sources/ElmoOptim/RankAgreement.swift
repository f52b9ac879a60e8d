/// One thing every rank of a data-parallel job must have the same of (a config key, a training file, the seed, ...)
/// and this rank's value of it, in words: `what` "training file b.txt", `value` "size 1240, CRC-32 9a0c41d2".
public struct AgreementItem: Codable, Equatable, Sendable {
    public var what: String
    public var value: String

    public init(_ what: String, _ value: String) {
        self.what = what
        self.value = value
    }
}

/// What one rank brings to the check before training: its items, or why it could not compute them (a file it
/// cannot read), so that a rank's bad input is reported by rank 0 in one line instead of hanging the others.
public struct RankReport: Codable, Equatable, Sendable {
    public var items: [AgreementItem]
    public var failure: String?

    public init(items: [AgreementItem], failure: String? = nil) {
        self.items = items
        self.failure = failure
    }

    /// The first problem among the ranks' reports (index = rank), as one sentence, or nil when all agree: a rank
    /// that failed first, else the first item (in rank 0's order) on which some rank differs from rank 0.
    public static func disagreement(_ reports: [RankReport]) -> String? {
        if let (rank, report) = reports.enumerated().first(where: { $0.element.failure != nil }) {
            return "rank \(rank) cannot start: \(report.failure!)"
        }
        guard let reference = reports.first else { return nil }
        func values(_ report: RankReport) -> [String: String] {
            Dictionary(report.items.map { ($0.what, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
        let referenceValues = values(reference)
        // Rank 0's items in its order, then any item only another rank has.
        var order = reference.items.map(\.what)
        for report in reports.dropFirst() { order += report.items.map(\.what).filter { referenceValues[$0] == nil } }
        let others = reports.map(values)
        for what in order {
            for rank in others.indices.dropFirst() where others[rank][what] != referenceValues[what] {
                return "rank \(rank)'s \(what) differs from rank 0's (\(others[rank][what] ?? "absent") vs "
                    + "\(referenceValues[what] ?? "absent")); all ranks must start with the same options, vocabulary and files"
            }
        }
        return nil
    }
}
