import ElmoBiLM
import ElmoEmbeddings
import ElmoLayers
import ElmoTensor
import ElmoText

/// The input of a task head: for a padded batch of sentences, K representation layers `[B, T, D]` per token
/// (what the head's ScalarMix mixes), and the backward pass into whatever produced them.
///
/// Three modes (B batch, T = longest sentence, D = 2P, L = biLM layers):
/// - `frozen`: the pre-trained biLM's L + 1 layer outputs, computed once per sentence and kept in memory, so
///   epochs after the first cost only the head (exact, because each sentence starts from a zero LSTM state and
///   sees only its own tokens). No gradient reaches the biLM.
/// - `finetune`: the same layers computed with gradients on every batch (the biLM's own dropout while training);
///   `backward` trains the biLM through `BiLanguageModel.backwardLayerOutputs`.
/// - `noPretrained`: the baseline that measures the transfer gain: a randomly initialised token encoder (char-CNN
///   + highway + projection, from the same options) trained from scratch with the head; one layer, `[x; x]`.
///
/// With a task encoder (`frozen`, `finetune`; on by default in the CLI), a second, randomly initialised token
/// encoder — the baseline's — is trained with the head and its output x `[B, T, P]` is appended to every layer:
/// layer k = `[ELMo_k; x]`. Because ScalarMix weights sum to one, the mix of these is `γ·[Σ s_k ELMo_k; x]`: the
/// ELMo vector concatenated with the task's own token representation, which is how Peters et al. (2018, §3.3) add
/// ELMo to a supervised model. The baseline (`noPretrained`) is then exactly the same model without ELMo.
///
/// `<S>`/`</S>` are added for the biLM and removed again, so position t is token t. Outputs are zero at padding.
public final class TaskFeatures {
    public enum Mode: String, Codable, CaseIterable, Sendable {
        case frozen
        case finetune
        case noPretrained = "no-pretrained"
    }

    public let mode: Mode
    public let options: BiLMOptions
    /// The pre-trained biLM (`frozen`, `finetune`).
    public let bilm: BiLanguageModel?
    /// The token encoder trained from scratch (`noPretrained`).
    public let scratchEncoder: TokenEncoder?
    /// The task's own token encoder beside the biLM (`frozen`, `finetune` with `taskEncoder`), trained from scratch.
    public let taskEncoder: TokenEncoder?
    /// Parameter-name prefix of `taskEncoder` (its names must not collide with a stored biLM's).
    public static let taskEncoderPrefix = "task_encoder/"

    /// `frozen` or `finetune` features from a pre-trained biLM; with `taskEncoderSeed`, a task encoder randomly
    /// initialised from it is concatenated to every layer.
    public init(bilm: BiLanguageModel, mode: Mode, taskEncoderSeed: UInt64? = nil) {
        precondition(mode != .noPretrained, "TaskFeatures(bilm:mode:) takes frozen or finetune; use init(scratchOptions:seed:).")
        self.mode = mode
        self.options = bilm.options
        self.bilm = bilm
        self.scratchEncoder = nil
        self.taskEncoder = taskEncoderSeed.map { seed in
            var rng = RandomGenerator(seed: seed)
            return TokenEncoder(options: bilm.options, namePrefix: Self.taskEncoderPrefix, rng: &rng)
        }
    }

    /// `noPretrained` features: a token encoder built from `options`, randomly initialised from `seed`.
    public init(scratchOptions options: BiLMOptions, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        self.mode = .noPretrained
        self.options = options
        self.bilm = nil
        self.scratchEncoder = TokenEncoder(options: options, rng: &rng)
        self.taskEncoder = nil
    }

    /// What a fine-tuning run starts from: the features of `mode` on the biLM at `checkpoint` (only its options for
    /// `noPretrained`), encoders initialised from `seed`, `taskEncoder` adding the task encoder in the pre-trained
    /// modes; and the reference to that biLM its model records (nil for `noPretrained`).
    public static func forTraining(checkpoint: String, mode: Mode, taskEncoder: Bool,
                                   seed: UInt64) throws -> (features: TaskFeatures, bilm: BiLMReference?) {
        let bilm = try BiLMCheckpoint.load(checkpoint).model
        if mode == .noPretrained { return (TaskFeatures(scratchOptions: bilm.options, seed: seed), nil) }
        return (TaskFeatures(bilm: bilm, mode: mode, taskEncoderSeed: taskEncoder ? seed : nil),
                try BiLMReference(checkpoint: checkpoint))
    }

