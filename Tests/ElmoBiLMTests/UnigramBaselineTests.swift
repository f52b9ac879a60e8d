import ElmoBiLM
import ElmoText
import Foundation
import XCTest

final class UnigramBaselineTests: XCTestCase {
    func testAddOneUnigramPerplexityByHand() throws {
        let dir = NSTemporaryDirectory() + "unigram-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a b\n\na\n".write(toFile: dir + "/train.txt", atomically: true, encoding: .utf8)
        try "a c\n".write(toFile: dir + "/valid.txt", atomically: true, encoding: .utf8)
        let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>", "a", "b"])
        // Training targets a b </S> a </S>: c(a) = 2, c(b) = 1, c(</S>) = 2, N = 5, V = 5 → p = (c + 1) / 10.
        // Valid targets a, c → <UNK> (count 0), </S>: p = .3, .1, .3.
        let expected = exp(-(log(0.3) + log(0.1) + log(0.3)) / 3)
        let ppl = try UnigramBaseline.perplexity(trainFiles: [dir + "/train.txt"], validFile: dir + "/valid.txt", vocabulary: vocabulary)
        XCTAssertEqual(ppl, expected, accuracy: 1e-9)
    }
}
