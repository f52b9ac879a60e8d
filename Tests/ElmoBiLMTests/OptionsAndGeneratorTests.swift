import ElmoBiLM
import ElmoText
import Foundation
import XCTest

/// Config errors name the key and the accepted range (issue 4, "Bad input and faults"); generation stops at `</S>`
/// or after `maxTokens`.
final class OptionsAndGeneratorTests: XCTestCase {
    private let valid: [String: Any] = [
        "char_cnn": ["embedding": ["dim": 4], "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
                     "max_characters_per_token": 10] as [String: Any],
        "lstm": ["dim": 12, "projection_dim": 5, "n_layers": 2, "cell_clip": 3, "proj_clip": 3] as [String: Any],
        "dropout": 0.1, "batch_size": 2, "unroll_steps": 4,
    ]

    /// The config with `edit` applied to a copy of `valid`; returns the error's message.
    private func error(_ edit: (inout [String: Any]) -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        var json = valid
        edit(&json)
        do {
            let data = try JSONSerialization.data(withJSONObject: json)
            _ = try BiLMOptions.decode(data, source: "bad.json")
            XCTFail("accepted \(json)", file: file, line: line)
            return ""
        } catch {
            XCTAssertTrue(error is BiLMError, "\(error)", file: file, line: line)
            return "\(error)"
        }
    }

    private func assertMessage(_ message: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        for part in parts { XCTAssertTrue(message.contains(part), "\(message)\n  lacks: \(part)", file: file, line: line) }
    }

