import ElmoBiLM
import ElmoTasks
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// A tiny random biLM (2 layers, P = 4, so D = 8 and K = 3), fast enough for gradient checks in debug builds.
/// `filters` char-CNN filters per width (1, 2, 3) and projection P: wider ones give random features that tell
/// more words apart.
func tinyBiLM(dropout: Float = 0, seed: UInt64 = 3, filters: Int = 4, projection: Int = 4) throws -> (BiLanguageModel, Vocabulary) {
    let json = """
    {"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, \(filters)], [2, \(filters)], [3, \(filters)]], "n_highway": 1,
                  "activation": "relu", "max_characters_per_token": 10},
     "lstm": {"dim": 6, "projection_dim": \(projection), "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
     "dropout": \(dropout), "batch_size": 2, "unroll_steps": 4}
    """
    let options = try BiLMOptions.decode(Data(json.utf8), source: "test")
    let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>", "good", "bad", "film"])
    return (BiLanguageModel(options: options, vocabularySize: vocabulary.count, seed: seed), vocabulary)
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("elmo-tasks-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// Saves the tiny biLM as a pre-training checkpoint in `folder` and returns its path.
func savedTinyBiLM(in folder: String, seed: UInt64 = 3) throws -> String {
    let (model, vocabulary) = try tinyBiLM(seed: seed)
    let path = (folder as NSString).appendingPathComponent("bilm.npz")
    try BiLMCheckpoint.save(model: model, vocabulary: vocabulary, trainer: TrainerState(), optimizer: nil, states: nil, to: path)
    return path
}

/// Writes `text` to `name` in `folder` and returns the path.
@discardableResult
func writeFile(_ text: String, _ name: String, in folder: String) throws -> String {
    let path = (folder as NSString).appendingPathComponent(name)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A separable toy sentiment task: "pos" sentences contain "good" or "great", "neg" ones "bad" or "awful", among
/// filler words, at varying lengths and positions.
func toySentiment(count: Int, seed: UInt64) -> [LabeledSentence] {
    var rng = RandomGenerator(seed: seed)
    let filler = ["the", "film", "was", "a", "plot", "very", "and", "actors", "it", "story"]
    return (0..<count).map { i in
        let positive = i % 2 == 0
        let cue = positive ? ["good", "great"][rng.nextInt(below: 2)] : ["bad", "awful"][rng.nextInt(below: 2)]
        var tokens = (0..<(1 + rng.nextInt(below: 6))).map { _ in filler[rng.nextInt(below: filler.count)] }
        tokens.insert(cue, at: rng.nextInt(below: tokens.count + 1))
        return LabeledSentence(label: positive ? "pos" : "neg", tokens: tokens, line: i + 1)
    }
}

/// The examples as `label<TAB>text` lines.
func tsv(_ examples: [LabeledSentence]) -> String {
    examples.map { "\($0.label)\t\($0.tokens.joined(separator: " "))\n" }.joined()
}

/// Asserts that `body` throws an error whose description contains every one of `fragments`.
func assertThrowsMentioning<T>(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                               _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for fragment in fragments where !text.contains(fragment) {
            XCTFail("error '\(text)' does not mention '\(fragment)'", file: file, line: line)
        }
    }
}
