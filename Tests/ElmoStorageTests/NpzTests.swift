import ElmoStorage
import ElmoTensor
import Foundation
import XCTest

final class NpzTests: XCTestCase {
    /// value(i) = i/4 − 3: exact in Float32 and distinct per element.
    private func ramp(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<n).map { Float($0) * 0.25 - 3 })
    }

    private func writeSample(_ path: String, level: Int32 = 1) throws {
        let writer = try NpzWriter(path: path, compressionLevel: level)
        try writer.add("scalar", tensor: ramp([]))
        try writer.add("vector", tensor: ramp([3]))
        try writer.add("lstm/cube", tensor: ramp([2, 3, 4]))
        try writer.add("empty", tensor: ramp([0, 5]))
        try writer.add("step", int64: [-7, 0, Int64.max], shape: [3])
        try writer.add("rng", uint64: [UInt64.max, 1, 2, 3], shape: [2, 2])
        try writer.add("config.json", bytes: Array(#"{"dim": 4, "note": "café"}"#.utf8))
        try writer.add("nothing.txt", bytes: [])
        try writer.finish()
    }

    func testRoundTripOfTensorsIntegersAndRawMembers() throws {
        let folder = try makeNpzTestFolder(self)
        for level: Int32 in [0, 1, 9] {
            let path = "\(folder)/sample-\(level).npz"
            try writeSample(path, level: level)
            let reader = try NpzReader(path: path)
            XCTAssertEqual(reader.memberNames, ["scalar.npy", "vector.npy", "lstm/cube.npy", "empty.npy", "step.npy",
                                                "rng.npy", "config.json", "nothing.txt"])
            XCTAssertEqual(reader.tensorNames, ["scalar", "vector", "lstm/cube", "empty", "step", "rng"])
            XCTAssertTrue(reader.contains("config.json"))
            XCTAssertFalse(reader.contains("config"))
            for (name, shape) in [("scalar", [Int]()), ("vector", [3]), ("lstm/cube", [2, 3, 4]), ("empty", [0, 5])] {
                XCTAssertEqual(try reader.tensor(name), ramp(shape), "level \(level), tensor \(name)")
            }
            XCTAssertEqual(try reader.header("lstm/cube"), NpyHeader(descr: "<f4", shape: [2, 3, 4]))
            XCTAssertEqual(try reader.int64("step"), [-7, 0, Int64.max])
            XCTAssertEqual(try reader.uint64("rng"), [UInt64.max, 1, 2, 3])
            XCTAssertEqual(String(decoding: try reader.bytes("config.json"), as: UTF8.self), #"{"dim": 4, "note": "café"}"#)
            XCTAssertEqual(try reader.bytes("nothing.txt"), [])
        }
    }

    func testEqualContentGivesIdenticalFiles() throws {
        let folder = try makeNpzTestFolder(self)
        try writeSample("\(folder)/a.npz")
        try writeSample("\(folder)/b.npz")
        let a = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/a.npz"))
        XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: "\(folder)/b.npz")))
        XCTAssertGreaterThan(a.count, 100)
    }

    func testNpyHeaderLayoutAndVersion2() throws {
        let header = NpyFormat.encodeHeader(dtype: .float32, shape: [5, 4])
        XCTAssertEqual(header.count, 128, "data must start on a multiple of 64")
        XCTAssertEqual(Array(header[0..<8]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        XCTAssertTrue(String(decoding: header, as: UTF8.self).contains("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 4), }"))
        XCTAssertEqual(header.last, 0x0A)
        XCTAssertEqual(try NpyFormat.decodeHeader(header, path: "p", member: "m"), NpyHeader(descr: "<f4", shape: [5, 4]))

        // 30,000 axes push the dict past 65,535 bytes: numpy switches to v2.0 (4-byte length).
        let manyAxes = [Int](repeating: 1, count: 30_000)
        let big = NpyFormat.encodeHeader(dtype: .int64, shape: manyAxes)
        XCTAssertEqual(big[6], 2)
        XCTAssertEqual(big.count % 64, 0)
        XCTAssertEqual(try NpyFormat.headerSize(prefix: Array(big.prefix(12)), path: "p", member: "m"), big.count)
        XCTAssertEqual(try NpyFormat.decodeHeader(big, path: "p", member: "m").shape, manyAxes)

        let foreign = Array("\u{93}NUMPY".utf8)   // the magic byte 0x93 as UTF-8 is two bytes: not an NPY file
        XCTAssertThrowsError(try NpyFormat.headerSize(prefix: foreign + [UInt8](repeating: 0, count: 12), path: "p", member: "m"))
    }

    func testCorruptedMemberIsRefusedNamingIt() throws {
        let folder = try makeNpzTestFolder(self)
        for level: Int32 in [0, 1] {
            let path = "\(folder)/corrupt-\(level).npz"
            let writer = try NpzWriter(path: path, compressionLevel: level)
            try writer.add("weights", tensor: ramp([64, 64]))
            try writer.add("bias", tensor: ramp([8]))
            try writer.finish()
            // The first member's data starts after its 30-byte local header and its name.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let target = 30 + "weights.npy".utf8.count + 200
            bytes[target] ^= 0x10
            try bytes.write(to: URL(fileURLWithPath: path))

            let reader = try NpzReader(path: path)
            XCTAssertThrowsError(try reader.tensor("weights"), "level \(level)") { error in
                guard case StorageError.corruptMember(path, "weights.npy", let reason) = error else {
                    return XCTFail("expected corruptMember for weights.npy, got \(error)")
                }
                if level == 0 { XCTAssertTrue(reason.contains("CRC-32 mismatch"), reason) }
                XCTAssertTrue("\(error)".contains("'weights.npy'") && "\(error)".contains(path), "\(error)")
            }
            XCTAssertEqual(try reader.tensor("bias"), ramp([8]), "an intact member still loads")
        }
    }

    /// Found by Fuzz/fuzz-npz: a member whose central-directory size runs past the end of the file freed its buffer
    /// twice (once before throwing, once in deinit), a crash instead of this error.
    func testMemberLongerThanTheFileIsRefusedWithoutADoubleFree() throws {
        let folder = try makeNpzTestFolder(self)
        let path = "\(folder)/long-member.npz"
        let writer = try NpzWriter(path: path)
        try writer.add("weights", tensor: ramp([16]))
        try writer.add("bias", tensor: ramp([8]))
        try writer.finish()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let signature: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
        let entries = (0...(bytes.count - 4)).filter { Array(bytes[$0..<($0 + 4)]) == signature }
        let last = try XCTUnwrap(entries.last, "central directory entries")
        for k in 0..<4 { bytes[last + 20 + k] = [0x00, 0x00, 0x10, 0x00][k] }  // compressed size 1 MiB
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let reader = try NpzReader(path: path)
        XCTAssertThrowsError(try reader.tensor("bias")) { error in
            guard case StorageError.corruptMember(path, "bias.npy", let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("ends early"), reason)
        }
        XCTAssertEqual(try reader.tensor("weights"), ramp([16]))
    }

    func testTruncatedAndForeignFilesAreRefused() throws {
        let folder = try makeNpzTestFolder(self)
        let path = "\(folder)/full.npz"
        try writeSample(path)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        for keep in [full.count / 2, full.count - 1, 10] {
            let cut = "\(folder)/cut-\(keep).npz"
            try full.prefix(keep).write(to: URL(fileURLWithPath: cut))
            XCTAssertThrowsError(try NpzReader(path: cut)) { error in
                guard case StorageError.corruptArchive(cut, let reason) = error else {
                    return XCTFail("expected corruptArchive, got \(error)")
                }
                XCTAssertTrue(reason.contains("truncated"), reason)
            }
        }
        var zip64 = full   // a ZIP64 end-of-central-directory locator in front of the end record
        zip64.insert(contentsOf: [0x50, 0x4B, 0x06, 0x07] + [UInt8](repeating: 0, count: 16), at: full.count - 22)
        let big = "\(folder)/zip64.npz"
        try zip64.write(to: URL(fileURLWithPath: big))
        XCTAssertThrowsError(try NpzReader(path: big)) { error in
            guard case StorageError.corruptArchive(big, let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("ZIP64"), reason)
        }
        let text = "\(folder)/notes.npz"
        try Data("just some text, long enough to search for an end record".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try NpzReader(path: text)) { XCTAssertEqual($0 as? StorageError, .notAZip(path: text)) }
        let empty = "\(folder)/empty.npz"
        try Data().write(to: URL(fileURLWithPath: empty))
        XCTAssertThrowsError(try NpzReader(path: empty)) { XCTAssertEqual($0 as? StorageError, .notAZip(path: empty)) }
        let missing = "\(folder)/missing.npz"
        XCTAssertThrowsError(try NpzReader(path: missing)) { XCTAssertEqual($0 as? StorageError, .fileNotFound(missing)) }
    }

    func testMissingMemberAndWrongDTypeNameTheMember() throws {
        let folder = try makeNpzTestFolder(self)
        let path = "\(folder)/sample.npz"
        try writeSample(path)
        let reader = try NpzReader(path: path)
        XCTAssertThrowsError(try reader.tensor("nope")) {
            XCTAssertEqual($0 as? StorageError, .missingMember(path: path, member: "nope.npy"))
        }
        XCTAssertThrowsError(try reader.bytes("vocab.txt")) {
            XCTAssertEqual($0 as? StorageError, .missingMember(path: path, member: "vocab.txt"))
        }
        XCTAssertThrowsError(try reader.int64("vector")) {
            XCTAssertEqual($0 as? StorageError, .badDType(member: "vector.npy", found: "<f4"))
        }
        XCTAssertThrowsError(try reader.tensor("step")) {
            XCTAssertEqual($0 as? StorageError, .badDType(member: "step.npy", found: "<i8"))
            XCTAssertTrue("\($0)".contains("step.npy"))
        }
        XCTAssertThrowsError(try reader.tensor("config")) {   // config.json is a raw member, not config.npy
            XCTAssertEqual($0 as? StorageError, .missingMember(path: path, member: "config.npy"))
        }
    }

    func testUnfinishedWriterLeavesNoFileAndFinishReplacesAtomically() throws {
        let folder = try makeNpzTestFolder(self)
        let path = "\(folder)/model.npz"
        do {
            let writer = try NpzWriter(path: path)
            try writer.add("w", tensor: ramp([10]))
            XCTAssertTrue(FileManager.default.fileExists(atPath: writer.temporaryPath))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "the temporary file is removed on deinit")

        try writeSample(path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let writer = try NpzWriter(path: path)
        try writer.add("w", tensor: ramp([10]))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "the old file is untouched until finish()")
        try writer.finish()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["model.npz"])
        XCTAssertEqual(try NpzReader(path: path).memberNames, ["w.npy"])
    }

    func testWriterIntoMissingFolderFailsClearly() {
        XCTAssertThrowsError(try NpzWriter(path: "/nonexistent-folder-\(UUID().uuidString)/x.npz")) { error in
            guard case StorageError.writeFailed(_, let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("No such file or directory"), reason)
        }
    }

    /// 20 tensors of (375, 1000) Float32 (30 MB of noise-like values) at the default level 1.
    func testWritingThirtyMegabytesIsFast() throws {
        let folder = try makeNpzTestFolder(self)
        let path = "\(folder)/big.npz"
        var state: UInt64 = 42
        let tensors: [Tensor] = (0..<20).map { _ in
            Tensor(shape: [375, 1000], scalars: (0..<375_000).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.1
            })
        }
        let clock = ContinuousClock()
        let writeTime = try clock.measure {
            let writer = try NpzWriter(path: path)
            for (i, t) in tensors.enumerated() { try writer.add("layer\(i)/weight", tensor: t) }
            try writer.finish()
        }
        let reader = try NpzReader(path: path)
        var back: [Tensor] = []
        let readTime = try clock.measure { back = try reader.tensorNames.map { try reader.tensor($0) } }
        XCTAssertEqual(back, tensors)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        print("npz: wrote 30 MB in \(writeTime) (file \(size / 1_000_000) MB, incl. fsync), read+CRC in \(readTime)")
        XCTAssertLessThan(writeTime, .seconds(5), "30 MB at level 1 should take well under 2 s on an idle machine")
    }
}
