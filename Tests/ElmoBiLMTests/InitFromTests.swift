import ElmoBiLM
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// `pretrain --init-from` (issue 16): a new run at step 0 from another run's weights, training keys free to change,
/// architecture changes refused, the source never modified, and the run's origin recorded.
final class InitFromTests: XCTestCase {
    /// A finished 7-step tiny run on the two shards; returns (folder, run folder, shard paths).
    private func sourceRun() throws -> (String, String, [String]) {
        let folder = try makeTemporaryFolder(self, "init-from")
        let shards = [try writeTextFile(folder, "a.txt", tinyShardA), try writeTextFile(folder, "b.txt", tinyShardB)]
        let run = (folder as NSString).appendingPathComponent("general")
        try Pretrainer(settings: tinySettings(try tinyPretrainOptions(), train: shards, output: run, steps: 7)).train()
        return (folder, run, shards)
    }

    func testStepZeroWeightsEqualTheSourceAndTheSourceIsNeverModified() throws {
        let (folder, run, shards) = try sourceRun()
        let sourceFile = try BiLMCheckpoint.resolve(run)
        let crc = try FileChecksum.crc32(path: sourceFile)
        let before = try FileManager.default.contentsOfDirectory(atPath: run).sorted()
        let source = try BiLMCheckpoint.load(run)

        // Training keys may change (learning rate, optimizer, dropout, batch); the vocabulary is kept.
        var settings = tinySettings(try tinyPretrainOptions(dropout: 0.2, optimizer: "adam"), train: shards,
                                    output: (folder as NSString).appendingPathComponent("adapted"), steps: 3)
        settings.initFrom = run
        settings.vocabularyMode = .keep
        let adapted = try Pretrainer(settings: settings)
        assertBitwiseEqualParameters(adapted.model, source.model, "step-0 weights of the new run vs the source")
        XCTAssertEqual(adapted.vocabulary, source.vocabulary)
        XCTAssertEqual(adapted.trainer.step, 0)
        XCTAssertEqual(adapted.model.options.dropout, 0.2, "the config's training keys are used")
        XCTAssertEqual(adapted.model.options.optimizer, .adam)
        XCTAssertTrue(adapted.initNotes.contains { $0.contains("vocabulary: keep") }, "\(adapted.initNotes)")
        try adapted.train()

        let result = try BiLMCheckpoint.load(settings.outputFolder)
        XCTAssertEqual(result.trainer.step, 3, "counted from 0, not from the source's 7")
        XCTAssertEqual(result.trainer.optimizer, "adam")
        XCTAssertEqual(result.trainer.initFrom, URL(fileURLWithPath: sourceFile).standardizedFileURL.path)
        XCTAssertEqual(result.trainer.initFromCRC32, crc)
        XCTAssertFalse(result.model.parameters.map(\.value.scalars) == source.model.parameters.map(\.value.scalars), "it trained")
        XCTAssertEqual(try FileChecksum.crc32(path: sourceFile), crc, "source checkpoint unchanged")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run).sorted(), before, "source run folder unchanged")
    }

    func testArchitectureChangeIsRefusedNamingTheKeyAndBothValues() throws {
        let (folder, run, shards) = try sourceRun()
        var options = try tinyPretrainOptions()
        options.lstm.cellSize = 16
        var settings = tinySettings(options, train: shards, output: (folder as NSString).appendingPathComponent("adapted"), steps: 1)
        settings.initFrom = run
        XCTAssertThrowsError(try Pretrainer(settings: settings)) { error in
            guard case let .architectureChanged(key, source, config, _)? = error as? BiLMError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([key, source, config], ["lstm.dim", "12", "16"])
            XCTAssertTrue("\(error)".contains("'lstm.dim' is 12") && "\(error)".contains("but 16 in --config"), "\(error)")
        }
        options = try tinyPretrainOptions()
        options.charCNN.filters = [[1, 4], [3, 4]]
        settings.options = options
        XCTAssertThrowsError(try Pretrainer(settings: settings)) { error in
            XCTAssertEqual((error as? BiLMError).map { "\($0)".contains("char_cnn.filters") }, true, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: (settings.outputFolder as NSString).appendingPathComponent("latest")))
    }

    /// An imported model has no softmax: the adapted one gets a fresh softmax from the char-CNN encodings, and says so.
    func testImportedModelGetsASoftmaxFromCharCNNEncodings() throws {
        let folder = try makeTemporaryFolder(self, "init-from")
        let shards = [try writeTextFile(folder, "a.txt", tinyShardA)]
        let imported = (folder as NSString).appendingPathComponent("imported.npz")
        let model = BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 3, seed: 5, withSoftmax: false)
        var trainer = TrainerState()
        trainer.importedFrom = "weights.hdf5"
        try BiLMCheckpoint.save(model: model, vocabulary: try Vocabulary(words: ["<S>", "</S>", "<UNK>"]), trainer: trainer,
                                optimizer: nil, states: nil, to: imported)
        var settings = tinySettings(try tinyPretrainOptions(), train: shards, output: (folder as NSString).appendingPathComponent("adapted"), steps: 1)
        settings.initFrom = imported
        let adapted = try Pretrainer(settings: settings)
        XCTAssertTrue(adapted.initNotes.contains { $0.contains("no softmax") && $0.contains("char-CNN encodings") }, "\(adapted.initNotes)")
        XCTAssertTrue(adapted.initNotes.contains { $0.contains("vocabulary: extend: added") }, "default extend: \(adapted.initNotes)")
        let vocabulary = adapted.vocabulary
        XCTAssertGreaterThan(vocabulary.count, 3)
        let softmax = try XCTUnwrap(adapted.model.softmax)
        let p = adapted.model.projectionSize
        for word in ["the", "고양이"] {
            let id = Int(vocabulary.id(of: word))
            var cache = TokenEncoder.Cache()
            let encoding = adapted.model.encoder.forward(CharacterIds.ids(for: word, maxCharacters: 10), tokenCount: 1, cache: &cache)
            for (row, value) in zip(softmax.weight.value.scalars[(id * p)..<((id + 1) * p)], encoding.scalars) {
                XCTAssertEqual(row, value, accuracy: 1e-5, "\(word): the row is its encoding (batched vs alone: rounding only)")
            }
        }
        XCTAssertTrue(softmax.bias.value.scalars.allSatisfy { $0 == 0 })
    }
}

