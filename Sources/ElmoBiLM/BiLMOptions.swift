import ElmoLayers
import ElmoStorage
import ElmoTensor
import Foundation

/// Model and training options. Swift names in code; on disk (options.json, configs, checkpoints) bilm-tf's
/// `options.json` key names (`CodingKeys`), so a bilm-tf options file loads as is, plus our training keys.
///
/// ```json
/// {"char_cnn": {"embedding": {"dim": 16}, "filters": [[1, 32], [2, 32], [3, 64]], "n_highway": 1,
///               "activation": "relu", "n_characters": 262, "max_characters_per_token": 50},
///  "lstm": {"dim": 256, "projection_dim": 64, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
///  "dropout": 0.1, "batch_size": 32, "unroll_steps": 20, "n_negative_samples_batch": 0, "all_clip_norm_val": 10}
/// ```
public struct BiLMOptions: Codable, Equatable {
    public struct CharCNNOptions: Codable, Equatable {
        public struct EmbeddingOptions: Codable, Equatable {
            /// Character embedding size.
            public var dimension: Int
            enum CodingKeys: String, CodingKey { case dimension = "dim" }
        }
        /// The char-CNN's nonlinearity (the ones bilm-tf offers).
        public enum Activation: String, ClosedSetOption {
            case relu, tanh
        }
        public var embedding: EmbeddingOptions
        /// `[width, count]` pairs.
        public var filters: [[Int]]
        public var highwayLayers: Int
        public var activation: Activation
        /// bilm-tf trains with 261 and serves with 262 (one extra padding row); we always use 262.
        public var characterVocabularySize: Int?
        public var maxCharactersPerToken: Int

        enum CodingKeys: String, CodingKey {
            case embedding, filters, activation
            case highwayLayers = "n_highway"
            case characterVocabularySize = "n_characters"
            case maxCharactersPerToken = "max_characters_per_token"
        }
    }
    public struct LSTMOptions: Codable, Equatable {
        /// Memory cells per layer.
        public var cellSize: Int
        /// Output (and input) size P of every layer.
        public var projectionSize: Int
        /// Layers per direction.
        public var layerCount: Int
        public var cellClip: Float?
        public var projectionClip: Float?
        /// Residual connections from the second layer on; absent means true (bilm-tf's default).
        public var useSkipConnections: Bool?

        enum CodingKeys: String, CodingKey {
            case cellSize = "dim"
            case projectionSize = "projection_dim"
            case layerCount = "n_layers"
            case cellClip = "cell_clip"
            case projectionClip = "proj_clip"
            case useSkipConnections = "use_skip_connections"
        }
    }
    /// The optimizers pre-training offers.
    public enum OptimizerKind: String, ClosedSetOption {
        case adagrad, adam, adamw, sgd
    }

    public var charCNN: CharCNNOptions
    public var lstm: LSTMOptions
    public var dropout: Float
    public var batchSize: Int
    public var unrollSteps: Int
    /// 0 or absent: full softmax; otherwise sampled softmax with this many negatives per batch.
    public var negativeSamples: Int?
    /// Global gradient-norm clip (absent: 10).
    public var gradientClipNorm: Float?
    /// Vocabulary size; filled in from the vocabulary at training time.
    public var vocabularySize: Int?

    // Our training keys (absent in bilm-tf files; defaults are bilm-tf's).
    /// Absent: Adagrad.
    public var optimizer: OptimizerKind?
    public var learningRate: Float?
    public var initialAccumulatorValue: Float?
    /// Initial bias of the highway carry gate g in y = g·x + (1−g)·f(Ax); −2 as the PyTorch reference.
    public var highwayGateBias: Float?

    enum CodingKeys: String, CodingKey {
        case lstm, dropout, optimizer
        case charCNN = "char_cnn"
        case batchSize = "batch_size"
        case unrollSteps = "unroll_steps"
        case negativeSamples = "n_negative_samples_batch"
        case gradientClipNorm = "all_clip_norm_val"
        case vocabularySize = "n_tokens_vocab"
        case learningRate = "learning_rate"
        case initialAccumulatorValue = "initial_accumulator_value"
        case highwayGateBias = "highway_gate_bias"
    }

    /// The char-CNN's activation as the kernels name it.
    public var kernelActivation: Kernels.Activation {
        switch charCNN.activation {
        case .relu: .relu
        case .tanh: .tanh
        }
    }

    public var charCNNConfig: CharCNNConfig {
        CharCNNConfig(filters: charCNN.filters, embeddingDimension: charCNN.embedding.dimension,
                      maxCharacters: charCNN.maxCharactersPerToken, characterVocabularySize: 262,
                      activation: kernelActivation)
    }