    /// K, the layers per token: L + 1 for a biLM, 1 for the scratch encoder.
    public var mixtureSize: Int { bilm.map { $0.layerCount + 1 } ?? 1 }
    /// 2P biLM (or `[x; x]`) features per layer.
    private var bilmDimension: Int { 2 * options.lstm.projectionSize }
    /// D features per layer: 2P, plus P with a task encoder.
    public var dimension: Int { bilmDimension + (taskEncoder == nil ? 0 : options.lstm.projectionSize) }
    private var maxCharacters: Int { options.charCNN.maxCharactersPerToken }

    /// Trainable feature parameters, bottom group first (for discriminative rates and gradual unfreezing):
    /// none when frozen; token encoder, LSTM layer 0, … when fine-tuned; the scratch encoder as one group.
    public var parameterGroups: [[Parameter]] {
        switch mode {
        case .frozen: return []
        case .finetune: return bilm!.finetuneParameterGroups
        case .noPretrained: return [scratchEncoder!.parameters]
        }
    }

    /// The task encoder's parameters (none without one): trained at the head's rate from the first epoch, since
    /// they start from scratch like the head.
    public var taskParameters: [Parameter] { taskEncoder?.parameters ?? [] }

    /// The parameters a task model must store to reproduce these features (a frozen biLM is referenced by path and
    /// CRC instead).
    public var storedParameters: [Parameter] { parameterGroups.flatMap { $0 } + taskParameters }

    /// The sentences of one data split; in `frozen` mode each sentence's `[K, n, D]` layers are cached on first use.
    public final class Sentences {
        public let tokens: [[String]]
        let cacheable: Bool
        var cached: [Tensor?]

        /// - Parameter cacheable: keep frozen layer outputs for later epochs (false for one-pass prediction).
        public init(_ tokens: [[String]], cacheable: Bool = true) {
            precondition(tokens.allSatisfy { !$0.isEmpty }, "TaskFeatures.Sentences: every sentence needs at least one token.")
            self.tokens = tokens
            self.cacheable = cacheable
            self.cached = cacheable ? Array(repeating: nil, count: tokens.count) : []
        }

        public var count: Int { tokens.count }
    }

    /// One padded batch: K layers `[B, T, D]` (zero at padding) and what `backward` needs.
    public struct Batch {
        public let layers: [Tensor]
        public let lengths: [Int]
        let bilmCache: BiLanguageModel.LayerOutputsCache?
        let encoderCache: TokenEncoder.Cache?
        var taskEncoderCache: TokenEncoder.Cache?

        /// A batch of given layers (K × `[B, T, D]`, zero at padding), e.g. to run a head on its own; `backward`
        /// cannot be called on it.
        public init(layers: [Tensor], lengths: [Int]) {
            precondition(!layers.isEmpty && layers.allSatisfy { $0.shape.count == 3 && $0.shape == layers[0].shape }
                            && lengths.count == layers[0].shape[0],
                         "TaskFeatures.Batch needs K equal [B, T, D] layers and B lengths, got \(layers.map(\.shape)) and \(lengths.count).")
            self.init(layers: layers, lengths: lengths, bilmCache: nil, encoderCache: nil)
        }

        init(layers: [Tensor], lengths: [Int], bilmCache: BiLanguageModel.LayerOutputsCache?, encoderCache: TokenEncoder.Cache?) {
            self.layers = layers
            self.lengths = lengths
            self.bilmCache = bilmCache
            self.encoderCache = encoderCache
        }

        /// One flag per position, `mask[b·T + t] = t < lengths[b]`.
        public var mask: [Bool] {
            let steps = layers[0].shape[1]
            return lengths.flatMap { n in (0..<steps).map { $0 < n } }
        }
    }

    /// The layers of sentences `indices` of `sentences`. `training` turns on the biLM's dropout in `finetune` mode
    /// and keeps the caches `backward` needs.
    public func batch(_ sentences: Sentences, indices: [Int], training: Bool, rng: inout RandomGenerator) -> Batch {
        var batch = bilmBatch(sentences, indices: indices, training: training, rng: &rng)
        guard let taskEncoder else { return batch }
        let lengths = batch.lengths
        var cache = TokenEncoder.Cache()
        let x = tokenVectors(taskEncoder, indices.map { sentences.tokens[$0] }, cache: &cache)
        batch = Batch(layers: batch.layers.map { Tensor.concatenatingColumns($0, x) }, lengths: lengths,
                      bilmCache: batch.bilmCache, encoderCache: batch.encoderCache)
        batch.taskEncoderCache = training ? cache : nil
        return batch
    }

