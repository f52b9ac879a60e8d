import ElmoEmbeddings
import ElmoStorage
import Foundation
import XCTest

final class HDF5Tests: XCTestCase {
    private func makeFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    /// value(layer, token, dim) = layer·100 + token + dim/8: exact in Float32.
    private func layers(tokens: Int) -> [Float] {
        var v: [Float] = []
        for layer in 0..<3 { for t in 0..<tokens { for d in 0..<8 { v.append(Float(layer * 100 + t) + Float(d) / 8) } } }
        return v
    }

    /// Values that need rounding in float16 (and one that overflows it).
    private let awkward: [Float] = (0..<12).map { sin(Float($0)) * 3 } + [1e-6, 70000]

    /// A big compressible matrix, split over several 1 MiB chunks.
    private let bigShape = [600, 1000]
    private var big: [Float] { (0..<600_000).map { Float($0 % 1000) / 4 } }

    private let index = #"{"The cat sat .": "0", "Naïve café “hi” .": "1", "A b .": "2"}"#

    /// AllenNLP's `elmo` layout plus the extras: a float16 copy, a gzip dataset, a nested name, attributes.
    private func writeSample(_ path: String) throws {
        let writer = try HDF5Writer(path: path)
        for (k, tokens) in [4, 6, 3].enumerated() {
            try writer.writeDataset(String(k), shape: [3, tokens, 8], values: layers(tokens: tokens))
        }
        try writer.writeString("sentence_to_index", index)
        try writer.writeDataset("extra/awkward32", shape: [awkward.count], values: awkward)
        try writer.writeDataset("extra/awkward16", shape: [awkward.count], values: awkward, dtype: .float16)
        try writer.writeDataset("extra/big", shape: bigShape, values: big, compress: true)
        try writer.writeDataset("extra/scalar", shape: [], values: [0.5], compress: true)
        try writer.setAttribute("options", string: #"{"lstm": {"dim": 8}}"#)
        try writer.setAttribute("options", string: #"{"lstm": {"dim": 4096}}"#)   // replaces
        try writer.setAttribute("layers", ints: [3, 8, -1])
        try writer.close()
        try writer.close()   // a second close is a no-op
    }

    func testRoundTripWithOurReader() throws {
        let path = "\(try makeFolder())/emb.hdf5"
        try writeSample(path)
        let reader = try HDF5Reader(path: path)
        XCTAssertEqual(reader.datasetNames, ["0", "1", "2", "extra/awkward16", "extra/awkward32", "extra/big", "extra/scalar",
                                             "sentence_to_index"])
        for (k, tokens) in [4, 6, 3].enumerated() {
            XCTAssertEqual(try reader.shape(String(k)), [3, tokens, 8])
            XCTAssertEqual(try reader.floats(String(k)), layers(tokens: tokens))
        }
        XCTAssertEqual(try reader.string("sentence_to_index"), index)
        XCTAssertEqual(try reader.floats("extra/awkward32"), awkward)
        XCTAssertEqual(try reader.floats("extra/awkward16"), awkward.map { Float(Float16($0)) })
        XCTAssertEqual(try reader.floats("extra/awkward16").last, .infinity, "70000 overflows float16")
        XCTAssertEqual(try reader.shape("extra/big"), bigShape)
        XCTAssertEqual(try reader.floats("extra/big"), big)
        XCTAssertEqual(try reader.shape("extra/scalar"), [])
        XCTAssertEqual(try reader.floats("extra/scalar"), [0.5])
        XCTAssertEqual(try reader.stringAttribute("options"), #"{"lstm": {"dim": 4096}}"#)
        XCTAssertEqual(try reader.intsAttribute("layers"), [3, 8, -1])
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? .max
        XCTAssertLessThan(size, 600_000 * 4 / 4, "the gzip+shuffle dataset must be stored compressed")
    }

    func testErrorsNameTheFileAndDataset() throws {
        let folder = try makeFolder()
        let path = "\(folder)/emb.hdf5"
        try writeSample(path)
        let reader = try HDF5Reader(path: path)
        XCTAssertThrowsError(try reader.floats("7")) { XCTAssertEqual($0 as? EmbedError, .missingDataset(path: path, name: "7")) }
        XCTAssertThrowsError(try reader.shape("no/such/group")) {
            XCTAssertEqual($0 as? EmbedError, .missingDataset(path: path, name: "no/such/group"))
        }
        XCTAssertThrowsError(try reader.floats("sentence_to_index")) {
            XCTAssertEqual($0 as? EmbedError, .wrongType(path: path, name: "sentence_to_index",
                                                         expected: "floating-point numbers", found: "strings"))
        }
        XCTAssertThrowsError(try reader.string("0")) { XCTAssertTrue("\($0)".contains("'0'") && "\($0)".contains(path)) }
        reader.close()

        let missing = "\(folder)/missing.hdf5"
        XCTAssertThrowsError(try HDF5Reader(path: missing)) { XCTAssertEqual($0 as? StorageError, .fileNotFound(missing)) }
        let text = "\(folder)/notes.hdf5"
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try HDF5Reader(path: text)) { XCTAssertEqual($0 as? EmbedError, .notHDF5(path: text)) }
        let nowhere = "\(folder)/no-such-folder/out.hdf5"
        XCTAssertThrowsError(try HDF5Writer(path: nowhere)) { error in
            guard case EmbedError.libraryFailure(nowhere, "create the file", let detail) = error else { return XCTFail("got \(error)") }
            XCTAssertFalse(detail.isEmpty)
        }
        let writer = try HDF5Writer(path: "\(folder)/dup.hdf5")
        try writer.writeDataset("x", shape: [1], values: [1])
        XCTAssertThrowsError(try writer.writeDataset("x", shape: [1], values: [2])) { XCTAssertTrue("\($0)".contains("'x'"), "\($0)") }
    }

    func testH5pyReadsOurFile() throws {
        let path = "\(try makeFolder())/emb.hdf5"
        try writeSample(path)
        let script = """
        import json, sys
        import numpy as np, h5py
        f = h5py.File(sys.argv[1], 'r')
        for k, n in enumerate([4, 6, 3]):
            d = f[str(k)]
            assert d.dtype == '<f4' and d.shape == (3, n, 8), (d.dtype, d.shape)
            want = np.array([[[l * 100 + t + i / 8 for i in range(8)] for t in range(n)] for l in range(3)], dtype=np.float32)
            assert (d[()] == want).all()
        s = f['sentence_to_index']
        assert s.shape == (1,) and s.dtype == h5py.special_dtype(vlen=str), (s.shape, s.dtype)
        assert json.loads(s[0])['Naïve café “hi” .'] == '1'
        a32, a16 = f['extra/awkward32'], f['extra/awkward16']
        assert a16.dtype == np.dtype('<f2'), a16.dtype
        assert a16[()].tobytes() == a32[()].astype(np.float16).tobytes(), (a16[()], a32[()].astype(np.float16))
        b = f['extra/big']
        assert b.compression == 'gzip' and b.compression_opts == 4 and b.shuffle and b.chunks is not None, b.chunks
        assert np.prod(b.chunks) * 4 <= 1 << 20 and b.chunks[1] == 1000, b.chunks
        assert (b[()] == (np.arange(600000) % 1000 / 4).astype(np.float32).reshape(600, 1000)).all()
        assert f['extra/scalar'].shape == () and f['extra/scalar'][()] == 0.5
        assert json.loads(f.attrs['options']) == {'lstm': {'dim': 4096}}, f.attrs['options']
        assert f.attrs['layers'].dtype == '<i8' and f.attrs['layers'].tolist() == [3, 8, -1]
        print('ok')
        """
        XCTAssertEqual(try runH5pyScript(script, [path]), "ok\n")
    }

    func testReadsH5pyFile() throws {
        let path = "\(try makeFolder())/theirs.hdf5"
        let script = """
        import sys, numpy as np, h5py
        with h5py.File(sys.argv[1], 'w') as f:
            f.create_dataset('g/wide', data=np.arange(6, dtype=np.float64).reshape(2, 3) / 4)
            f.create_dataset('half', data=np.array([0.5, -3], dtype=np.float16), compression='gzip', shuffle=True)
            s = f.create_dataset('sentence_to_index', (1,), dtype=h5py.special_dtype(vlen=str))
            s[0] = '{"é": "0"}'
            f.create_dataset('fixed', data=np.array([b'abc', b'de'], dtype='S4'))
            f.create_dataset('ints', data=np.array([1, 2], dtype=np.int32))
            f.attrs['note'] = 'naïve'
        """
        _ = try runH5pyScript(script, [path])
        let reader = try HDF5Reader(path: path)
        XCTAssertEqual(reader.datasetNames, ["fixed", "g/wide", "half", "ints", "sentence_to_index"])
        XCTAssertEqual(try reader.shape("g/wide"), [2, 3])
        XCTAssertEqual(try reader.floats("g/wide"), [0, 0.25, 0.5, 0.75, 1, 1.25])
        XCTAssertEqual(try reader.floats("half"), [0.5, -3])
        XCTAssertEqual(try reader.string("sentence_to_index"), #"{"é": "0"}"#)
        XCTAssertEqual(try reader.string("fixed"), "abc")
        XCTAssertEqual(try reader.stringAttribute("note"), "naïve")
        XCTAssertThrowsError(try reader.floats("ints")) {
            XCTAssertEqual($0 as? EmbedError, .wrongType(path: path, name: "ints", expected: "floating-point numbers", found: "integers"))
        }
    }

    /// Runs `python3 -c script arguments…` with h5py (installing it with pip once if needed) and returns
    /// stdout; skips when h5py cannot be had, fails with stderr when the script fails.
    private func runH5pyScript(_ script: String, _ arguments: [String]) throws -> String {
        func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3"] + args
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            do { try process.run() } catch { throw XCTSkip("python3 is not available: \(error)") }
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
        }
        if try run(["-c", "import h5py"]).status != 0 {
            _ = try run(["-m", "pip", "install", "-q", "h5py"])
            if try run(["-c", "import h5py"]).status != 0 { throw XCTSkip("h5py is not installed and pip could not install it") }
        }
        let result = try run(["-c", script] + arguments)
        XCTAssertEqual(result.status, 0, "python3 failed:\n\(result.err)")
        return result.out
    }
}
