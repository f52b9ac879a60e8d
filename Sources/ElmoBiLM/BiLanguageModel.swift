import ElmoLayers
import ElmoTensor
import ElmoText

/// ELMo's bidirectional language model: a shared character-aware token encoder, a forward and a backward LSTMP
/// stack, and one softmax shared by both directions.
///
/// Training loss = ½ (mean CE forward + mean CE backward); the backward LM reads each stream reversed (the data
/// layer hands it the reversed stream, as bilm-tf does). B batch, T steps, W chars per token, P projection, V vocab.
///
/// Every use of the model runs one forward pass, `forward(_:rng:)`, and one backward pass, `backward(_:tape:)`; a
/// `BiLMPass` says what it reads and keeps. `trainStep`, `score`, `layerOutputs` and the fine-tuning calls are those
/// two with the options their callers always use.
public final class BiLanguageModel: Layer {
    public let options: BiLMOptions
    public let encoder: TokenEncoder
    public let forwardStack: LSTMStack
    public let backwardStack: LSTMStack
    /// Full softmax (scoring, generation); with `n_negative_samples_batch > 0`, training uses `sampledSoftmax`, which
    /// shares its weight and bias objects. nil for a model imported from a bilm-tf weight file (those files carry no
    /// softmax): such a model embeds and fine-tunes, but `trainStep` and `score` must not be called on it.
    public let softmax: SoftmaxCrossEntropyLoss?
    public let sampledSoftmax: SampledSoftmaxLoss?
    public let outputDropout: Dropout

    /// `withSoftmax: false` builds the encoder and both stacks only (an imported model); `vocabularySize` is then
    /// only recorded in `options.vocabularySize`.
    public init(options: BiLMOptions, vocabularySize: Int, seed: UInt64, withSoftmax: Bool = true) {
        var rng = RandomGenerator(seed: seed)
        var opts = options
        opts.vocabularySize = vocabularySize
        self.options = opts
        encoder = TokenEncoder(options: opts, rng: &rng)
        forwardStack = LSTMStack(options: opts, name: "forward", rng: &rng)
        backwardStack = LSTMStack(options: opts, name: "backward", rng: &rng)
        let softmax = withSoftmax
            ? SoftmaxCrossEntropyLoss(inputSize: opts.lstm.projectionSize, vocabularySize: vocabularySize, name: "softmax", rng: &rng)
            : nil
        self.softmax = softmax
        if let softmax, opts.sampledSoftmaxSize > 0 && opts.sampledSoftmaxSize < vocabularySize {
            sampledSoftmax = SampledSoftmaxLoss(sharing: softmax, sampleCount: opts.sampledSoftmaxSize)
        } else {
            sampledSoftmax = nil
        }
        outputDropout = Dropout(probability: opts.dropout)
    }

    /// Every trainable tensor, in checkpoint order.
    public var parameters: [Parameter] {
        encoder.parameters + forwardStack.parameters + backwardStack.parameters
            + (softmax?.parameters ?? [])
    }

    public var projectionSize: Int { options.lstm.projectionSize }
    public var maxCharacters: Int { options.charCNN.maxCharactersPerToken }
    public var layerCount: Int { options.lstm.layerCount }

    /// The carried LSTM states of both directions (truncated BPTT).
    public struct States {
        public var forward: [LSTMWithProjection.State]
        public var backward: [LSTMWithProjection.State]
    }

    public func zeroStates(batch: Int) -> States {
        States(forward: forwardStack.zeroStates(batch: batch), backward: backwardStack.zeroStates(batch: batch))
    }

    /// One training step's forward and backward pass; accumulates gradients (the caller zeroes them, clips and
    /// updates). Returns the mean loss ½(CE_fwd + CE_bwd) and updates `states` to the carried final states.
    ///
    /// The two directions run concurrently between the shared encoder and the shared softmax; each draws its dropout
    /// masks from its own generator, seeded from `rng`, so results do not depend on timing.
    public func trainStep(_ batch: StreamBatch, states: inout States, rng: inout RandomGenerator) -> Double {
        trainStep(batch, states: &states, draws: .perDirection, rng: &rng, afterForward: nil, gradientsFinal: nil)
    }

    /// `trainStep` with keyed draws (pre-training): the masks of a global row and the negatives depend only on the
    /// run's seed and step, so N processes sharing the batch draw what one process would.
    ///
    /// `afterForward` gets the mean loss before backward starts, and `gradientsFinal(k)` says when backward has
    /// finished the gradients of `gradientBuckets[k]` (from the thread that finished it), so that a data-parallel
    /// reducer can send them while backward goes on.
    public func trainStep(_ batch: StreamBatch, states: inout States, draws: BiLMPass.KeyedDraws,
                          afterForward: ((Double) -> Void)? = nil, gradientsFinal: ((Int) -> Void)? = nil) -> Double {
        var unused = RandomGenerator(seed: 0)
        return trainStep(batch, states: &states, draws: .keyed(draws), rng: &unused, afterForward: afterForward,
                         gradientsFinal: gradientsFinal)
    }

