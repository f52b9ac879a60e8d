import ElmoText
import Foundation

/// The parts of config validation that go beyond one value's type: upper bounds on sizes (so a typo such as
/// `lstm.dim: 1e9` is refused before anything is allocated, instead of an allocation failure or an hour of
/// swapping), a memory estimate for the whole model, and unknown keys in our own configs (a misspelt
/// `learnin_rate` would otherwise train with the default rate without a word).
extension BiLMOptions {
    /// Largest value each size key accepts (inclusive). Generous: bilm-tf's "original" model (4096 cells, 512
    /// projection, 2048 filters, batch 128) is well inside every bound.
    static let upperBounds: [(key: String, max: Int)] = [
        ("char_cnn.embedding.dim", 1024), ("char_cnn.filters", 64), ("char_cnn.filters.count", 16_384),
        ("char_cnn.n_highway", 16), ("char_cnn.max_characters_per_token", 512),
        ("lstm.dim", 32_768), ("lstm.projection_dim", 16_384), ("lstm.n_layers", 32),
        ("batch_size", 16_384), ("unroll_steps", 10_000), ("n_negative_samples_batch", 1_000_000),
        ("n_tokens_vocab", 10_000_000),
    ]

    static func upperBound(_ key: String) -> Int { upperBounds.first { $0.key == key }!.max }

    /// Checks every size key against its upper bound, naming the key, the value and the range.
    func validateSizes(source: String) throws {
        func tooLarge(_ key: String, _ value: Int) -> BiLMError {
            .invalidConfig(path: source, key: key, reason: "is \(value); it must be \(Self.accepted(key))")
        }
        let sizes: [(String, Int)] = [
            ("char_cnn.embedding.dim", charCNN.embedding.dimension), ("char_cnn.n_highway", charCNN.highwayLayers),
            ("char_cnn.max_characters_per_token", charCNN.maxCharactersPerToken), ("lstm.dim", lstm.cellSize),
            ("lstm.projection_dim", lstm.projectionSize), ("lstm.n_layers", lstm.layerCount), ("batch_size", batchSize),
            ("unroll_steps", unrollSteps), ("n_negative_samples_batch", negativeSamples ?? 0),
            ("n_tokens_vocab", vocabularySize ?? 3),
        ]
        for (key, value) in sizes where value > Self.upperBound(key) { throw tooLarge(key, value) }
        if charCNN.filters.count > Self.upperBound("char_cnn.filters") {
            throw BiLMError.invalidConfig(path: source, key: "char_cnn.filters",
                                      reason: "has \(charCNN.filters.count) filters; it must be \(Self.accepted("char_cnn.filters"))")
        }
        for (k, filter) in charCNN.filters.enumerated() where filter.count == 2 && filter[1] > Self.upperBound("char_cnn.filters.count") {
            throw BiLMError.invalidConfig(path: source, key: "char_cnn.filters[\(k)]",
                                      reason: "has \(filter[1]) filters; it must be \(Self.accepted("char_cnn.filters"))")
        }
    }

    /// Refuses a config whose training step cannot fit in this machine's memory (pre-training configs only: a
    /// model that is only embedded needs far less).
    func validateTrainingMemory(source: String) throws {
        let needed = estimatedTrainingBytes
        let available = ProcessInfo.processInfo.physicalMemory
        if needed > Double(available) {
            throw BiLMError.invalidConfig(
                path: source, key: "lstm.dim",
                reason: String(format: "(%d, with projection_dim %d, n_layers %d, batch_size %d, unroll_steps %d) needs about %.1f GB "
                                + "for one training step, more than this machine's %.1f GB; lower lstm.dim, batch_size or unroll_steps",
                               lstm.cellSize, lstm.projectionSize, lstm.layerCount, batchSize, unrollSteps, needed / 1e9,
                               Double(available) / 1e9))
        }
    }

