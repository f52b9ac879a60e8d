/// Batches of similar-length sentences, so a padded batch wastes little work: indices sorted by length (stable, ties
/// in input order) and cut into groups of at most `batchSize`. Used by everything that runs a model over sentences
/// each on its own (embedding, sentence scoring, task heads); results go back in input order.
public enum LengthBuckets {
    public static func batches(lengths: [Int], batchSize: Int) -> [[Int]] {
        let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        let size = max(batchSize, 1)
        return stride(from: 0, to: order.count, by: size).map { Array(order[$0..<min($0 + size, order.count)]) }
    }
}