    private func trainStep(_ batch: StreamBatch, states: inout States, draws: BiLMPass.DropoutDraws, rng: inout RandomGenerator,
                           afterForward: ((Double) -> Void)?, gradientsFinal: ((Int) -> Void)?) -> Double {
        _ = requiredSoftmax("trainStep")
        let pass = forward(BiLMPass(input: .streams(batch, states: states), softmax: .loss, training: true, keepForBackward: true,
                                    dropoutDraws: draws),
                           rng: &rng)
        states = pass.states
        // Both directions have the same number of targets, so the mean over all of them is ½(mean_fwd + mean_bwd).
        let loss = pass.lossSum / Double(max(pass.targetCount, 1))
        afterForward?(loss)
        backward(.meanLoss, tape: pass.tape!, gradientsFinal: gradientsFinal)
        return loss
    }

    /// The parameters grouped in the order a training step's backward finishes their gradients: the softmax, the
    /// forward stack's layers from the top down, the backward stack's likewise (the stacks may finish in either
    /// order when they run concurrently), the token encoder; 2L + 2 buckets. One bucket per layer rather than per
    /// stack lets a reducer send a stack's upper layers while its lower ones still run backward, so less is left to
    /// send when backward ends. `BiLanguageModel.backward(_:tape:gradientsFinal:)` reports them by index.
    public var gradientBuckets: [[Parameter]] {
        func topDown(_ stack: LSTMStack) -> [[Parameter]] { stack.layers.reversed().map(\.parameters) }
        return [softmax?.parameters ?? []] + topDown(forwardStack) + topDown(backwardStack) + [encoder.parameters]
    }

    /// The index in `gradientBuckets` of layer `layer` of the forward (`direction` 0) or backward (1) stack.
    func gradientBucket(direction: Int, layer: Int) -> Int {
        1 + direction * layerCount + (layerCount - 1 - layer)
    }

    /// Summed negative log-likelihoods of a batch without dropout or gradients (validation perplexity).
    public func score(_ batch: StreamBatch, states: inout States) -> (forward: Double, backward: Double, count: Int) {
        let (forward, backward) = targetNegativeLogLikelihoods(batch, states: &states)
        func sum(_ losses: [Float], _ targets: [Int32]) -> Double {
            zip(losses, targets).reduce(0.0) { $1.1 >= 0 ? $0 + Double($1.0) : $0 }
        }
        return (sum(forward, batch.forwardTargets), sum(backward, batch.backwardTargets),
                batch.forwardTargets.lazy.filter { $0 >= 0 }.count)
    }

    /// Each position's NLL `−log p(target)` `[B * T]` in both directions, without dropout or gradients; 0 where the
    /// target is < 0 (padding). Scoring, perplexity and sentence scores all go through this.
    public func targetNegativeLogLikelihoods(_ batch: StreamBatch, states: inout States) -> (forward: [Float], backward: [Float]) {
        _ = requiredSoftmax("score")
        let pass = forward(BiLMPass(input: .streams(batch, states: states), softmax: .targetNegativeLogLikelihoods))
        states = pass.states
        return (pass.forwardNegativeLogLikelihoods, pass.backwardNegativeLogLikelihoods)
    }

    /// The softmax, for the calls that need one; callers check `softmax != nil` first (`BiLMCheckpoint.Contents.requireSoftmax`).
    func requiredSoftmax(_ caller: String) -> SoftmaxCrossEntropyLoss {
        guard let softmax else { preconditionFailure("BiLanguageModel.\(caller) needs a softmax, but this model has none (imported weights).") }
        return softmax
    }

    /// The contextual layer outputs of a padded batch of sentences (no dropout; each sentence starts from a zero state).
    ///
    /// chars `[B * T * W]` (sentence boundaries included by the caller), `lengths[b]` ≤ T.
    /// Returns L+1 tensors `[B, T, 2P]`: layer 0 = `[x; x]` (token encoder output), layer k = `[fwd_k; bwd_k]`;
    /// positions beyond a sentence's length hold unspecified values.
    public func layerOutputs(characters: [Int32], batchSize b: Int, steps t: Int, lengths: [Int],
                             tokenEncodings: TokenEncodingCache? = nil) -> [Tensor] {
        forward(BiLMPass(input: .sentences(characters: characters, batchSize: b, steps: t, lengths: lengths),
                         tokenEncodings: tokenEncodings)).layers
    }

    /// The layer outputs and memory cells of one forward pass of `layerOutputs` (the cells of interpretable-cell
    /// views come from the very computation `embed` uses). `forwardCells[k]` and `backwardCells[k]` are layer k's
    /// cells c_t `[B, T, C]`, both in sentence order (the backward stack's are reversed back within each length);
    /// they are empty unless `keepCells`.
    public func layerOutputsAndCells(characters: [Int32], batchSize b: Int, steps t: Int, lengths: [Int], keepCells: Bool = true)
        -> (layers: [Tensor], forwardCells: [Tensor], backwardCells: [Tensor]) {
        let pass = forward(BiLMPass(input: .sentences(characters: characters, batchSize: b, steps: t, lengths: lengths),
                                    keepCells: keepCells))
        return (pass.layers, pass.forwardCells, pass.backwardCells)
    }

    /// ELMo's representations from the stacks' outputs: layer 0 = `[x; x]`, layer k = `[fwd_k; reverse(bwd_k)]`
    /// (the backward stack ran on each sentence reversed within its length). All `[B, T, P]` → `[B, T, 2P]`.
    static func assembleLayers(embedded: Tensor, forward: [Tensor], backward: [Tensor], lengths: [Int]) -> [Tensor] {
        [Tensor.concatenatingColumns(embedded, embedded)]
            + zip(forward, backward).map { Tensor.concatenatingColumns($0, $1.reversingSteps(lengths: lengths)) }
    }
}
