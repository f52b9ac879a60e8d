import ElmoTasks
import ElmoTensor
import ElmoText

/// Data shared by the tagger tests (the tiny biLM, folders and files come from `TaskTestSupport`).
enum TaggerFixtures {
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
