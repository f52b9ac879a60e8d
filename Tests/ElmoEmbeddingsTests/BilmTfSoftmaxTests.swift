import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// `import-weights --softmax-weights` (issue 16): bilm-tf's `softmax/W`, `softmax/b` read back into a model that
/// can then score, against a softmax file this test writes with the HDF5 writer.
final class BilmTfSoftmaxTests: XCTestCase {
    private func makeTemporaryFolder(_ test: XCTestCase) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("softmax-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    func testSoftmaxRoundTripGivesTheSameModelAndScores() throws {
        let folder = try makeTemporaryFolder(self)
        let (model, vocabulary) = try tinyModel()
        try BilmTfWeights.export(model: model, vocabulary: vocabulary, to: folder)
        let softmaxFile = (folder as NSString).appendingPathComponent("softmax_weights.hdf5")
        try BilmTfSoftmax.write(model, to: softmaxFile)
        let reader = try HDF5Reader(path: softmaxFile)
        XCTAssertEqual(try reader.shape("softmax/W"), [vocabulary.count, model.projectionSize], "bilm-tf's [V, P] layout")
        XCTAssertEqual(try reader.shape("softmax/b"), [vocabulary.count])
        reader.close()

        let options = try BilmTfWeights.readOptions(path: (folder as NSString).appendingPathComponent("options.json"))
        let imported = try BilmTfWeights.importModel(options: options, weightsPath: (folder as NSString).appendingPathComponent("weights.hdf5"),
                                                     vocabularySize: vocabulary.count)
        XCTAssertNil(imported.softmax)
        let scored = try BilmTfSoftmax.attach(to: imported, softmaxPath: softmaxFile, vocabularySize: vocabulary.count)
        let softmax = try XCTUnwrap(scored.softmax)
        XCTAssertEqual(softmax.weight.value, model.softmax!.weight.value)
        XCTAssertEqual(softmax.bias.value, model.softmax!.bias.value)
        let sentences = [["the", "cat", "sat"], ["고양이", "sat"], ["unknown", "words", "here", "the"]]
        let before = SentenceScorer(model: model, vocabulary: vocabulary).score(sentences)
        let after = SentenceScorer(model: scored, vocabulary: vocabulary).score(sentences)
        for (a, b) in zip(before, after) {
            XCTAssertEqual(a.forwardLogProbability, b.forwardLogProbability, accuracy: 1e-5 * abs(a.forwardLogProbability))
            XCTAssertEqual(a.backwardLogProbability, b.backwardLogProbability, accuracy: 1e-5 * abs(a.backwardLogProbability))
        }
    }

    func testSoftmaxOfAnotherVocabularyIsRefusedWithBothShapes() throws {
        let folder = try makeTemporaryFolder(self)
        let (model, vocabulary) = try tinyModel()
        let softmaxFile = (folder as NSString).appendingPathComponent("softmax_weights.hdf5")
        try BilmTfSoftmax.write(model, to: softmaxFile)
        let bare = BiLanguageModel(options: model.options, vocabularySize: vocabulary.count + 2, seed: 1, withSoftmax: false)
        XCTAssertThrowsError(try BilmTfSoftmax.attach(to: bare, softmaxPath: softmaxFile, vocabularySize: vocabulary.count + 2)) { error in
            XCTAssertEqual(error as? EmbedError,
                           .weightFileMismatch(path: softmaxFile, dataset: "softmax/W", expected: [9, 5], found: [7, 5],
                                          keys: "the vocabulary's 9 words (--vocab) and lstm.projection_dim 5"))
        }
        let weightsOnly = (folder as NSString).appendingPathComponent("no_softmax.hdf5")
        let writer = try HDF5Writer(path: weightsOnly)
        try writer.writeDataset("char_embed", shape: [1], values: [0])
        try writer.close()
        XCTAssertThrowsError(try BilmTfSoftmax.attach(to: bare, softmaxPath: weightsOnly, vocabularySize: 9)) { error in
            XCTAssertTrue("\(error)".contains("no dataset 'softmax/W'"), "\(error)")
        }
    }
}
