import ElmoTasks
import ElmoText
import Foundation

/// What `elmo predict` and `elmo evaluate` do with a tagger model (`TaskCheckpoint.kind` is `"tagger"`).
enum TaggerPrediction {
    /// Tags `sentences` (whitespace-split input lines) and returns CoNLL text: `token TAB predicted tag` per line,
    /// a blank line after each sentence.
    static func predict(model path: String, sentences: [[String]], batchSize: Int) throws -> String {
        let model = try TaggerModel.load(path)
        return TaggerModel.conll(tokens: sentences, tags: model.predict(sentences, batchSize: batchSize))
    }

    /// Scores the model on the labelled file `data`, read as its training data was (format, columns, UPOS/XPOS)
    /// and checked against its tag scheme. Returns conlleval's table (for chunk tags) and the token accuracy, or
    /// with `json` the `TaggerEvaluation` as JSON; a warning names tags the model never saw (they count as wrong).
    static func evaluate(model path: String, data: String, json: Bool, batchSize: Int) throws -> String {
        let model = try TaggerModel.load(path)
        let gold = try model.readGold(path: data)
        if let warning = model.unknownTagWarning(gold, path: data) {
            FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8))
        }
        let evaluation = model.evaluate(gold, batchSize: batchSize).evaluation
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(evaluation), as: UTF8.self) + "\n"
        }
        return (evaluation.spans?.conllevalTable ?? "")
            + String(format: "token accuracy: %.2f%% (%d of %d tokens)\n", 100 * evaluation.accuracy, evaluation.correctTokens,
                     evaluation.tokens)
    }
}
