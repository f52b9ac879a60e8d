@testable import ElmoBiLM
import ElmoTensor
import XCTest

/// Resuming with one process from a checkpoint rank 0 of a data-parallel run wrote: its rows keep their LSTM states
/// exactly, the other rows start from zero.
final class CarriedStatesTests: XCTestCase {
    func testStoredRowsAreKeptAndTheRestStartFromZero() throws {
        let model = BiLanguageModel(options: try tinyPretrainOptions(dropout: 0), vocabularySize: 7, seed: 3)
        var stored = model.zeroStates(batch: 1)
        func filled(_ tensor: Tensor, _ offset: Float) -> Tensor {
            Tensor(shape: tensor.shape, scalars: (0 ..< tensor.count).map { Float($0) + offset })
        }
        for index in stored.forward.indices {
            stored.forward[index].h = filled(stored.forward[index].h, 1)
            stored.forward[index].c = filled(stored.forward[index].c, 2)
        }
        for index in stored.backward.indices {
            stored.backward[index].h = filled(stored.backward[index].h, 3)
            stored.backward[index].c = filled(stored.backward[index].c, 4)
        }
        let carried = Pretrainer.carriedStates(stored, model: model, rows: 2)
        for (states, from) in [(carried.forward, stored.forward), (carried.backward, stored.backward)] {
            for (layer, source) in zip(states, from) {
                for (tensor, original) in [(layer.h, source.h), (layer.c, source.c)] {
                    XCTAssertEqual(tensor.shape, [2] + original.shape.dropFirst())
                    XCTAssertEqual(Array(tensor.scalars.prefix(original.count)), original.scalars, "row 0 continues")
                    XCTAssertEqual(Array(tensor.scalars.dropFirst(original.count)), [Float](repeating: 0, count: original.count), "row 1 starts from zero")
                }
            }
        }
        XCTAssertEqual(Pretrainer.carriedStates(carried, model: model, rows: 2).forward[0].h, carried.forward[0].h, "matching rows are kept as they are")
    }
}
