import ElmoBiLM
import ElmoStorage
import Foundation
import XCTest

/// Damaged checkpoints (issue 4, "Bad input and faults"): one flipped byte in any member, or a file cut short, is
/// refused with an error naming the member and the check that failed; never a crash, never a silent load.
final class CheckpointFaultTests: XCTestCase {
    private var folder = ""
    /// A tiny run's last checkpoint: parameters, Adagrad slots, carried states, config, vocabulary, trainer state.
    private var checkpoint = ""
    private var original: [UInt8] = []

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder(self, "checkpoint-faults")
        let shards = [try writeTextFile(folder, "a.txt", tinyShardA), try writeTextFile(folder, "b.txt", tinyShardB)]
        let output = (folder as NSString).appendingPathComponent("run")
        try Pretrainer(settings: tinySettings(try tinyPretrainOptions(dropout: 0.1), train: shards, output: output, steps: 2)).train()
        checkpoint = try BiLMCheckpoint.latestCheckpoint(inRunFolder: output)
        original = Array(try Data(contentsOf: URL(fileURLWithPath: checkpoint)))
    }

    /// Writes `bytes` as a new file and returns its path.
    private func damaged(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testIntactCheckpointLoadsEveryMember() throws {
        let members = zipMemberLayouts(original).map(\.name)
        XCTAssertTrue(members.contains("trainer.json") && members.contains("config.json") && members.contains("vocab.txt"))
        XCTAssertTrue(members.contains { $0.hasPrefix("optimizer/adagrad_accumulator/") }, "optimizer slots are saved")
        XCTAssertTrue(members.contains("state/backward/layer_1/c.npy"), "carried states are saved")
        let contents = try BiLMCheckpoint.load(checkpoint)
        XCTAssertEqual(contents.trainer.step, 2)
        XCTAssertEqual(contents.optimizerTensors.count, contents.model.parameters.count)
    }

    /// Every member, tensors and JSON alike, with one byte of its compressed data flipped: refused, naming it.
    func testOneFlippedByteInAnyMemberIsRefusedNamingTheMemberAndTheCheck() throws {
        let members = zipMemberLayouts(original)
        XCTAssertGreaterThan(members.count, 30)
        var reasons: [String: String] = [:]
        for member in members {
            var bytes = original
            bytes[member.dataOffset + member.compressedSize / 2] ^= 0x5A
            let path = try damaged(bytes, "flipped.npz")
            XCTAssertThrowsError(try BiLMCheckpoint.load(path), "a flipped byte in \(member.name) is noticed") { error in
                guard case let .corruptMember(errorPath, name, reason)? = error as? StorageError else {
                    return XCTFail("\(member.name): expected corruptMember, got \(error)")
                }
                XCTAssertEqual(errorPath, path)
                XCTAssertEqual(name, member.name)
                let checks = ["CRC-32 mismatch", "invalid deflate data", "decompresses to", "ends early"]
                XCTAssertTrue(checks.contains { reason.contains($0) }, "\(member.name): the failed check is named: \(reason)")
                XCTAssertTrue("\(error)".contains("'\(member.name)'") && "\(error)".contains("not loaded"), "\(error)")
                reasons[member.name] = reason
            }
        }
        // The tensors' deflate streams decode, but to other bytes: the CRC-32 is what catches most of them.
        let crc = reasons.filter { $0.key.hasSuffix(".npy") && $0.value.contains("CRC-32 mismatch") }
        XCTAssertGreaterThan(crc.count, 0, "\(reasons)")
    }

    /// A flipped byte in a tensor member's recorded CRC-32: the data are intact but no longer match, so the CRC check
    /// (not the inflater) refuses it.
    func testFlippedRecordedCRCIsRefusedAsCRCMismatch() throws {
        let member = try XCTUnwrap(zipMemberLayouts(original).first { $0.name == "softmax/weight.npy" })
        var bytes = original
        bytes[member.centralCRCOffset + 1] ^= 0x01
        let path = try damaged(bytes, "crc.npz")
        XCTAssertThrowsError(try BiLMCheckpoint.load(path)) { error in
            guard case let .corruptMember(_, name, reason)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "softmax/weight.npy")
            XCTAssertTrue(reason.hasPrefix("CRC-32 mismatch"), reason)
        }
    }

    /// Cut short anywhere (an interrupted copy): refused as a damaged archive, never a crash.
    func testCheckpointCutShortIsRefused() throws {
        let size = original.count
        for cut in [0, 3, 4, 100, size / 3, size / 2, size - 23, size - 22, size - 1] {
            let path = try damaged(Array(original[..<cut]), "cut-\(cut).npz")
            XCTAssertThrowsError(try BiLMCheckpoint.load(path), "cut at \(cut) of \(size)") { error in
                switch error as? StorageError {
                case .notAZip?:
                    XCTAssertLessThan(cut, 4, "only a file too short for a ZIP signature is 'not a ZIP'")
                case let .corruptArchive(errorPath, reason)?:
                    XCTAssertEqual(errorPath, path)
                    XCTAssertTrue(reason.contains("truncated"), "cut at \(cut): \(reason)")
                default:
                    XCTFail("cut at \(cut): expected notAZip or corruptArchive, got \(error)")
                }
            }
        }
    }

    /// `--resume` from a run whose latest checkpoint is damaged stops with the checkpoint's error, before training.
    func testResumeFromDamagedLatestIsRefused() throws {
        let member = try XCTUnwrap(zipMemberLayouts(original).first { $0.name.hasPrefix("forward/") })
        var bytes = original
        bytes[member.dataOffset + member.compressedSize / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: checkpoint))
        var settings = tinySettings(try tinyPretrainOptions(), train: [(folder as NSString).appendingPathComponent("a.txt")],
                                    output: (checkpoint as NSString).deletingLastPathComponent, steps: 4)
        settings.resume = true
        XCTAssertThrowsError(try Pretrainer(settings: settings)) { error in
            guard case let .corruptMember(_, name, _)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, member.name)
        }
        try Data(original[..<(original.count / 2)]).write(to: URL(fileURLWithPath: checkpoint))
        XCTAssertThrowsError(try Pretrainer(settings: settings)) { error in
            guard case .corruptArchive? = error as? StorageError else { return XCTFail("\(error)") }
        }
    }
}
