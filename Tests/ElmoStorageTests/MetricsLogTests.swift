import ElmoStorage
import ElmoTensor
import Foundation
import XCTest

/// `metrics.jsonl` gives back exactly what was written: the multi-rank checks compare losses read from it bit for bit.
final class MetricsLogTests: XCTestCase {
    private func roundTrip(_ records: [[String: Any]]) throws -> [[String: Any]] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("metrics.jsonl").path
        do {
            let log = MetricsLog(path: path, truncate: true)
            for record in records { log.append(record) }
        }
        return MetricsLog.read(path: path)
    }

    func testDoublesReadBackBitwise() throws {
        // Foundation's JSONSerialization writes this one as 32.98037874463383, another double.
        var values: [Double] = [32.980378744633825, 0.1, 1e-300, -2.5e17, 7]
        var rng = RandomGenerator(seed: 11)
        for _ in 0..<500 { values.append(Double(bitPattern: rng.next() & 0x3FFF_FFFF_FFFF_FFFF) * (rng.next() & 1 == 0 ? 1 : -1)) }
        let read = try roundTrip(values.enumerated().map { ["step": $0.offset, "train_loss": $0.element] })
        XCTAssertEqual(read.count, values.count)
        for (index, record) in read.enumerated() {
            XCTAssertEqual((record["train_loss"] as? NSNumber)?.doubleValue.bitPattern, values[index].bitPattern, "value \(values[index])")
            XCTAssertEqual(record["step"] as? Int, index)
        }
    }

    func testStringsBooleansNestingAndNonFiniteNumbers() throws {
        let read = try roundTrip([["kind": "valid \"quoted\"\n\\ ü", "final": true, "per_layer": [1.5, 2], "nested": ["a": 3],
                                   "loss": Double.nan]])
        let record = try XCTUnwrap(read.first)
        XCTAssertEqual(record["kind"] as? String, "valid \"quoted\"\n\\ ü")
        XCTAssertEqual(record["final"] as? Bool, true)
        XCTAssertEqual((record["per_layer"] as? [NSNumber])?.map(\.doubleValue), [1.5, 2])
        XCTAssertEqual((record["nested"] as? [String: Any])?["a"] as? Int, 3)
        XCTAssertTrue(record["loss"] is NSNull, "JSON has no NaN: written as null")
    }
}
