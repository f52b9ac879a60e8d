import ElmoTasks
import Foundation
import XCTest

/// `finetune --max-length`: a training or dev sentence longer than the limit is refused naming its file and line,
/// before any model is loaded or memory is allocated for it (a 5,000-token sentence once took 4.7 GB).
final class SentenceLengthLimitTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = try temporaryFolder(self)
    }

    private func words(_ n: Int) -> String {
        (0..<n).map { "w\($0 % 7)" }.joined(separator: " ")
    }

    func testClassifierRefusesALongTrainingLineAtTheDefaultLimit() throws {
        let train = try writeFile("pos\tgood film\nneg\t\(words(1001))\n", "train.tsv", in: folder)
        let dev = try writeFile("pos\tgood film\nneg\tbad film\n", "dev.tsv", in: folder)
        // The checkpoint does not exist: the length check must come first.
        let settings = ClassifierFinetuneSettings(checkpoint: "/nonexistent/bilm.npz", trainFile: train, devFile: dev,
                                                  output: (folder as NSString).appendingPathComponent("run"))
        assertThrowsMentioning(["\(train):2", "1001 tokens", "--max-length 1000"]) { try ClassifierFinetuning.run(settings) }
    }

    func testClassifierRefusesALongDevLineAtAGivenLimit() throws {
        let train = try writeFile("pos\tgood film\nneg\tbad film\n", "train.tsv", in: folder)
        let dev = try writeFile("pos\tgood film\nneg\tnot a good film\n", "dev.tsv", in: folder)
        var settings = ClassifierFinetuneSettings(checkpoint: "/nonexistent/bilm.npz", trainFile: train, devFile: dev,
                                                  output: (folder as NSString).appendingPathComponent("run"))
        settings.maxLength = 3
        assertThrowsMentioning(["\(dev):2", "4 tokens", "--max-length 3"]) { try ClassifierFinetuning.run(settings) }
    }

    func testTaggerRefusesALongSentenceNamingItsLine() throws {
        let long = (0..<6).map { "w\($0)/NN" }.joined(separator: " ")
        let train = try writeFile("the/DT cat/NN\n\(long)\n", "train.txt", in: folder)
        let dev = try writeFile("the/DT dog/NN\n", "dev.txt", in: folder)
        var settings = TaggerFinetuneSettings(checkpoint: "/nonexistent/bilm.npz", trainPath: train, devPath: dev, output: nil)
        settings.options.data.format = .slash
        settings.maxLength = 5
        assertThrowsMentioning(["\(train):2", "6 tokens", "--max-length 5"]) { _ = try TaggerFinetuning.run(settings) }
    }
}
