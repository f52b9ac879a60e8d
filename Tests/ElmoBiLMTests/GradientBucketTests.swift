import ElmoBiLM
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// The buckets a data-parallel reducer sends during backward: backward reports each one only once its gradients
/// are final, and the buckets hold every parameter once.
final class GradientBucketTests: XCTestCase {
    private func batch(_ model: BiLanguageModel) -> StreamBatch {
        let w = model.maxCharacters, words = ["<S>", "the", "cat", "sat", "on", "the", "mat", "</S>"]
        var forward: [Int32] = [], backward: [Int32] = []
        for token in words.prefix(4) + words.suffix(4) { CharacterIds.append(token, maxCharacters: w, to: &forward) }
        for token in (words.prefix(4) + words.suffix(4)).reversed() { CharacterIds.append(token, maxCharacters: w, to: &backward) }
        return StreamBatch(batchSize: 2, steps: 4, maxCharacters: w, forwardCharacters: forward,
                           forwardTargets: [3, 4, 5, 6, 4, 5, 6, 1], backwardCharacters: backward,
                           backwardTargets: [6, 5, 4, 3, 6, 5, 4, 0])
    }

    func testBucketsHoldEveryParameterOnce() throws {
        let model = BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 7, seed: 3)
        let inBuckets = model.gradientBuckets.flatMap { $0 }.map(ObjectIdentifier.init)
        XCTAssertEqual(inBuckets.count, model.parameters.count)
        XCTAssertEqual(Set(inBuckets), Set(model.parameters.map(ObjectIdentifier.init)))
        XCTAssertTrue(model.gradientBuckets.allSatisfy { !$0.isEmpty })
    }

    /// A snapshot of each bucket's gradients taken when backward reports it equals the gradients after backward, for
    /// the concurrent stacks (two threads) as for one thread, with dropout on.
    func testEachBucketIsReportedOnceWithItsFinalGradients() throws {
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            defer { BLAS.setThreads(1) }
            let model = BiLanguageModel(options: try tinyPretrainOptions(dropout: 0.2), vocabularySize: 7, seed: 3)
            let buckets = model.gradientBuckets
            let lock = NSLock()
            var reported: [Int] = [], snapshots: [Int: [[Float]]] = [:], lossBeforeBackward: Double?
            var states = model.zeroStates(batch: 2)
            model.zeroGradients()
            let loss = model.trainStep(batch(model), states: &states, draws: BiLMPass.KeyedDraws(seed: 5, step: 0, firstRow: 0),
                                       afterForward: { lossBeforeBackward = $0 },
                                       gradientsFinal: { index in
                                           lock.lock()
                                           defer { lock.unlock() }
                                           reported.append(index)
                                           snapshots[index] = buckets[index].map(\.gradient.scalars)
                                       })
            XCTAssertEqual(lossBeforeBackward, loss)
            let last = 2 * model.layerCount + 1
            XCTAssertEqual(buckets.count, last + 1, "softmax, one bucket per layer of each stack, encoder")
            XCTAssertEqual(reported.sorted(), Array(0...last), "threads \(threads)")
            XCTAssertEqual(reported.first, 0, "the softmax is final first")
            XCTAssertEqual(reported.last, last, "the encoder is final last")
            // Within each stack the layers are final from the top down: bucket 1 before 2, L + 1 before L + 2.
            for first in [1, 1 + model.layerCount] {
                let order = reported.filter { $0 >= first && $0 < first + model.layerCount }
                XCTAssertEqual(order, Array(first..<(first + model.layerCount)), "threads \(threads)")
            }
            for (index, bucket) in buckets.enumerated() {
                XCTAssertEqual(snapshots[index], bucket.map(\.gradient.scalars), "threads \(threads), bucket \(index)")
                XCTAssertTrue(bucket.contains { $0.gradient.scalars.contains { $0 != 0 } }, "bucket \(index) has gradients")
            }
        }
    }
}