    /// A lower estimate of one training step's memory without the softmax (whose size depends on the vocabulary):
    /// parameters with their gradient and two optimizer moments, and the activations kept for the backward pass
    /// (LSTM gates, cells, outputs and projections of both directions, char-CNN outputs).
    var estimatedTrainingBytes: Double {
        let d = Double(lstm.cellSize), p = Double(lstm.projectionSize), layers = Double(lstm.layerCount)
        let filters = Double(charCNN.filters.reduce(0) { $0 + ($1.count == 2 ? $1[1] : 0) })
        let lstmParameters = 2 * layers * (4 * d * (p + p) + d * p)
        let cnnParameters = filters * filters * 2 * Double(charCNN.highwayLayers) + filters * p
        let tokens = Double(batchSize) * Double(unrollSteps)
        let activations = tokens * (2 * layers * (7 * d + 2 * p) + filters * Double(charCNN.maxCharactersPerToken))
        return 4 * (4 * (lstmParameters + cnnParameters) + activations)
    }

    // MARK: - Integers given as fractions

    /// Keys that hold integers (a filter list holds integer pairs).
    static let integerKeys = ["char_cnn.embedding.dim", "char_cnn.n_highway", "char_cnn.n_characters",
                              "char_cnn.max_characters_per_token", "char_cnn.filters", "lstm.dim", "lstm.projection_dim",
                              "lstm.n_layers", "batch_size", "unroll_steps", "n_negative_samples_batch", "n_tokens_vocab"]

    /// The first integer key of valid JSON `data` whose value is a fraction (`"dim": 256.5`), which JSONDecoder only
    /// reports as "not valid JSON", with no key.
    static func firstFractionalInteger(in data: Data) -> (key: String, value: String)? {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        func fractional(_ value: Any) -> String? {
            if let number = value as? NSNumber,
               number.doubleValue.rounded() != number.doubleValue || !number.doubleValue.isFinite {
                return "\(number.doubleValue)"
            }
            if let list = value as? [Any] { return list.lazy.compactMap(fractional).first }
            return nil
        }
        for key in integerKeys {
            var object: Any? = root
            for part in key.split(separator: ".") { object = (object as? [String: Any])?[String(part)] }
            if let object, let value = fractional(object) { return (key, value) }
        }
        return nil
    }

    // MARK: - Unknown keys

    /// The keys each object of a config may hold: ours, bilm-tf's, and bilm-tf keys we read past (`bidirectional`,
    /// `n_epochs`, `n_train_tokens`: bilm-tf's training script writes them into every options.json).
    static let knownKeys: [String: [String]] = [
        "": ["char_cnn", "lstm", "dropout", "batch_size", "unroll_steps", "n_negative_samples_batch", "all_clip_norm_val",
             "n_tokens_vocab", "optimizer", "learning_rate", "initial_accumulator_value", "highway_gate_bias",
             "bidirectional", "n_epochs", "n_train_tokens"],
        "char_cnn": ["embedding", "filters", "n_highway", "activation", "n_characters", "max_characters_per_token"],
        "char_cnn.embedding": ["dim"],
        "lstm": ["dim", "projection_dim", "n_layers", "cell_clip", "proj_clip", "use_skip_connections"],
    ]

    /// Refuses the first key of `data` (a JSON object) that no config has, naming the closest known key.
    static func rejectUnknownKeys(_ data: Data, source: String) throws {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }  // decode reports it
        func check(_ object: [String: Any], at prefix: String) throws {
            let known = knownKeys[prefix] ?? []
            for key in object.keys.sorted() {
                let path = prefix.isEmpty ? key : prefix + "." + key
                guard known.contains(key) else {
                    let suggestion = Spelling.closest(key, among: known).map { " (did you mean '\(prefix.isEmpty ? $0 : prefix + "." + $0)'?)" } ?? ""
                    throw BiLMError.invalidConfig(
                        path: source, key: path,
                        reason: "is not a config key\(suggestion); fix it, or pass --allow-unknown-keys to ignore keys ELMoKit does not use "
                            + "(e.g. in a bilm-tf options.json). Known keys here: \(known.joined(separator: ", "))")
                }
                if let child = object[key] as? [String: Any], knownKeys[path] != nil { try check(child, at: path) }
            }
        }
        try check(root, at: "")
    }
}
