import ElmoBiLM
import ElmoTensor
import Foundation

/// The softmax of a bilm-tf model: the `*_softmax_weights.hdf5` files published next to the original models hold
/// `softmax/W` `[V, P]` and `softmax/b` `[V]`, rows in the order of the model's `vocab.txt` (bilm-tf's layout is ours,
/// so rows copy unchanged). With it an imported model can be scored, generate text and be adapted with its own softmax.
public enum BilmTfSoftmax {
    public static let weightDataset = "softmax/W", biasDataset = "softmax/b"

    /// A copy of `model` (imported, without softmax) with the softmax of `path`; V must be the vocabulary's size and
    /// P the model's projection, else the dataset is refused with both shapes.
    public static func attach(to model: BiLanguageModel, softmaxPath path: String, vocabularySize v: Int) throws -> BiLanguageModel {
        let reader = try HDF5Reader(path: path)
        defer { reader.close() }
        let p = model.projectionSize
        let keys = "the vocabulary's \(v) words (--vocab) and lstm.projection_dim \(p)"
        for (name, expected) in [(weightDataset, [v, p]), (biasDataset, [v])] {
            guard reader.contains(name) else {
                throw EmbedError.weightFileMismatch(path: path, dataset: name, expected: expected, found: nil, keys: keys)
            }
            let found = try reader.shape(name)
            guard found == expected else {
                throw EmbedError.weightFileMismatch(path: path, dataset: name, expected: expected, found: found, keys: keys)
            }
        }
        let scored = BiLanguageModel(options: model.options, vocabularySize: v, seed: 0)
        for (target, source) in zip(scored.parameters, model.parameters) {
            precondition(target.name == source.name, "BilmTfSoftmax: parameter \(target.name) does not match \(source.name).")
            target.value = source.value
        }
        scored.softmax!.weight.value = Tensor(shape: [v, p], scalars: try reader.floats(weightDataset))
        scored.softmax!.bias.value = Tensor(shape: [v], scalars: try reader.floats(biasDataset))
        return scored
    }

    /// Writes `model`'s softmax in bilm-tf's layout (what `attach` reads).
    public static func write(_ model: BiLanguageModel, to path: String) throws {
        guard let softmax = model.softmax else { preconditionFailure("BilmTfSoftmax.write needs a model with a softmax.") }
        let writer = try HDF5Writer(path: path)
        try writer.writeDataset(weightDataset, shape: softmax.weight.shape, values: softmax.weight.value.scalars)
        try writer.writeDataset(biasDataset, shape: softmax.bias.shape, values: softmax.bias.value.scalars)
        try writer.close()
    }
}
