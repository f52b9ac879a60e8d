import ElmoLayers
import ElmoTensor
import Foundation

/// Model and training options, read from JSON with bilm-tf's `options.json` key names (so a bilm-tf options file
/// loads as is) plus our training keys.
///
/// ```json
/// {"char_cnn": {"embedding": {"dim": 16}, "filters": [[1, 32], [2, 32], [3, 64]], "n_highway": 1,
///               "activation": "relu", "n_characters": 262, "max_characters_per_token": 50},
///  "lstm": {"dim": 256, "projection_dim": 64, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
///  "dropout": 0.1, "batch_size": 32, "unroll_steps": 20, "n_negative_samples_batch": 0, "all_clip_norm_val": 10}
/// ```
public struct BiLMOptions: Codable, Equatable {
    public struct CharCNNOptions: Codable, Equatable {
        public struct EmbeddingOptions: Codable, Equatable { public var dim: Int }
        public var embedding: EmbeddingOptions
        public var filters: [[Int]]
        public var n_highway: Int
        public var activation: String
        /// bilm-tf trains with 261 and serves with 262 (one extra padding row); we always use 262.
        public var n_characters: Int?
        public var max_characters_per_token: Int
    }
    public struct LSTMOptions: Codable, Equatable {
        public var dim: Int
        public var projection_dim: Int
        public var n_layers: Int
        public var cell_clip: Float?
        public var proj_clip: Float?
        public var use_skip_connections: Bool?
    }

    public var char_cnn: CharCNNOptions
    public var lstm: LSTMOptions
    public var dropout: Float
    public var batch_size: Int
    public var unroll_steps: Int
    /// 0 or absent: full softmax; otherwise sampled softmax with this many negatives per batch.
    public var n_negative_samples_batch: Int?
    public var all_clip_norm_val: Float?
    /// Vocabulary size; filled in from the vocabulary at training time.
    public var n_tokens_vocab: Int?

    // Our training keys (absent in bilm-tf files; defaults are bilm-tf's).
    public var optimizer: String?
    public var learning_rate: Float?
    public var initial_accumulator_value: Float?
    /// Initial bias of the highway carry gate g in y = g·x + (1−g)·f(Ax); −2 as the PyTorch reference.
    public var highway_gate_bias: Float?

    public var activation: Kernels.Activation {
        Kernels.Activation(rawValue: char_cnn.activation) ?? .relu
    }

    public var charCNNConfig: CharCNNConfig {
        CharCNNConfig(filters: char_cnn.filters, embeddingDimension: char_cnn.embedding.dim,
                      maxCharacters: char_cnn.max_characters_per_token, characterVocabularySize: 262,
                      activation: activation)
    }

    /// Reads and validates an options file; errors name the file and the bad key.
    public static func load(path: String) throws -> BiLMOptions {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError.fileNotFound(path) }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> BiLMOptions {
        let options: BiLMOptions
        do {
            options = try JSONDecoder().decode(BiLMOptions.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigError.invalid(path: source, key: (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."),
                                      reason: "is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ConfigError.invalid(path: source, key: context.codingPath.map(\.stringValue).joined(separator: "."),
                                      reason: "has the wrong type (\(context.debugDescription))")
        } catch {
            throw ConfigError.invalid(path: source, key: "", reason: "is not valid JSON (\(error))")
        }
        try options.validate(source: source)
        return options
    }

    public func validate(source: String) throws {
        func bad(_ key: String, _ reason: String) -> ConfigError { .invalid(path: source, key: key, reason: reason) }
        if char_cnn.filters.isEmpty || char_cnn.filters.contains(where: { $0.count != 2 || $0[0] < 1 || $0[1] < 1 }) {
            throw bad("char_cnn.filters", "must be a non-empty list of [width, count] pairs with positive numbers")
        }
        if let w = char_cnn.filters.map({ $0[0] }).max(), w > char_cnn.max_characters_per_token {
            throw bad("char_cnn.filters", "has width \(w), wider than max_characters_per_token \(char_cnn.max_characters_per_token)")
        }
        if char_cnn.max_characters_per_token < 3 { throw bad("char_cnn.max_characters_per_token", "must be at least 3 (BOW, a byte, EOW)") }
        if Kernels.Activation(rawValue: char_cnn.activation) == nil || ![.relu, .tanh].contains(activation) {
            throw bad("char_cnn.activation", "must be \"relu\" or \"tanh\", not \"\(char_cnn.activation)\"")
        }
        if lstm.n_layers < 1 { throw bad("lstm.n_layers", "must be at least 1") }
        if lstm.dim < 1 || lstm.projection_dim < 1 { throw bad("lstm.dim", "dim and projection_dim must be positive") }
        if !(0..<1).contains(dropout) { throw bad("dropout", "must be in [0, 1), not \(dropout)") }
        if batch_size < 1 || unroll_steps < 1 { throw bad("batch_size", "batch_size and unroll_steps must be positive") }
        if let o = optimizer, !["adagrad", "adam", "adamw", "sgd"].contains(o) {
            throw bad("optimizer", "must be adagrad, adam, adamw or sgd, not \"\(o)\"")
        }
    }

    public var sampledSoftmaxSize: Int { n_negative_samples_batch ?? 0 }
    public var clipNorm: Float { all_clip_norm_val ?? 10 }
}

/// A bad configuration file or value.
public enum ConfigError: Error, CustomStringConvertible {
    case fileNotFound(String)
    case invalid(path: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "Config file \(p) does not exist. Pass one of Pretrain/*.json or your own options.json."
        case let .invalid(path, key, reason): return "Config \(path): \(key.isEmpty ? "the file" : "key '\(key)'") \(reason)."
        }
    }
}
