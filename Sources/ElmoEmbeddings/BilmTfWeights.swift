import ElmoBiLM
import ElmoLayers
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation

/// Reads and writes the weight files of published ELMo models: bilm-tf's `options.json` + `weights.hdf5` (written by
/// its `dump_weights`, loaded by AllenNLP's `Elmo`), so that ELMoKit gives the vectors AllenNLP gives for them and
/// AllenNLP users can load ELMoKit's models.
///
/// The file's datasets (F = Σ filter counts, D = char embedding size, P = projection, C = LSTM cell, I = P):
///
/// | dataset | shape | ELMoKit |
/// |---|---|---|
/// | `char_embed` | `[261, D]` | char embedding rows 1…261 (row 0, the mask, is zero; id c uses file row c − 1) |
/// | `CNN/W_cnn_k`, `CNN/b_cnn_k` | `[1, w, D, n]`, `[n]` | `char_cnn/conv_k` (same element order) |
/// | `CNN_high_k/W_transform`, `b_transform` | `[F, F]`, `[F]` | highway layer k, columns `[0, F)` |
/// | `CNN_high_k/W_carry`, `b_carry` | `[F, F]`, `[F]` | highway layer k, columns `[F, 2F)`, **negated** |
/// | `CNN_proj/W_proj`, `b_proj` | `[F, P]`, `[P]` | `projection` |
/// | `RNN_d/RNN/MultiRNNCell/Cellk/LSTMCell/W_0` | `[I + P, 4C]` | rows `[0, I)` input weight, `[I, I + P)` recurrent weight |
/// | `…/B`, `…/W_P_0` | `[4C]`, `[C, P]` | bias, projection weight |
///
/// `RNN_0` is the forward direction, `RNN_1` the backward one. Both sides use TF's gate order (i, j, f, o), the
/// `[in, out]` weight layout and a forget bias of 1 added at run time, so LSTM weights copy unchanged. The highway
/// gate is the exception: bilm-tf's carry gate multiplies the transform (`g·f(W x) + (1 − g)·x`), ours (AllenNLP's)
/// multiplies x, so the gate weights and bias change sign both ways (AllenNLP's `_load_highway` does the same).
/// The files carry no softmax, so an imported model has none (`BiLanguageModel.softmax == nil`).
public enum BilmTfWeights {
    /// The char embedding rows in the file: our 262 without the mask row 0.
    public static let fileCharacterRows = CharacterIds.vocabularySize - 1