    /// Reads and validates one of our config files; errors name the file and the bad key. A key no config has is
    /// an error (with the closest known key) unless `allowUnknownKeys` (for bilm-tf options files with extra keys).
    public static func load(path: String, allowUnknownKeys: Bool = false) throws -> BiLMOptions {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw BiLMError.invalidConfig(path: path, key: "", reason: "is a folder; give a config file such as Pretrain/tiny.json")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw StorageError.fileNotFound(path) }
        let options = try decode(data, source: path)
        if !allowUnknownKeys { try rejectUnknownKeys(data, source: path) }
        try options.validateTrainingMemory(source: path)
        return options
    }

    public static func decode(_ data: Data, source: String) throws -> BiLMOptions {
        func path(_ codingPath: [CodingKey], _ last: CodingKey? = nil) -> String {
            (codingPath + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        let options: BiLMOptions
        do {
            options = try JSONDecoder().decode(BiLMOptions.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            let key = path(context.codingPath, key)
            throw BiLMError.invalidConfig(path: source, key: key, reason: "is missing; it must be \(accepted(key))")
        } catch let DecodingError.valueNotFound(_, context) {
            let key = path(context.codingPath)
            throw BiLMError.invalidConfig(path: source, key: key, reason: "is null; it must be \(accepted(key))")
        } catch let DecodingError.typeMismatch(_, context) {
            let key = path(context.codingPath)
            throw BiLMError.invalidConfig(path: source, key: key, reason: "has the wrong type; it must be \(accepted(key))")
        } catch let DecodingError.dataCorrupted(context) where context.underlyingError is UnknownChoice {
            // A closed set (optimizer, activation) given a value outside it.
            let choice = context.underlyingError as! UnknownChoice
            throw BiLMError.invalidConfig(path: source, key: path(context.codingPath),
                                      reason: "is \"\(choice.value)\"; it must be \(choice.allowedList)")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            // Valid JSON, but a value its key cannot hold, e.g. `"dim": 256.5` for an integer.
            let key = path(context.codingPath)
            throw BiLMError.invalidConfig(path: source, key: key, reason: "has a value it cannot hold (\(context.debugDescription)); it must be \(accepted(key))")
        } catch {
            if let (key, value) = firstFractionalInteger(in: data) {
                throw BiLMError.invalidConfig(path: source, key: key, reason: "is \(value), not an integer; it must be \(accepted(key))")
            }
            throw BiLMError.invalidConfig(path: source, key: "", reason: "is not valid JSON (\(error))")
        }
        try options.validate(source: source)
        return options
    }

    /// What each key accepts, in words, for error messages (the first key that prefixes the given one wins,
    /// so `char_cnn.filters[1][0]` is described by `char_cnn.filters`).
    static func accepted(_ key: String) -> String {
        let ranges: [(String, String)] = [
            ("char_cnn.embedding.dim", "an integer in [1, 1024] (the character embedding size, e.g. 16)"),
            ("char_cnn.embedding", "an object {\"dim\": N} with N >= 1"),
            ("char_cnn.filters", "a list of 1 to 64 [width, count] pairs with 1 <= width <= max_characters_per_token and 1 <= count <= 16384, e.g. [[1, 32], [2, 32], [3, 64]]"),
            ("char_cnn.n_highway", "an integer in [0, 16] (highway layers after the char CNN, e.g. 1 or 2)"),
            ("char_cnn.activation", CharCNNOptions.Activation.allowedList),
            ("char_cnn.n_characters", "261 or 262 (bilm-tf's character vocabulary; 262 is used either way)"),
            ("char_cnn.max_characters_per_token", "an integer in [3, 512] and >= the widest filter (BOW, at least one byte, EOW; bilm-tf uses 50)"),
            ("char_cnn", "an object with embedding, filters, n_highway, activation and max_characters_per_token"),
            ("lstm.dim", "an integer in [1, 32768] (the LSTM cell size, e.g. 4096)"),
            ("lstm.projection_dim", "an integer in [1, 16384] (the LSTM output projection size, e.g. 512)"),
            ("lstm.n_layers", "an integer in [1, 32] (LSTM layers per direction, e.g. 2)"),
            ("lstm.cell_clip", "a finite number > 0, or absent for no clipping (bilm-tf uses 3)"),
            ("lstm.proj_clip", "a finite number > 0, or absent for no clipping (bilm-tf uses 3)"),
            ("lstm.use_skip_connections", "true or false"),
            ("lstm", "an object with dim, projection_dim and n_layers"),
            ("dropout", "a number in [0, 1) (bilm-tf uses 0.1)"),
            ("batch_size", "an integer in [1, 16384] (parallel streams, e.g. 128)"),
            ("unroll_steps", "an integer in [1, 10000] (truncated-BPTT window, e.g. 20)"),
            ("n_negative_samples_batch", "an integer in [0, 1000000] (0: full softmax; otherwise sampled softmax, e.g. 8192)"),
            ("all_clip_norm_val", "a finite number > 0 (global gradient-norm clip, bilm-tf uses 10)"),
            ("n_tokens_vocab", "an integer in [3, 10000000] (filled in from the vocabulary)"),
            ("optimizer", OptimizerKind.allowedList),
            ("learning_rate", "a finite number > 0 (Adagrad's default is 0.2)"),
            ("initial_accumulator_value", "a finite number >= 0 (Adagrad's starting accumulator, default 1.0)"),
            ("highway_gate_bias", "a finite number (default -2)"),
        ]
        return ranges.first { key == $0.0 || key.hasPrefix($0.0 + ".") || key.hasPrefix($0.0 + "[") }?.1 ?? "as in Pretrain/tiny.json"
    }

    /// Checks every value against its accepted range; the error names the key, the value and the range.
    public func validate(source: String) throws {
        func bad(_ key: String, _ value: Any) -> BiLMError {
            .invalidConfig(path: source, key: key, reason: "is \(value); it must be \(Self.accepted(key))")
        }
        let cnn = charCNN
        if cnn.embedding.dimension < 1 { throw bad("char_cnn.embedding.dim", cnn.embedding.dimension) }
        if cnn.maxCharactersPerToken < 3 { throw bad("char_cnn.max_characters_per_token", cnn.maxCharactersPerToken) }
        if cnn.filters.isEmpty { throw bad("char_cnn.filters", "an empty list") }
        for (k, filter) in cnn.filters.enumerated()
        where filter.count != 2 || filter[0] < 1 || filter[0] > cnn.maxCharactersPerToken || filter[1] < 1 {
            let why = filter.count == 2 && filter[0] > cnn.maxCharactersPerToken
                ? "\(filter) (width \(filter[0]) > max_characters_per_token \(cnn.maxCharactersPerToken))" : "\(filter)"
            throw bad("char_cnn.filters[\(k)]", why)
        }
        if cnn.highwayLayers < 0 { throw bad("char_cnn.n_highway", cnn.highwayLayers) }
        if let n = cnn.characterVocabularySize, n != 261 && n != 262 { throw bad("char_cnn.n_characters", n) }
        if lstm.cellSize < 1 { throw bad("lstm.dim", lstm.cellSize) }
        if lstm.projectionSize < 1 { throw bad("lstm.projection_dim", lstm.projectionSize) }
        if lstm.layerCount < 1 { throw bad("lstm.n_layers", lstm.layerCount) }
        if let c = lstm.cellClip, !(c > 0 && c.isFinite) { throw bad("lstm.cell_clip", c) }
        if let c = lstm.projectionClip, !(c > 0 && c.isFinite) { throw bad("lstm.proj_clip", c) }
        if !(dropout >= 0 && dropout < 1) { throw bad("dropout", dropout) }
        if batchSize < 1 { throw bad("batch_size", batchSize) }
        if unrollSteps < 1 { throw bad("unroll_steps", unrollSteps) }
        if let n = negativeSamples, n < 0 { throw bad("n_negative_samples_batch", n) }
        if let c = gradientClipNorm, !(c > 0 && c.isFinite) { throw bad("all_clip_norm_val", c) }
        if let n = vocabularySize, n < 3 { throw bad("n_tokens_vocab", n) }
        if let r = learningRate, !(r > 0) || !r.isFinite { throw bad("learning_rate", r) }
        if let a = initialAccumulatorValue, !(a >= 0) || !a.isFinite { throw bad("initial_accumulator_value", a) }
        if let g = highwayGateBias, !g.isFinite { throw bad("highway_gate_bias", g) }
        try validateSizes(source: source)
    }

    /// The same options with `vocabularySize` (`n_tokens_vocab`) set (the model fills it in from the vocabulary).
    public func withVocabularySize(_ size: Int?) -> BiLMOptions {
        var copy = self
        copy.vocabularySize = size
        return copy
    }

    public var sampledSoftmaxSize: Int { negativeSamples ?? 0 }
    public var clipNorm: Float { gradientClipNorm ?? 10 }
}
