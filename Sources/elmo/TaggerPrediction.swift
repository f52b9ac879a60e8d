import ElmoTasks
import ElmoText
import Foundation

/// What `elmo predict` and `elmo evaluate` do with a tagger model (`TaskCheckpoint.kind` is `"tagger"`).
enum TaggerPrediction {
    /// Tags `sentences` (whitespace-split input lines) and returns CoNLL text: `token TAB predicted tag` per line,
    /// a blank line after each sentence. A sentence longer than `maxLength` is tagged as `overlong` says: its first
    /// `maxLength` tokens only (truncate), or window by window with the windows' tags joined (split).
    static func predict(model path: String, sentences: [[String]], batchSize: Int, maxBatchTokens: Int?,
                        maxLength: Int, overlong: OverlongPolicy) throws -> String {
        let model = try TaggerModel.load(path)
        let pieces = sentences.map { overlong.pieces($0, maxLength: maxLength) }
        var tags = model.predict(pieces.flatMap { $0 }, batchSize: batchSize, maxBatchTokens: maxBatchTokens)[...]
        let joined: [[String]] = pieces.map { windows in
            defer { tags = tags.dropFirst(windows.count) }
            return tags.prefix(windows.count).flatMap { $0 }
        }
        return TaggerModel.conll(tokens: pieces.map { $0.flatMap { $0 } }, tags: joined)
    }

    /// Scores the model on the labelled file `data`, read as its training data was (format, columns, UPOS/XPOS)
    /// and checked against its tag scheme. Returns conlleval's table (for chunk tags) and the token accuracy, or
    /// with `json` the `TaggerEvaluation` as JSON; a warning names tags the model never saw (they count as wrong).
    static func evaluate(model path: String, data: String, json: Bool, batchSize: Int, maxBatchTokens: Int?) throws -> String {
        let model = try TaggerModel.load(path)
        let gold = try model.readGold(path: data)
        if let warning = model.unknownTagWarning(gold, path: data) {
            FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8))
        }
        let evaluation = model.evaluate(gold, batchSize: batchSize, maxBatchTokens: maxBatchTokens).evaluation
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
