/// Batches of similar-length sentences, so a padded batch wastes little work: indices sorted by length (stable, ties
/// in input order) and cut into groups of at most `batchSize`. Used by everything that runs a model over sentences
/// each on its own (embedding, sentence scoring, task heads); results go back in input order.
///
/// With a token budget (`maxTokens`, AllenNLP's `maximum_samples_per_batch`) a batch is also cut before its padded
/// size, sentences × longest sentence in tokens, would pass the budget, so memory is bounded by the budget rather
/// than by the sentence count: many short sentences share a batch, a long one runs with few others. A sentence
/// longer than the budget on its own runs alone.
public enum LengthBuckets {
    public static func batches(lengths: [Int], batchSize: Int, maxTokens: Int? = nil) -> [[Int]] {
        let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        return cut(order, lengths: lengths, batchSize: batchSize, maxTokens: maxTokens)
    }

    /// Cuts `order` (ascending in length) into consecutive batches of at most `batchSize` sentences and, with
    /// `maxTokens`, at most `maxTokens` padded tokens (the last sentence of a batch is its longest).
    public static func cut(_ order: [Int], lengths: [Int], batchSize: Int, maxTokens: Int?) -> [[Int]] {
        let size = max(batchSize, 1)
        var batches: [[Int]] = []
        var current: [Int] = []
        for index in order {
            let padded = (current.count + 1) * max(lengths[index], current.last.map { lengths[$0] } ?? 0)
            if !current.isEmpty && (current.count == size || maxTokens.map { padded > $0 } == true) {
                batches.append(current)
                current.removeAll(keepingCapacity: true)
            }
            current.append(index)
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}
