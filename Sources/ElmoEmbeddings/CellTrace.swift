import ElmoBiLM
import ElmoTensor
import ElmoText

/// The LSTM memory cells c_t of a biLM over some text, for every layer and direction: what `elmo visualize cells`
/// colours the text by. The values come from `BiLanguageModel.layerOutputsAndCells`, the forward pass `embed` runs.
///
/// Two ways to read the text: each sentence on its own from a zero state with `<S>` … `</S>` around it (exactly as
/// `embed`), or the whole text as one stream (`stream`: every sentence still wrapped in `<S>` … `</S>`, as in
/// pre-training, but the state runs on across sentences, which is what lets position and bracket cells show). The
/// boundary tokens are run but not kept: `tokens` and the values are the text's own tokens, in reading order.
public struct CellTrace {
    /// One layer and direction's cells.
    public struct Group {
        /// 1-based LSTM layer.
        public var layer: Int
        /// `"forward"` or `"backward"`.
        public var direction: String
        /// C, the cells of the layer.
        public var cellCount: Int
        /// `[N, C]` row-major: token n's value of cell j at `n * C + j`.
        public var values: [Float]

        public func value(token n: Int, cell j: Int) -> Float { values[n * cellCount + j] }
    }

    /// The sentences, as read.
    public var sentences: [[String]]
    /// 2L groups: layer 1 forward, layer 1 backward, layer 2 forward, …
    public var groups: [Group]
    public var stream: Bool

    /// N, the number of tokens (all sentences).
    public var tokenCount: Int { sentences.reduce(0) { $0 + $1.count } }

    /// Runs `model` over `sentences` (none empty) in batches of `batchSize` sentences, or as one stream.
    public init(model: BiLanguageModel, sentences: [[String]], stream: Bool, batchSize: Int = 32) {
        precondition(sentences.allSatisfy { !$0.isEmpty }, "CellTrace: sentences must not be empty.")
        self.sentences = sentences
        self.stream = stream
        let n = sentences.reduce(0) { $0 + $1.count }, c = model.options.lstm.cellSize, layers = model.layerCount
        var collected = (0..<(2 * layers)).map { k in
            Group(layer: k / 2 + 1, direction: k % 2 == 0 ? "forward" : "backward", cellCount: c, values: [Float](repeating: 0, count: n * c))
        }
        // Where each sentence's first token lands in the reading order.
        var offsets: [Int] = [], running = 0
        for s in sentences { offsets.append(running); running += s.count }

        /// Copies the kept rows (step `from + i` of batch row `row` → token `to + i`) of every layer's cells.
        func keep(_ cells: (forward: [Tensor], backward: [Tensor]), row: Int, steps: Int, from: Int, to: Int, count: Int) {
            for k in 0..<layers {
                for (d, tensor) in [cells.forward[k], cells.backward[k]].enumerated() {
                    let src = (row * steps + from) * c
                    collected[2 * k + d].values.replaceSubrange((to * c)..<((to + count) * c), with: tensor.scalars[src..<(src + count * c)])
                }
            }
        }

        if stream {
            let streamTokens = sentences.flatMap { [Vocabulary.bos] + $0 + [Vocabulary.eos] }
            var chars: [Int32] = []
            for token in streamTokens { CharacterIds.append(token, maxCharacters: model.maxCharacters, to: &chars) }
            let out = model.layerOutputsAndCells(characters: chars, batchSize: 1, steps: streamTokens.count, lengths: [streamTokens.count])
            var position = 0
            for (s, sentence) in sentences.enumerated() {
                keep((out.forwardCells, out.backwardCells), row: 0, steps: streamTokens.count, from: position + 1, to: offsets[s],
                     count: sentence.count)
                position += sentence.count + 2
            }
        } else {
            for batch in ContextualEmbedder.buckets(lengths: sentences.map(\.count), batchSize: batchSize) {
                let (chars, steps, lengths) = ContextualEmbedder.characterBatch(batch.map { sentences[$0] }, maxCharacters: model.maxCharacters)
                let out = model.layerOutputsAndCells(characters: chars, batchSize: batch.count, steps: steps, lengths: lengths)
                for (row, s) in batch.enumerated() {
                    keep((out.forwardCells, out.backwardCells), row: row, steps: steps, from: 1, to: offsets[s], count: sentences[s].count)
                }
            }
        }
        groups = collected
    }
}