/// `--vocab-mode keep|extend|replace`: which rows are copied, which are new, and how new ones start.
final class VocabularyAdaptationTests: XCTestCase {
    private let old = try! Vocabulary(words: ["<S>", "</S>", "<UNK>", "the", "cat"])

    private func text(_ body: String) throws -> [String] {
        [try writeTextFile(try makeTemporaryFolder(self, "vocab-mode"), "domain.txt", body)]
    }

    func testKeepExtendAndReplaceRowMapping() throws {
        let files = try text("the dog dog bird\ncat dog\n")   // dog 3, bird 1 are new; the, cat are known
        let keep = try VocabularyAdaptation.plan(old: old, textFiles: files, mode: .keep, maxSize: nil, vocabularyFile: nil)
        XCTAssertEqual(keep.vocabulary, old)
        XCTAssertEqual(keep.sourceRows, [0, 1, 2, 3, 4])
        XCTAssertEqual(keep.unknownTokens, 4, "dog ×3 and bird are <UNK> targets")
        XCTAssertEqual(keep.textTokens, 6)

        let extend = try VocabularyAdaptation.plan(old: old, textFiles: files, mode: .extend, maxSize: nil, vocabularyFile: nil)
        XCTAssertEqual(extend.vocabulary.words, old.words + ["dog", "bird"], "new words appended by count")
        XCTAssertEqual(extend.sourceRows, [0, 1, 2, 3, 4, nil, nil])
        XCTAssertEqual(extend.unknownTokens, 0)
        XCTAssertTrue(extend.summary(oldCount: 5).contains("added 2 words"), extend.summary(oldCount: 5))
        let capped = try VocabularyAdaptation.plan(old: old, textFiles: files, mode: .extend, maxSize: 6, vocabularyFile: nil)
        XCTAssertEqual(capped.vocabulary.words, old.words + ["dog"], "--max-vocab caps the whole vocabulary")

        let replace = try VocabularyAdaptation.plan(old: old, textFiles: files, mode: .replace, maxSize: nil, vocabularyFile: nil)
        XCTAssertEqual(replace.vocabulary.words, ["<S>", "</S>", "<UNK>", "dog", "the", "bird", "cat"])
        XCTAssertEqual(replace.sourceRows, [0, 1, 2, nil, 3, nil, 4])

        let auto = try VocabularyAdaptation.plan(old: old, textFiles: files, mode: nil, maxSize: nil, vocabularyFile: nil)
        XCTAssertEqual(auto.mode, .extend, "default with new words")
        let known = try VocabularyAdaptation.plan(old: old, textFiles: try text("the cat\n"), mode: nil, maxSize: nil, vocabularyFile: nil)
        XCTAssertEqual(known.mode, .keep, "default without new words")
    }

