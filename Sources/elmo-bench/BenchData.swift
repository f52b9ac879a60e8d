import ElmoTensor
import ElmoText

/// Random data as the PyTorch reference makes it: V random lowercase words of 1–12 letters, random token streams.
enum BenchData {
    static func randomWords(count: Int, seed: UInt64) -> [String] {
        var rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in
            String((0..<(1 + rng.nextInt(below: 12))).map { _ in Character(Unicode.Scalar(UInt8(97 + rng.nextInt(below: 26)))) })
        }
    }

    /// A batch whose forward and backward streams are random words (targets are random ids).
    static func batch(words: [String], batch: Int, unroll: Int, maxCharacters: Int, vocabularySize: Int, seed: UInt64) -> StreamBatch {
        var rng = RandomGenerator(seed: seed &+ 1000)
        func stream() -> (chars: [Int32], targets: [Int32]) {
            var chars: [Int32] = []
            chars.reserveCapacity(batch * unroll * maxCharacters)
            var targets: [Int32] = []
            for _ in 0..<(batch * unroll) {
                CharacterIds.append(words[rng.nextInt(below: words.count)], maxCharacters: maxCharacters, to: &chars)
                targets.append(Int32(rng.nextInt(below: vocabularySize)))
            }
            return (chars, targets)
        }
        let f = stream(), b = stream()
        return StreamBatch(batchSize: batch, steps: unroll, maxCharacters: maxCharacters, forwardCharacters: f.chars, forwardTargets: f.targets,
                           backwardCharacters: b.chars, backwardTargets: b.targets)
    }
}
