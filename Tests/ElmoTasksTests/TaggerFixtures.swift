import ElmoBiLM
import ElmoTasks
import ElmoTensor
import ElmoText
import Foundation

/// Small models and data shared by the tagger tests.
enum TaggerFixtures {
    /// A tiny biLM: 2 layers of D = 8 features per token; tokens are cut to 10 − 2 = 8 bytes.
    static let options = try! BiLMOptions.decode(Data("""
        {"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
                      "n_characters": 262, "max_characters_per_token": 10},
         "lstm": {"dim": 8, "projection_dim": 4, "n_layers": 1, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
         "dropout": 0.1, "batch_size": 2, "unroll_steps": 5}
        """.utf8), source: "tagger test options")

    static let vocabulary = try! Vocabulary(words: [Vocabulary.bos, Vocabulary.eos, Vocabulary.unk, "the", "cat"])

    static func bilm(seed: UInt64 = 3) -> BiLanguageModel {
        BiLanguageModel(options: options, vocabularySize: vocabulary.count, seed: seed)
    }

    /// A fresh folder under the temporary directory.
    static func temporaryFolder() -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("tagger-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes the tiny biLM as a checkpoint file in `folder`.
    static func writeCheckpoint(in folder: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent("bilm.npz")
        try BiLMCheckpoint.save(model: bilm(), vocabulary: vocabulary, trainer: TrainerState(), optimizer: nil, states: nil, to: path)
        return path
    }

    static func write(_ text: String, to folder: String, name: String) -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A POS-like toy language that needs context: `fish` is a NOUN after a determiner and a VERB after a noun
    /// (`the cat fish` vs `the fish sleeps`); the other words have one tag each.
    static func toyPOS(count: Int, seed: UInt64) -> [TaggedSentence] {
        var rng = RandomGenerator(seed: seed)
        func pick(_ words: [String]) -> String { words[rng.nextInt(below: words.count)] }
        return (0..<count).map { index in
            var tokens: [String] = [], tags: [String] = []
            func add(_ token: String, _ tag: String) { tokens.append(token); tags.append(tag) }
            add(pick(["the", "a"]), "DET")
            add(pick(["cat", "dog", "fish"]), "NOUN")
            add(pick(["runs", "sleeps", "fish"]), "VERB")
            if rng.nextInt(below: 2) == 0 {
                add(pick(["the", "a"]), "DET")
                add(pick(["fish", "dog"]), "NOUN")
            }
            return TaggedSentence(tokens: tokens, tags: tags, line: index + 1)
        }
    }

    /// Sentences in CoNLL layout (`token TAB tag`, blank line after each).
    static func conll(_ sentences: [TaggedSentence]) -> String {
        TaggerModel.conll(tokens: sentences.map(\.tokens), tags: sentences.map(\.tags))
    }
}