    /// The biLM's (or scratch encoder's) part of `batch`: K layers `[B, T, 2P]`.
    private func bilmBatch(_ sentences: Sentences, indices: [Int], training: Bool, rng: inout RandomGenerator) -> Batch {
        let batchTokens = indices.map { sentences.tokens[$0] }
        let lengths = batchTokens.map(\.count)
        switch mode {
        case .frozen:
            var perSentence = [Tensor?](repeating: nil, count: indices.count)
            var missing: [Int] = []
            for (k, index) in indices.enumerated() {
                if sentences.cacheable, let cached = sentences.cached[index] { perSentence[k] = cached } else { missing.append(k) }
            }
            if !missing.isEmpty {
                let computed = frozenLayers(missing.map { batchTokens[$0] })
                for (k, tensor) in zip(missing, computed) {
                    perSentence[k] = tensor
                    if sentences.cacheable { sentences.cached[indices[k]] = tensor }
                }
            }
            return Batch(layers: Self.pad(perSentence.map { $0! }, layerCount: mixtureSize, dimension: bilmDimension),
                         lengths: lengths, bilmCache: nil, encoderCache: nil)
        case .finetune:
            let steps = (lengths.max() ?? 0) + 2
            var cache = BiLanguageModel.LayerOutputsCache()
            let full = bilm!.layerOutputsWithCache(characters: characters(batchTokens, steps: steps, boundaries: true),
                                                   batchSize: indices.count, steps: steps, lengths: lengths.map { $0 + 2 },
                                                   training: training, rng: &rng, cache: &cache)
            return Batch(layers: full.map { Self.stripBoundaries($0, lengths: lengths) }, lengths: lengths,
                         bilmCache: training ? cache : nil, encoderCache: nil)
        case .noPretrained:
            var cache = TokenEncoder.Cache()
            let x = tokenVectors(scratchEncoder!, batchTokens, cache: &cache)
            return Batch(layers: [Tensor.concatenatingColumns(x, x)], lengths: lengths, bilmCache: nil,
                         encoderCache: training ? cache : nil)
        }
    }

    /// A token encoder's vectors `[B, T, P]` for a batch of sentences (T = the longest), zero at padding.
    private func tokenVectors(_ encoder: TokenEncoder, _ batchTokens: [[String]], cache: inout TokenEncoder.Cache) -> Tensor {
        let steps = batchTokens.map(\.count).max() ?? 0
        return encoder.forward(characters(batchTokens, steps: steps, boundaries: false), tokenCount: batchTokens.count * steps,
                               cache: &cache)
            .reshaped([batchTokens.count, steps, options.lstm.projectionSize]).zeroingPadding(lengths: batchTokens.map(\.count))
    }

    /// dLayers: K tensors `[B, T, D]` (∂loss/∂`batch.layers`) → accumulates into the task encoder and, when
    /// `intoBiLM`, into the biLM or scratch encoder (nothing of a frozen biLM). The batch must come from
    /// `batch(…, training: true, …)`.
    public func backward(_ dLayers: [Tensor], batch: Batch, intoBiLM: Bool = true) {
        precondition(dLayers.count == batch.layers.count,
                     "TaskFeatures.backward got \(dLayers.count) layer gradients for \(batch.layers.count) layers.")
        var dLayers = dLayers
        if let taskEncoder {
            guard let cache = batch.taskEncoderCache else { preconditionFailure("TaskFeatures.backward needs a batch made with training: true.") }
            // x was appended to every layer, so dx = Σ_k dLayer_k[:, 2P:].
            let p = options.lstm.projectionSize
            var dx = Tensor(zeros: [0])
            for k in dLayers.indices {
                let (dBiLM, dTask) = dLayers[k].splittingColumns(at: bilmDimension)
                dLayers[k] = dBiLM
                if k == 0 { dx = dTask } else { dx.add(dTask) }
            }
            dx = dx.zeroingPadding(lengths: batch.lengths)
            taskEncoder.backward(dx.reshaped([dx.count / p, p]), cache: cache)
        }
        guard intoBiLM else { return }
        switch mode {
        case .frozen:
            return
        case .finetune:
            guard let cache = batch.bilmCache else { preconditionFailure("TaskFeatures.backward needs a batch made with training: true.") }
            bilm!.backwardLayerOutputs(dLayers.map { Self.addBoundaries($0, lengths: batch.lengths) }, cache: cache)
        case .noPretrained:
            guard let cache = batch.encoderCache else { preconditionFailure("TaskFeatures.backward needs a batch made with training: true.") }
            // In the forward pass this was layer 0 = [x; x], so dx = dLayer[:, :P] + dLayer[:, P:].
            let p = options.lstm.projectionSize
            let (da, db) = dLayers[0].zeroingPadding(lengths: batch.lengths).splittingColumns(at: p)
            var dx = da
            dx.add(db)
            scratchEncoder!.backward(dx.reshaped([dx.count / p, p]), cache: cache)
        }
    }

