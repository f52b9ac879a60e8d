import ElmoStorage
import ElmoTensor
import Foundation
import XCTest

/// Checks against numpy itself: it loads our archives exactly, and we load what `np.savez` (stored) and
/// `np.savez_compressed` (deflated) write.
final class NpzNumpyInteropTests: XCTestCase {
    func testNpyHeadersAreByteIdenticalToNumpy() throws {
        let cases: [(NpyDType, [Int])] = [(.float32, []), (.float32, [3]), (.float32, [2, 3, 4]), (.float16, [7, 1]),
                                          (.int64, [12345678901]), (.uint64, [0, 2]), (.int32, [1, 2, 3, 4, 5, 6, 7, 8])]
        let script = """
        import io, sys, numpy as np
        for spec in sys.argv[1:]:
            descr, shape = spec.split(':')
            shape = tuple(int(s) for s in shape.split(',') if s)
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(buf, {'descr': descr, 'fortran_order': False, 'shape': shape})
            print(buf.getvalue().hex())
        """
        let output = try runNumpyScript(script, cases.map { "\($0.0.rawValue):\($0.1.map(String.init).joined(separator: ","))" })
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, cases.count)
        for (line, (dtype, shape)) in zip(lines, cases) {
            let ours = NpyFormat.encodeHeader(dtype: dtype, shape: shape).map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(ours, line, "header for \(dtype.rawValue) \(shape)")
        }
    }

    func testNumpyLoadsOurArchiveExactly() throws {
        let folder = try makeNpzTestFolder(self)
        for level: Int32 in [0, 1] {
            let path = "\(folder)/ours-\(level).npz"
            let writer = try NpzWriter(path: path, compressionLevel: level)
            // value(i) = i/8 − 5 with a few awkward floats mixed in, checked bit-exactly by numpy.
            let cube = Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float($0) / 8 - 5 })
            try writer.add("scalar", tensor: Tensor(shape: [], scalars: [Float(1) / 3]))
            try writer.add("vector", tensor: Tensor(shape: [3], scalars: [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]))
            try writer.add("lstm/cube", tensor: cube)
            try writer.add("step", int64: [Int64.min, 42], shape: [2])
            try writer.add("rng", uint64: [UInt64.max, 7, 8, 9, 10, 11], shape: [2, 3])
            try writer.add("config.json", bytes: Array(#"{"note": "naïve"}"#.utf8))
            try writer.add("émbeddings/wörds", tensor: Tensor(shape: [1], scalars: [2]))   // UTF-8 name flag
            try writer.finish()

            let script = """
            import json, sys, zipfile, numpy as np
            path = sys.argv[1]
            assert zipfile.ZipFile(path).testzip() is None
            z = np.load(path)
            assert z.files == ['scalar', 'vector', 'lstm/cube', 'step', 'rng', 'config.json', 'émbeddings/wörds'], z.files
            s = z['scalar']; assert s.dtype == np.float32 and s.shape == () and s == np.float32(1) / np.float32(3), s
            v = z['vector']; assert v.dtype == '<f4' and v.shape == (3,)
            assert v.tobytes() == np.array([-0.0, 1e-45, 3.4028235e38], dtype='<f4').tobytes(), v
            c = z['lstm/cube']; assert c.dtype == '<f4' and c.shape == (2, 3, 4)
            assert (c == (np.arange(24, dtype=np.float32) / 8 - 5).reshape(2, 3, 4)).all(), c
            i = z['step']; assert i.dtype == '<i8' and i.tolist() == [-2**63, 42], i
            u = z['rng']; assert u.dtype == '<u8' and u.shape == (2, 3) and u.tolist() == [[2**64 - 1, 7, 8], [9, 10, 11]], u
            assert json.loads(z['config.json']) == {'note': 'naïve'}
            assert z['émbeddings/wörds'].tolist() == [2.0]
            print('ok')
            """
            XCTAssertEqual(try runNumpyScript(script, [path]), "ok\n", "level \(level)")
        }
    }

    func testReadsNumpySavezAndSavezCompressed() throws {
        let folder = try makeNpzTestFolder(self)
        let script = """
        import sys, numpy as np
        arrays = {
            'scalar': np.float32(2.5),
            'matrix': (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3),
            'half': np.array([0.1, -2.0, 65504.0], dtype=np.float16),
            'layer/ids': np.array([[1, -2], [3, 4]], dtype=np.int64),
            'small': np.array([5, 6, 7], dtype=np.int32),
            'seed': np.array([2**64 - 1, 3], dtype=np.uint64),
            'wide': np.array([1.5], dtype=np.float64),
        }
        np.savez(sys.argv[1], **arrays)
        np.savez_compressed(sys.argv[2], **arrays)
        """
        let stored = "\(folder)/stored.npz", deflated = "\(folder)/deflated.npz"
        _ = try runNumpyScript(script, [stored, deflated])
        for path in [stored, deflated] {
            let reader = try NpzReader(path: path)
            XCTAssertEqual(Set(reader.tensorNames), ["scalar", "matrix", "half", "layer/ids", "small", "seed", "wide"])
            XCTAssertEqual(try reader.tensor("scalar"), Tensor(shape: [], scalars: [2.5]))
            XCTAssertEqual(try reader.tensor("matrix"), Tensor(shape: [2, 3], scalars: [-1, -0.5, 0, 0.5, 1, 1.5]))
            XCTAssertEqual(try reader.tensor("half"), Tensor(shape: [3], scalars: [Float(Float16(0.1)), -2, 65504]))
            XCTAssertEqual(try reader.int64("layer/ids"), [1, -2, 3, 4])
            XCTAssertEqual(try reader.header("layer/ids").shape, [2, 2])
            XCTAssertEqual(try reader.int64("small"), [5, 6, 7])
            XCTAssertEqual(try reader.uint64("seed"), [UInt64.max, 3])
            XCTAssertThrowsError(try reader.tensor("wide")) {
                XCTAssertEqual($0 as? StorageError, .badDType(member: "wide.npy", found: "<f8"))
            }
        }
    }
}