    /// Reads a bilm-tf `options.json`: `char_cnn` and `lstm` are required (a missing key or bad value is refused,
    /// naming the key); unknown keys are ignored; the training keys that published files lack get bilm-tf's training
    /// defaults (dropout 0.1, batch_size 128, unroll_steps 20), which only matter if the model is trained further.
    public static func readOptions(path: String) throws -> BiLMOptions {
        guard let data = FileManager.default.contents(atPath: path) else { throw StorageError.fileNotFound(path) }
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw BiLMError.invalidConfig(path: path, key: "", reason: "is not a JSON object")
        }
        let defaults: [(String, Any)] = [("dropout", 0.1), ("batch_size", 128), ("unroll_steps", 20)]
        for (key, value) in defaults where object[key] == nil || object[key] is NSNull { object[key] = value }
        return try BiLMOptions.decode(try JSONSerialization.data(withJSONObject: object), source: path)
    }

    /// A model (without softmax) holding the weights of `weightsPath`, shaped by `options`. Every dataset the options
    /// imply must be present with exactly the implied shape; other datasets (e.g. a softmax) are ignored. bilm-tf
    /// omits `CNN_proj` when F == P (no projection); the projection is then the identity.
    public static func importModel(options: BiLMOptions, weightsPath: String, vocabularySize: Int) throws -> BiLanguageModel {
        let model = BiLanguageModel(options: options, vocabularySize: vocabularySize, seed: 0, withSoftmax: false)
        let reader = try HDF5Reader(path: weightsPath)
        defer { reader.close() }
        let projection = model.encoder.projection
        let identityProjection = projection.inputSize == projection.outputSize && !reader.contains("CNN_proj/W_proj")
        for layout in layouts(of: model) where !(identityProjection && layout.name.hasPrefix("CNN_proj/")) {
            let found: [Int]
            do {
                found = try reader.shape(layout.name)
            } catch EmbedError.missingDataset {
                throw EmbedError.weightFileMismatch(path: weightsPath, dataset: layout.name, expected: layout.shape, found: nil, keys: layout.keys)
            }
            guard found == layout.shape else {
                throw EmbedError.weightFileMismatch(path: weightsPath, dataset: layout.name, expected: layout.shape, found: found,
                                                    keys: layout.keys)
            }
            layout.scatter(try reader.floats(layout.name))
        }
        let embedding = model.encoder.charCNN.characterEmbedding.weight
        for d in 0..<embedding.shape[1] { embedding.value[flat: d] = 0 }
        if identityProjection {
            let n = projection.inputSize
            projection.weight.value = Tensor(shape: [n, n], scalars: (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 })
            projection.bias?.value = Tensor(zeros: [n])
        }
        return model
    }

    /// Writes `options.json`, `weights.hdf5` and (given a vocabulary) `vocab.txt` into `directory`, creating it. The
    /// options file has every key AllenNLP reads (clips written as `null` when off) and `n_characters` 262, as bilm-tf
    /// wants at inference. Each file is written under a temporary name and renamed, so none is ever partial; existing
    /// files are refused unless `overwrite`.
    public static func export(model: BiLanguageModel, vocabulary: Vocabulary?, to directory: String, overwrite: Bool = false) throws {
        let names = ["options.json", "weights.hdf5"] + (vocabulary == nil ? [] : ["vocab.txt"])
        let paths = names.map { (directory as NSString).appendingPathComponent($0) }
        if !overwrite, let existing = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw EmbedError.outputExists(existing)
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError.writeFailed(path: directory, reason: error.localizedDescription)
        }
        let suffix = ".partial-\(getpid())"
        let weightsPath = paths[1]
        do {
            let writer = try HDF5Writer(path: weightsPath + suffix)
            for layout in layouts(of: model) { try writer.writeDataset(layout.name, shape: layout.shape, values: layout.gather()) }
            try writer.close()
            try write(optionsJSON(model.options), to: paths[0] + suffix)
            try vocabulary?.write(to: paths[2] + suffix)
            for path in paths where rename(path + suffix, path) != 0 {
                throw StorageError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            for path in paths { try? FileManager.default.removeItem(atPath: path + suffix) }
            throw error
        }
    }

    /// Reasons AllenNLP's `Elmo` (not bilm-tf) cannot load an exported model, for a warning; empty when it can.
    public static func allenNLPLimitations(_ options: BiLMOptions) -> [String] {
        var reasons: [String] = []
        if !(options.lstm.useSkipConnections ?? true) {
            reasons.append("lstm.use_skip_connections is false (AllenNLP loads only biLMs with skip connections)")
        }
        if options.charCNN.maxCharactersPerToken != 50 {
            reasons.append("char_cnn.max_characters_per_token is \(options.charCNN.maxCharactersPerToken) (AllenNLP's character mapper always uses 50)")
        }
        return reasons
    }

    // MARK: - Layout

    /// Where one dataset of the file lives in the model. The dataset, viewed as a matrix (rows = the product of all
    /// but its last dimension, columns = the last), is the vertical concatenation of `blocks`; each block is a row
    /// range × column range of one parameter's matrix view (a vector is one row), times `sign`.
    struct DatasetLayout {
        struct Block {
            var parameter: Parameter
            var rows: Range<Int>
            var columns: Range<Int>
            var sign: Float = 1
        }

        var name: String
        var shape: [Int]
        var blocks: [Block]
        /// The option keys that determine `shape`, for error messages.
        var keys: String

        /// Copies the dataset's values (row-major, `shape`) into the blocks.
        func scatter(_ values: [Float]) {
            let width = shape.last!
            var row = 0
            for block in blocks {
                let stride = Self.columns(of: block.parameter)
                block.parameter.value.withMutablePointer { p in
                    values.withUnsafeBufferPointer { v in
                        for r in block.rows {
                            let source = v.baseAddress! + row * width, target = p + r * stride + block.columns.lowerBound
                            if block.sign == 1 {
                                target.update(from: source, count: width)
                            } else {
                                for c in 0..<width { target[c] = block.sign * source[c] }
                            }
                            row += 1
                        }
                    }
                }
            }
        }

        /// The dataset's values (row-major, `shape`) read from the blocks.
        func gather() -> [Float] {
            var values: [Float] = []
            values.reserveCapacity(shape.reduce(1, *))
            for block in blocks {
                let stride = Self.columns(of: block.parameter)
                block.parameter.value.withPointer { p in
                    for r in block.rows {
                        let source = UnsafeBufferPointer(start: p + r * stride + block.columns.lowerBound, count: block.columns.count)
                        if block.sign == 1 { values.append(contentsOf: source) } else { values.append(contentsOf: source.map { block.sign * $0 }) }
                    }
                }
            }
            return values
        }

        private static func columns(of parameter: Parameter) -> Int { parameter.shape.count == 1 ? parameter.shape[0] : parameter.shape.dropFirst().reduce(1, *) }
    }

    /// Every dataset of the bilm-tf file for `model`, in the order `dump_weights` writes them.
    static func layouts(of model: BiLanguageModel) -> [DatasetLayout] {
        typealias Block = DatasetLayout.Block
        func whole(_ p: Parameter) -> Block {
            Block(parameter: p, rows: 0..<(p.shape.count == 1 ? 1 : p.shape[0]), columns: 0..<p.shape.last!)
        }
        let cnn = model.encoder.charCNN
        let f = cnn.outputSize, d = cnn.config.embeddingDimension, p = model.projectionSize
        var layouts: [DatasetLayout] = [
            DatasetLayout(name: "char_embed", shape: [fileCharacterRows, d],
                          blocks: [Block(parameter: cnn.characterEmbedding.weight, rows: 1..<(fileCharacterRows + 1), columns: 0..<d)],
                          keys: "char_cnn.embedding.dim"),
        ]
        for (k, filter) in cnn.config.filters.enumerated() {
            layouts.append(DatasetLayout(name: "CNN/W_cnn_\(k)", shape: [1, filter[0], d, filter[1]], blocks: [whole(cnn.convolutions[k])],
                                         keys: "char_cnn.filters[\(k)], char_cnn.embedding.dim"))
            layouts.append(DatasetLayout(name: "CNN/b_cnn_\(k)", shape: [filter[1]], blocks: [whole(cnn.convolutionBiases[k])],
                                         keys: "char_cnn.filters[\(k)]"))
        }
        for (k, layer) in model.encoder.highway.layers.enumerated() {
            let keys = "char_cnn.n_highway, char_cnn.filters (sum of counts \(f))"
            for (part, columns, sign) in [("transform", 0..<f, Float(1)), ("carry", f..<(2 * f), Float(-1))] {
                layouts.append(DatasetLayout(name: "CNN_high_\(k)/W_\(part)", shape: [f, f],
                                             blocks: [Block(parameter: layer.weight, rows: 0..<f, columns: columns, sign: sign)], keys: keys))
                layouts.append(DatasetLayout(name: "CNN_high_\(k)/b_\(part)", shape: [f],
                                             blocks: [Block(parameter: layer.bias!, rows: 0..<1, columns: columns, sign: sign)], keys: keys))
            }
        }
        let projection = model.encoder.projection
        layouts.append(DatasetLayout(name: "CNN_proj/W_proj", shape: [f, p], blocks: [whole(projection.weight)],
                                     keys: "char_cnn.filters (sum of counts \(f)), lstm.projection_dim"))
        layouts.append(DatasetLayout(name: "CNN_proj/b_proj", shape: [p], blocks: [whole(projection.bias!)], keys: "lstm.projection_dim"))
        for (direction, stack) in [model.forwardStack, model.backwardStack].enumerated() {
            for (k, lstm) in stack.layers.enumerated() {
                let prefix = "RNN_\(direction)/RNN/MultiRNNCell/Cell\(k)/LSTMCell/"
                let c = lstm.cellSize
                layouts.append(DatasetLayout(name: prefix + "W_0", shape: [lstm.inputSize + lstm.projectionSize, 4 * c],
                                             blocks: [whole(lstm.inputWeight), whole(lstm.recurrentWeight)],
                                             keys: "lstm.n_layers, lstm.projection_dim, lstm.dim"))
                layouts.append(DatasetLayout(name: prefix + "B", shape: [4 * c], blocks: [whole(lstm.bias)], keys: "lstm.dim"))
                layouts.append(DatasetLayout(name: prefix + "W_P_0", shape: [c, lstm.projectionSize], blocks: [whole(lstm.projectionWeight)],
                                             keys: "lstm.dim, lstm.projection_dim"))
            }
        }
        return layouts
    }

    /// bilm-tf's options for `options`: every key AllenNLP reads present (clips `null` when off, skip connections
    /// explicit), `n_characters` 262; our training keys are kept (both readers ignore unknown keys).
    static func optionsJSON(_ options: BiLMOptions) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(options)) as! [String: Any]
        var cnn = object["char_cnn"] as! [String: Any]
        cnn["n_characters"] = CharacterIds.vocabularySize
        object["char_cnn"] = cnn
        var lstm = object["lstm"] as! [String: Any]
        lstm["cell_clip"] = options.lstm.cellClip.map { $0 as Any } ?? NSNull()
        lstm["proj_clip"] = options.lstm.projectionClip.map { $0 as Any } ?? NSNull()
        lstm["use_skip_connections"] = options.lstm.useSkipConnections ?? true
        object["lstm"] = lstm
        object["bidirectional"] = true
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    private static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw StorageError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
