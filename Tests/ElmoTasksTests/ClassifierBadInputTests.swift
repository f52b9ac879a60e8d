import ElmoBiLM
import ElmoTasks
import ElmoText
import Foundation
import XCTest

/// Each kind of bad input gives an error naming the file and the line, column or key, never a crash.
final class ClassifierBadInputTests: XCTestCase {
    private var folder = ""
    private var bilmPath = ""
    private var devPath = ""

    override func setUpWithError() throws {
        folder = try temporaryFolder(self)
        bilmPath = try savedTinyBiLM(in: folder)
        devPath = try writeFile("pos\tgood film\nneg\tbad film\n", "dev.tsv", in: folder)
    }

    private func settings(train: String, dev: String? = nil, output: String = "run") -> ClassifierFinetuneSettings {
        var s = ClassifierFinetuneSettings(checkpoint: bilmPath, trainFile: train, devFile: dev ?? devPath,
                                           output: (folder as NSString).appendingPathComponent(output))
        s.training.epochs = 1
        s.training.batchSize = 4
        s.options.hidden = 4
        return s
    }

    func testLineWithMissingColumn() throws {
        let train = try writeFile("pos\tgood film\nneg bad film\n", "train.tsv", in: folder)
        assertThrowsMentioning(["\(train):2", "1 columns", "line 1 has 2"]) { try ClassifierFinetuning.run(settings(train: train)) }
    }

    func testEmptyText() throws {
        let train = try writeFile("pos\tgood film\nneg\t  \n", "train.tsv", in: folder)
        assertThrowsMentioning(["\(train):2", "text is empty"]) { try ClassifierFinetuning.run(settings(train: train)) }
    }

    func testLabelColumnThatDoesNotExist() throws {
        let train = try writeFile("id\tdocument\tlabel\n1\tgood film\t1\n2\tbad film\t0\n", "nsmc.tsv", in: folder)
        var s = settings(train: train)
        s.options.data.header = true
        s.options.data.textColumn = "document"
        s.options.data.labelColumn = "sentiment"
        assertThrowsMentioning([train, "no column named 'sentiment'", "'label'"]) { try ClassifierFinetuning.run(s) }
        s.options.data.header = false
        s.options.data.textColumn = "1"
        s.options.data.labelColumn = "7"
        assertThrowsMentioning([train, "column 7", "3 columns"]) { try ClassifierFinetuning.run(s) }
    }

    func testEmptyTrainingFile() throws {
        let train = try writeFile("", "empty.tsv", in: folder)
        assertThrowsMentioning([train, "no examples"]) { try ClassifierFinetuning.run(settings(train: train)) }
    }

    func testSingleLabelTrainingFile() throws {
        let train = try writeFile("pos\tgood film\npos\tgreat film\n", "train.tsv", in: folder)
        assertThrowsMentioning([train, "1 distinct label", "'pos'"]) { try ClassifierFinetuning.run(settings(train: train)) }
    }

    func testUnknownDevLabelIsAnErrorOrAWarning() throws {
        let train = try writeFile(tsv(toySentiment(count: 8, seed: 1)), "train.tsv", in: folder)
        let dev = try writeFile("pos\tgood film\nneutral\tfilm\n", "dev-odd.tsv", in: folder)
        assertThrowsMentioning(["\(dev):2", "'neutral'", "--unknown-label warn"]) { try ClassifierFinetuning.run(settings(train: train, dev: dev)) }
        var s = settings(train: train, dev: dev, output: "warned")
        s.unknownLabels = .warn
        var warnings: [String] = []
        _ = try ClassifierFinetuning.run(s, warn: { warnings.append($0) })
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("line 2"), warnings[0])
    }

    func testPretrainingCheckpointIsNotATaskModelAndTheOtherWayRound() throws {
        assertThrowsMentioning([bilmPath, "biLM pre-training checkpoint", "task model"]) { try ClassifierModel.load(bilmPath) }
        let train = try writeFile(tsv(toySentiment(count: 8, seed: 1)), "train.tsv", in: folder)
        let s = settings(train: train)
        _ = try ClassifierFinetuning.run(s)
        let model = (s.output as NSString).appendingPathComponent("best.npz")
        assertThrowsMentioning([model, "is a fine-tuned task model", "a biLM checkpoint", "fine-tuned from", "elmo predict --model"]) {
            try BiLMCheckpoint.load(model)
        }
    }

    func testChangedOrMissingBiLMIsRefused() throws {
        let train = try writeFile(tsv(toySentiment(count: 8, seed: 1)), "train.tsv", in: folder)
        let s = settings(train: train)
        _ = try ClassifierFinetuning.run(s)
        XCTAssertNoThrow(try ClassifierModel.load(s.output))
        _ = try savedTinyBiLM(in: folder, seed: 77)  // another biLM at the same path
        assertThrowsMentioning([bilmPath, "CRC-32", "replaced or modified"]) { try ClassifierModel.load(s.output) }
        try FileManager.default.removeItem(atPath: bilmPath)
        assertThrowsMentioning([bilmPath, "no longer there"]) { try ClassifierModel.load(s.output) }
    }

    func testCSVWithHeaderNamesAndAMissingName() throws {
        let train = try writeFile("\"label\",\"text\"\n\"1\",\"a good\nfilm\"\n\"-1\",\"bad\"\n", "train.csv", in: folder)
        var data = ClassificationDataSettings()
        data.header = true
        data.labelColumn = "label"
        data.textColumn = "text"
        let examples = try data.read(path: train)
        XCTAssertEqual(examples.map(\.tokens), [["a", "good", "film"], ["bad"]])
        data.textColumn = "review"
        assertThrowsMentioning([train, "'review'"]) { try data.read(path: train) }
    }
}
