import ElmoTasks
import ElmoText
import Foundation
import XCTest

/// Bad data given to the tagger's entry point (`TaggerFinetuning.run`): a clear error naming the file and line,
/// raised before any model is built (so the checkpoint need not exist).
final class TaggerInputTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws { folder = try temporaryFolder(self) }

    private let good = "John\tB-PER\nlives\tO\n\nParis\tB-LOC\n"

    /// Runs the entry point on `train` (and a good dev file) and returns the error's message.
    private func failure(train: String, dev: String? = nil, format: TaggerDataFormat = .conll, scheme: TagScheme? = nil,
                         file: StaticString = #filePath, line: UInt = #line) -> (error: Error?, trainPath: String, devPath: String) {
        let trainPath = try! writeFile(train, "train.txt", in: folder)
        let devPath = try! writeFile(dev ?? good, "dev.txt", in: folder)
        var settings = TaggerFinetuneSettings(checkpoint: "/nonexistent/bilm.npz", trainPath: trainPath, devPath: devPath, output: nil)
        settings.options.data.format = format
        settings.scheme = scheme
        do {
            _ = try TaggerFinetuning.run(settings)
            XCTFail("the data should have been refused", file: file, line: line)
            return (nil, trainPath, devPath)
        } catch {
            return (error, trainPath, devPath)
        }
    }

    func testWrongNumberOfColumnsNamesFileAndLine() {
        let (error, path, _) = failure(train: "John\tB-PER\nlives\tO\textra\n")
        XCTAssertEqual(error as? TextError, .columnCountMismatch(path: path, line: 2, found: 3, expected: 2, layoutLine: 1))
        XCTAssertTrue("\(error!)".hasPrefix("\(path):2:"), "\(error!)")
    }

    func testTagOutsideTheSchemeNamesFileAndLine() {
        let (error, path, _) = failure(train: "John\tB-PER\nSmith\tI-PER\nParis\tX-PER\n", scheme: .bio)
        XCTAssertEqual(error as? TaskError, .invalidTag(path: path, line: 3, token: "Paris", tag: "X-PER", scheme: .bio))
        XCTAssertTrue("\(error!)".hasPrefix("\(path):3:"), "\(error!)")
        XCTAssertTrue("\(error!)".contains("X-PER"))
        // The dev file is checked against the scheme the training tags have.
        let (devError, _, devPath) = failure(train: good, dev: "a\tO\n\nb\tB-LOC\nc\tX-LOC\n", scheme: .bio)
        XCTAssertEqual(devError as? TaskError, .invalidTag(path: devPath, line: 4, token: "c", tag: "X-LOC", scheme: .bio))
    }

    func testEmptyFileIsRefused() {
        let (error, path, _) = failure(train: "")
        XCTAssertEqual(error as? TextError, .noExamples(path: path))
        XCTAssertTrue("\(error!)".contains(path))
        let (slashError, slashPath, _) = failure(train: "\n\n", format: .slash)
        XCTAssertEqual(slashError as? TextError, .noExamples(path: slashPath))
    }

    func testMalformedConlluIDNamesFileAndLine() {
        let row = { (id: String, form: String) in "\(id)\t\(form)\t_\tNOUN\tNN\t_\t0\troot\t_\t_" }
        let text = ["# sent_id = 1", row("1", "Dogs"), row("x", "bark"), ""].joined(separator: "\n")
        let (error, path, _) = failure(train: text, format: .conllu)
        XCTAssertEqual(error as? TextError, .malformedConlluID(path: path, line: 3, id: "x", expected: 2))
        XCTAssertTrue("\(error!)".hasPrefix("\(path):3:"), "\(error!)")
    }

    func testMalformedSlashTokenNamesFileAndLine() {
        let (error, path, _) = failure(train: "The/DT dog/NN\nbarks NN\n", format: .slash)
        XCTAssertEqual(error as? TextError, .malformedTaggedToken(path: path, line: 2, token: "barks"))
    }

    func testSpanMetricNeedsChunkTags() {
        let trainPath = try! writeFile("The/DT dog/NN\n", "pos.txt", in: folder)
        var settings = TaggerFinetuneSettings(checkpoint: "/nonexistent", trainPath: trainPath, devPath: trainPath, output: nil)
        settings.options.data.format = .slash
        settings.metric = .f1
        XCTAssertThrowsError(try TaggerFinetuning.run(settings)) { error in
            XCTAssertEqual(error as? TaskError, .spanMetricWithoutScheme(path: trainPath, example: "DT"))
        }
    }
}