    func testValidConfigAndShippedConfigsLoad() throws {
        XCTAssertNoThrow(try BiLMOptions.decode(try JSONSerialization.data(withJSONObject: valid), source: "ok.json"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in ["tiny", "small"] {
            XCTAssertNoThrow(try BiLMOptions.load(path: root.appendingPathComponent("Pretrain/\(name).json").path), name)
        }
    }

    func testMissingKeyIsNamedWithWhatItAccepts() {
        assertMessage(error { $0["batch_size"] = nil }, contains: ["bad.json", "'batch_size'", "is missing", "integer in [1, 16384]"])
        assertMessage(error { json in
            var lstm = json["lstm"] as! [String: Any]
            lstm["dim"] = nil
            json["lstm"] = lstm
        }, contains: ["'lstm.dim'", "is missing", "integer in [1, 32768]"])
        assertMessage(error { json in
            var cnn = json["char_cnn"] as! [String: Any]
            cnn["embedding"] = [String: Any]()
            json["char_cnn"] = cnn
        }, contains: ["'char_cnn.embedding.dim'", "is missing"])
    }

    func testImpossibleValuesNameKeyValueAndAcceptedRange() {
        assertMessage(error { $0["dropout"] = 1.5 }, contains: ["'dropout'", "is 1.5", "[0, 1)"])
        assertMessage(error { $0["dropout"] = -0.1 }, contains: ["'dropout'", "[0, 1)"])
        assertMessage(error { json in
            var lstm = json["lstm"] as! [String: Any]
            lstm["n_layers"] = 0
            json["lstm"] = lstm
        }, contains: ["'lstm.n_layers'", "is 0", "integer in [1, 32]"])
        assertMessage(error { json in
            var cnn = json["char_cnn"] as! [String: Any]
            cnn["filters"] = [[1, 4], [11, 4]]
            json["char_cnn"] = cnn
        }, contains: ["'char_cnn.filters[1]'", "width 11 > max_characters_per_token 10", "1 <= width <= max_characters_per_token"])
        assertMessage(error { json in
            var cnn = json["char_cnn"] as! [String: Any]
            cnn["max_characters_per_token"] = 2
            json["char_cnn"] = cnn
        }, contains: ["'char_cnn.max_characters_per_token'", "is 2", "[3, 512]"])
        assertMessage(error { json in
            var cnn = json["char_cnn"] as! [String: Any]
            cnn["activation"] = "gelu"
            json["char_cnn"] = cnn
        }, contains: ["'char_cnn.activation'", "\"gelu\"", "\"relu\" or \"tanh\""])
        assertMessage(error { $0["unroll_steps"] = 0 }, contains: ["'unroll_steps'", "is 0", "[1, 10000]"])
        assertMessage(error { $0["all_clip_norm_val"] = 0 }, contains: ["'all_clip_norm_val'", "> 0"])
        assertMessage(error { $0["n_negative_samples_batch"] = -1 }, contains: ["'n_negative_samples_batch'", "[0, 1000000]"])
        assertMessage(error { $0["optimizer"] = "rmsprop" }, contains: ["'optimizer'", "\"rmsprop\"", "\"adagrad\""])
        assertMessage(error { $0["learning_rate"] = -0.2 }, contains: ["'learning_rate'", "> 0"])
        assertMessage(error { $0["initial_accumulator_value"] = -1 }, contains: ["'initial_accumulator_value'", ">= 0"])
    }

    func testWrongTypeAndBrokenJSON() throws {
        assertMessage(error { $0["batch_size"] = "32" }, contains: ["'batch_size'", "wrong type", "integer in [1, 16384]"])
        assertMessage(error { json in
            var cnn = json["char_cnn"] as! [String: Any]
            cnn["filters"] = [[1, 4], [2, "four"]]
            json["char_cnn"] = cnn
        }, contains: ["'char_cnn.filters[1][1]'", "wrong type", "[width, count] pairs"])
        XCTAssertThrowsError(try BiLMOptions.decode(Data("{\"lstm\": ".utf8), source: "cut.json")) { error in
            XCTAssertTrue("\(error)".contains("cut.json") && "\(error)".contains("not valid JSON"), "\(error)")
        }
        XCTAssertThrowsError(try BiLMOptions.load(path: "/nonexistent/options.json")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/options.json"), "\(error)")
        }
    }

    // MARK: - Generation

    private func generator() throws -> (TextGenerator, BiLanguageModel, Vocabulary) {
        let options = try tinyPretrainOptions()
        let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>", "the", "cat", "고양이"])
        let model = BiLanguageModel(options: options, vocabularySize: vocabulary.count, seed: 5)
        return (TextGenerator(model: model, vocabulary: vocabulary), model, vocabulary)
    }

    func testGenerationStopsAtEndOfSentence() throws {
        let (generator, model, vocabulary) = try generator()
        model.softmax!.bias.value[flat: Int(vocabulary.eosId)] = 100
        XCTAssertEqual(generator.generate(prompt: ["the"], maxTokens: 20, temperature: 1, topK: nil, seed: 1), [],
                       "</S> is (almost surely) sampled first and ends the text without being printed")
        XCTAssertEqual(generator.generate(prompt: [], maxTokens: 20, temperature: 0, topK: nil, seed: 1), [])
    }

    func testGenerationStopsAfterMaxTokensAndNeverSamplesSpecials() throws {
        let (generator, model, vocabulary) = try generator()
        model.softmax!.bias.value[flat: Int(vocabulary.eosId)] = -100
        model.softmax!.bias.value[flat: Int(vocabulary.unkId)] = 100
        model.softmax!.bias.value[flat: Int(vocabulary.bosId)] = 100
        model.softmax!.bias.value[flat: Int(vocabulary.id(of: "고양이"))] = 50
        XCTAssertEqual(generator.generate(prompt: ["the"], maxTokens: 4, temperature: 0, topK: nil, seed: 1),
                       ["고양이", "고양이", "고양이", "고양이"], "greedy: the likeliest word that is not <UNK> or <S>")
        let sampled = generator.generate(prompt: ["the"], maxTokens: 7, temperature: 1, topK: 2, seed: 3)
        XCTAssertEqual(sampled.count, 7)
        XCTAssertTrue(sampled.allSatisfy { ["고양이", "the", "cat"].contains($0) }, "\(sampled)")
        XCTAssertEqual(generator.generate(prompt: ["the"], maxTokens: 7, temperature: 1, topK: 2, seed: 3), sampled, "seeded")
    }
}