    func testCopiedRowsAndNewRowsFromTheMeanOrTheCharCNN() throws {
        let options = try tinyPretrainOptions()
        // Enough old words for the 6 unknowns of the affine map (P = 5 plus the bias), in softmax rows that are an
        // exact affine function of their encodings: the char-CNN map must then recover that function for new words.
        let oldWords = ["<S>", "</S>", "<UNK>"] + (0..<40).map { "w\($0)x" }
        let oldVocabulary = try Vocabulary(words: oldWords)
        let model = BiLanguageModel(options: options, vocabularySize: oldVocabulary.count, seed: 11)
        let p = model.projectionSize
        var rng = RandomGenerator(seed: 3)
        let map = Tensor.uniform([p + 1, p + 1], limit: 1, rng: &rng).scalars
        func affine(_ encoding: [Float]) -> [Float] {
            (0..<(p + 1)).map { c in map[p * (p + 1) + c] + (0..<p).reduce(Float(0)) { $0 + encoding[$1] * map[$1 * (p + 1) + c] } }
        }
        let softmax = try XCTUnwrap(model.softmax)
        for (id, word) in oldWords.enumerated() {
            var cache = TokenEncoder.Cache()
            let row = affine(model.encoder.forward(CharacterIds.ids(for: word, maxCharacters: 10), tokenCount: 1, cache: &cache).scalars)
            for j in 0..<p { softmax.weight.value[flat: id * p + j] = row[j] }
            softmax.bias.value[flat: id] = row[p]
        }
        let files = try text("w3x newword w7x zz\n")
        let plan = try VocabularyAdaptation.plan(old: oldVocabulary, textFiles: files, mode: .replace, maxSize: nil, vocabularyFile: nil)
        XCTAssertEqual(plan.vocabulary.words, ["<S>", "</S>", "<UNK>", "w3x", "newword", "w7x", "zz"])
        for initialisation in NewRowInitialisation.allCases {
            let rows = plan.softmaxRows(oldWeight: softmax.weight.value, oldBias: softmax.bias.value, oldVocabulary: oldVocabulary,
                                        encoder: model.encoder, maxCharacters: 10, initialisation: initialisation)
            XCTAssertEqual(rows.weight.shape, [7, p])
            for (newId, oldId) in [(3, 6), (5, 10), (0, 0), (2, 2)] {   // w3x is old id 6, w7x old id 10
                XCTAssertEqual(Array(rows.weight.scalars[(newId * p)..<((newId + 1) * p)]),
                               Array(softmax.weight.value.scalars[(oldId * p)..<((oldId + 1) * p)]), "row \(newId) copied")
                XCTAssertEqual(rows.bias.scalars[newId], softmax.bias.value.scalars[oldId])
            }
            for (newId, word) in [(4, "newword"), (6, "zz")] {
                let expected: [Float]
                switch initialisation {
                case .mean:
                    expected = (0...p).map { j in
                        (0..<oldWords.count).reduce(Float(0)) { $0 + (j < p ? softmax.weight.value.scalars[$1 * p + j] : softmax.bias.value.scalars[$1]) }
                            / Float(oldWords.count)
                    }
                case .charCNN:
                    var cache = TokenEncoder.Cache()
                    expected = affine(model.encoder.forward(CharacterIds.ids(for: word, maxCharacters: 10), tokenCount: 1, cache: &cache).scalars)
                }
                let found = Array(rows.weight.scalars[(newId * p)..<((newId + 1) * p)]) + [rows.bias.scalars[newId]]
                let scale = expected.map(abs).max()!
                for (f, e) in zip(found, expected) {
                    XCTAssertEqual(f, e, accuracy: (initialisation == .mean ? 1e-5 : 2e-2) * scale, "\(initialisation) row of \(word)")
                }
            }
        }
    }

    func testBadTextAndBadVocabularyFilesAreRefusedWithTheFix() throws {
        XCTAssertThrowsError(try VocabularyAdaptation.plan(old: old, textFiles: try text("dog bird\n"), mode: .keep, maxSize: nil,
                                                           vocabularyFile: nil)) { error in
            XCTAssertTrue("\(error)".contains("outside the vocabulary") && "\(error)".contains("--vocab-mode extend"), "\(error)")
        }
        let empty = try text("\n \n")
        XCTAssertThrowsError(try VocabularyAdaptation.plan(old: old, textFiles: empty, mode: nil, maxSize: nil, vocabularyFile: nil)) { error in
            XCTAssertEqual(error as? TextError, .emptyCorpus(empty[0]))
        }
        let files = try text("the dog\n")
        let folder = try makeTemporaryFolder(self, "vocab-mode")
        let duplicate = try writeTextFile(folder, "dup.txt", "<S>\n</S>\n<UNK>\nthe\ndog\nthe\n")
        let missing = try writeTextFile(folder, "missing.txt", "<S>\n</S>\nthe\ndog\n")
        for (file, reason) in [(duplicate, "\"the\" appears twice"), (missing, "<UNK> missing")] {
            XCTAssertThrowsError(try VocabularyAdaptation.plan(old: old, textFiles: files, mode: .replace, maxSize: nil, vocabularyFile: file)) { error in
                XCTAssertTrue("\(error)".contains(reason) && "\(error)".contains("must hold <S>, </S> and <UNK>"), "\(error)")
            }
        }
        XCTAssertThrowsError(try VocabularyAdaptation.plan(old: old, textFiles: files, mode: .extend, maxSize: nil, vocabularyFile: duplicate)) { error in
            XCTAssertEqual(error as? BiLMError, .vocabularyFileNeedsReplace(mode: .extend))
        }
    }
}