    // MARK: - Layout helpers

    /// `[K, n, D]` per sentence from one frozen biLM pass (each sentence alone in its rows, so cacheable).
    private func frozenLayers(_ batchTokens: [[String]]) -> [Tensor] {
        ContextualEmbedder(model: bilm!, vocabulary: Self.noVocabulary).embed(batchTokens, batchSize: batchTokens.count)
    }

    /// The embedder only needs the model; the vocabulary is for the softmax, which layer outputs do not use.
    private static let noVocabulary = try! Vocabulary(words: [Vocabulary.bos, Vocabulary.eos, Vocabulary.unk])

    /// Character ids `[B * T * W]`, with `<S>`/`</S>` around each sentence when `boundaries`; padding ids are 0.
    private func characters(_ sentences: [[String]], steps: Int, boundaries: Bool) -> [Int32] {
        let w = maxCharacters
        var chars: [Int32] = []
        chars.reserveCapacity(sentences.count * steps * w)
        for sentence in sentences {
            let tokens = boundaries ? [Vocabulary.bos] + sentence + [Vocabulary.eos] : sentence
            for token in tokens { CharacterIds.append(token, maxCharacters: w, to: &chars) }
            chars.append(contentsOf: repeatElement(0, count: (steps - tokens.count) * w))
        }
        return chars
    }

    /// K layers `[B, T, D]` from per-sentence `[K, n_b, D]` tensors, zero beyond each n_b.
    static func pad(_ sentences: [Tensor], layerCount: Int, dimension d: Int) -> [Tensor] {
        let steps = sentences.map { $0.shape[1] }.max() ?? 0
        var layers = (0..<layerCount).map { _ in Tensor(zeros: [sentences.count, steps, d]) }
        for k in 0..<layerCount {
            for (b, sentence) in sentences.enumerated() {
                let n = sentence.shape[1]
                Backends.current.copy(sentence.view(MatrixWindow(offset: k * n * d, rows: n, columns: d)), into: &layers[k],
                                      MatrixWindow(offset: b * steps * d, rows: n, columns: d))
            }
        }
        return layers
    }

    /// `[B, T+2, D]` with `<S>` at step 0 → `[B, T, D]` holding steps 1...n_b of each sentence, zero after.
    static func stripBoundaries(_ x: Tensor, lengths: [Int]) -> Tensor {
        let b = x.shape[0], full = x.shape[1], d = x.shape[2], steps = full - 2
        var out = Tensor(zeros: [b, steps, d])
        for s in 0..<b {
            Backends.current.copy(x.view(MatrixWindow(offset: (s * full + 1) * d, rows: lengths[s], columns: d)), into: &out,
                                  MatrixWindow(offset: s * steps * d, rows: lengths[s], columns: d))
        }
        return out
    }

    /// Adjoint of `stripBoundaries`: `[B, T, D]` → `[B, T+2, D]`, zero at `<S>`, `</S>` and padding.
    static func addBoundaries(_ dx: Tensor, lengths: [Int]) -> Tensor {
        let b = dx.shape[0], steps = dx.shape[1], d = dx.shape[2], full = steps + 2
        var out = Tensor(zeros: [b, full, d])
        for s in 0..<b {
            Backends.current.copy(dx.view(MatrixWindow(offset: s * steps * d, rows: lengths[s], columns: d)), into: &out,
                                  MatrixWindow(offset: (s * full + 1) * d, rows: lengths[s], columns: d))
        }
        return out
    }
}
