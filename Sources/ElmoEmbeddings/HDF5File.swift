import ElmoStorage
// HDF5 output and input through Debian's serial libhdf5 (the `_CHDF5` shim), in the subset ELMo needs:
// float datasets (AllenNLP's `elmo` embedding layout, bilm-tf weight files), one variable-length UTF-8
// string dataset (`sentence_to_index`) and root-group attributes. The serial library is not thread-safe:
// use each file, and HDF5 as a whole, from one thread at a time.
import _CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide HDF5 setup and error-stack reporting.
enum HDF5Library {
    /// Opens the library once and turns off its automatic printing of error stacks to stderr; failures are
    /// reported through `EmbedError` instead, carrying the stack's text.
    ///
    /// `H5dont_atexit`: a file whose close failed (a full disk) stays half-open inside the library, and HDF5's own
    /// exit handler then crashed closing it again (SIGSEGV after our clean error). Every file is closed explicitly
    /// (writers in `close`, readers in `close`/deinit), so the exit handler has nothing else to do.
    private static let prepared: Void = {
        H5dont_atexit()
        H5open()
        chdf5_silence_errors()
    }()

    static func prepare() {
        _ = prepared
    }

    /// The current error stack as "outermost cause: innermost cause".
    static func failure(_ path: String, _ operation: String) -> EmbedError {
        var buffer = [CChar](repeating: 0, count: 1024)
        chdf5_error_text(&buffer)
        var lines: [String] = []
        for line in String(cString: buffer).split(separator: "\n").map(String.init) where lines.last != line {
            lines.append(line)
        }
        let detail = lines.isEmpty ? "no detail from the library"
            : lines.count == 1 ? lines[0] : "\(lines[0]): \(lines[lines.count - 1])"
        return .libraryFailure(path: path, operation: operation, detail: detail)
    }

    /// Returns `id` or throws the error stack if the call failed (negative result).
    @discardableResult
    static func check<T: BinaryInteger>(_ id: T, _ path: String, _ operation: @autoclosure () -> String) throws -> T {
        if id < 0 { throw failure(path, operation()) }
        return id
    }

    /// A variable-length string type with the given character set (UTF-8 unless stated).
    static func variableStringType(cset: H5T_cset_t = H5T_CSET_UTF8, path: String) throws -> hid_t {
        let type = try check(H5Tcopy(chdf5_c_s1()), path, "create a string type")
        do {
            try check(H5Tset_size(type, chdf5_variable()), path, "make a variable-length string type")
            try check(H5Tset_cset(type, cset), path, "set a string type's character set")
            try check(H5Tset_strpad(type, H5T_STR_NULLTERM), path, "set a string type's padding")
        } catch {
            H5Tclose(type)
            throw error
        }
        return type
    }
}

/// Writes an HDF5 file that h5py and AllenNLP read: float32 or float16 datasets (optionally gzip-compressed),
/// variable-length UTF-8 string datasets and root attributes. Dataset names may contain `/`; missing groups
/// are created.
public final class HDF5Writer {
    /// Element type in the file; values are always passed as Float32.
    public enum DType {
        /// `'<f4'`.
        case float32
        /// `'<f2'` (IEEE half), rounded to nearest even in Swift before writing.
        case float16
    }

    public let path: String
    private var file: hid_t

    /// Creates (or truncates) the file; the caller decides whether overwriting is allowed.
    public init(path: String) throws {
        HDF5Library.prepare()
        self.path = path
        file = H5Fcreate(path, chdf5_acc_trunc(), chdf5_p_default(), chdf5_p_default())
        if file < 0 { throw HDF5Library.failure(path, "create the file") }
    }

    deinit {
        if file >= 0 { H5Fclose(file) }
    }

    /// Writes `values` (row-major, `shape` may be `[]` for a scalar) as dataset `name`. With `compress`,
    /// the dataset is chunked (chunks up to 1 MiB) and stored with the shuffle filter then gzip level 4,
    /// which h5py reads natively; scalars and empty datasets are never compressed.
    public func writeDataset(_ name: String, shape: [Int], values: [Float], dtype: DType = .float32,
                             compress: Bool = false) throws {
        precondition(file >= 0, "HDF5Writer for '\(path)' is closed; cannot write '\(name)'.")
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "Dataset '\(name)' has shape \(shape) (\(shape.reduce(1, *)) elements), but \(values.count) values were given.")
        let space = try dataspace(shape)
        defer { H5Sclose(space) }
        let fileType = dtype == .float32 ? chdf5_ieee_f32le() : chdf5_ieee_f16le()
        defer { if dtype == .float16 { H5Tclose(fileType) } }
        let creation = try HDF5Library.check(H5Pcreate(chdf5_p_dataset_create()), path, "create dataset properties for '\(name)'")
        defer { H5Pclose(creation) }
        if compress && !shape.isEmpty && !values.isEmpty {
            let itemSize = dtype == .float32 ? 4 : 2
            let chunk = Self.chunkShape(shape, itemSize: itemSize, maxBytes: 1 << 20).map { hsize_t($0) }
            try HDF5Library.check(H5Pset_chunk(creation, Int32(chunk.count), chunk), path, "set chunks for '\(name)'")
            try HDF5Library.check(H5Pset_shuffle(creation), path, "add the shuffle filter to '\(name)'")
            try HDF5Library.check(H5Pset_deflate(creation, 4), path, "add gzip compression to '\(name)'")
        }
        let dataset = try createDataset(name, type: fileType, space: space, creation: creation)
        defer { H5Dclose(dataset) }
        guard !values.isEmpty else { return }
        switch dtype {
        case .float32:
            _ = try values.withUnsafeBufferPointer { buffer in
                try HDF5Library.check(H5Dwrite(dataset, chdf5_native_float(), chdf5_s_all(), chdf5_s_all(),
                                               chdf5_p_default(), buffer.baseAddress), path, "write dataset '\(name)'")
            }
        case .float16:
            // Converted here, not by HDF5: Swift's Float16 init rounds to nearest even, as numpy's astype does.
            let halves = values.map { Float16($0).bitPattern }
            _ = try halves.withUnsafeBufferPointer { buffer in
                try HDF5Library.check(H5Dwrite(dataset, fileType, chdf5_s_all(), chdf5_s_all(),
                                               chdf5_p_default(), buffer.baseAddress), path, "write dataset '\(name)'")
            }
        }
    }

    /// Writes `value` as a dataset of shape (1,) holding one variable-length UTF-8 string, as h5py's
    /// `create_dataset(name, (1,), dtype=h5py.special_dtype(vlen=str))` does (AllenNLP's `sentence_to_index`).
    public func writeString(_ name: String, _ value: String) throws {
        precondition(file >= 0, "HDF5Writer for '\(path)' is closed; cannot write '\(name)'.")
        let type = try HDF5Library.variableStringType(path: path)
        defer { H5Tclose(type) }
        let space = try dataspace([1])
        defer { H5Sclose(space) }
        let dataset = try createDataset(name, type: type, space: space, creation: chdf5_p_default())
        defer { H5Dclose(dataset) }
        try value.withCString { text in
            var pointers: [UnsafePointer<CChar>?] = [text]   // a variable-length string element is a char* in memory
            try HDF5Library.check(H5Dwrite(dataset, type, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), &pointers),
                                  path, "write string dataset '\(name)'")
        }
    }

    /// Sets (or replaces) a variable-length UTF-8 string attribute on the root group; h5py reads it as `str`.
    public func setAttribute(_ name: String, string: String) throws {
        let type = try HDF5Library.variableStringType(path: path)
        defer { H5Tclose(type) }
        let space = try HDF5Library.check(H5Screate(H5S_SCALAR), path, "create a scalar dataspace")
        defer { H5Sclose(space) }
        let attribute = try createAttribute(name, type: type, space: space)
        defer { H5Aclose(attribute) }
        try string.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            try HDF5Library.check(H5Awrite(attribute, type, &pointer), path, "write attribute '\(name)'")
        }
    }

    /// Sets (or replaces) a 1-D `'<i8'` attribute on the root group; h5py reads it as an int64 array.
    public func setAttribute(_ name: String, ints: [Int64]) throws {
        let space = try dataspace([ints.count])
        defer { H5Sclose(space) }
        let attribute = try createAttribute(name, type: chdf5_std_i64le(), space: space)
        defer { H5Aclose(attribute) }
        _ = try ints.withUnsafeBufferPointer { buffer in
            try HDF5Library.check(H5Awrite(attribute, chdf5_native_int64(), buffer.baseAddress), path, "write attribute '\(name)'")
        }
    }

    /// Flushes and closes the file; calling it again does nothing.
    public func close() throws {
        guard file >= 0 else { return }
        let status = H5Fclose(file)
        file = -1
        try HDF5Library.check(status, path, "close the file")
    }

    /// Chunk dimensions of at most `maxBytes`: halves the outermost axes first, so a chunk stays a
    /// contiguous run of rows.
    static func chunkShape(_ shape: [Int], itemSize: Int, maxBytes: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        var axis = 0
        while axis < chunk.count && chunk.reduce(itemSize, *) > maxBytes {
            if chunk[axis] > 1 { chunk[axis] = (chunk[axis] + 1) / 2 } else { axis += 1 }
        }
        return chunk
    }

    private func dataspace(_ shape: [Int]) throws -> hid_t {
        if shape.isEmpty { return try HDF5Library.check(H5Screate(H5S_SCALAR), path, "create a scalar dataspace") }
        let dims = shape.map { hsize_t($0) }
        return try HDF5Library.check(H5Screate_simple(Int32(dims.count), dims, nil), path, "create a dataspace of shape \(shape)")
    }

    private func createDataset(_ name: String, type: hid_t, space: hid_t, creation: hid_t) throws -> hid_t {
        let links = try HDF5Library.check(H5Pcreate(chdf5_p_link_create()), path, "create link properties")
        defer { H5Pclose(links) }
        try HDF5Library.check(H5Pset_create_intermediate_group(links, 1), path, "allow intermediate groups")
        return try HDF5Library.check(H5Dcreate2(file, name, type, space, links, creation, chdf5_p_default()),
                                     path, "create dataset '\(name)'")
    }

    private func createAttribute(_ name: String, type: hid_t, space: hid_t) throws -> hid_t {
        precondition(file >= 0, "HDF5Writer for '\(path)' is closed; cannot set attribute '\(name)'.")
        if H5Aexists(file, name) > 0 {
            try HDF5Library.check(H5Adelete(file, name), path, "replace attribute '\(name)'")
        }
        return try HDF5Library.check(H5Acreate2(file, name, type, space, chdf5_p_default(), chdf5_p_default()),
                                     path, "create attribute '\(name)'")
    }
}

/// Reads float and string datasets and root attributes from an HDF5 file (ours, AllenNLP's or h5py's).
/// Floats of any stored width (`'<f2'`, `'<f4'`, `'<f8'`) are converted to Float32 by HDF5.
public final class HDF5Reader {
    public let path: String
    private var file: hid_t

    public init(path: String) throws {
        HDF5Library.prepare()
        self.path = path
        guard access(path, F_OK) == 0 else { throw StorageError.fileNotFound(path) }
        guard H5Fis_hdf5(path) > 0 else { throw EmbedError.notHDF5(path: path) }
        file = H5Fopen(path, chdf5_acc_rdonly(), chdf5_p_default())
        if file < 0 { throw HDF5Library.failure(path, "open the file") }
    }

    deinit {
        close()
    }

    /// Full paths of all datasets (e.g. `"0"`, `"group/weights"`), in HDF5's name order (byte order, so
    /// `"10"` sorts before `"2"`).
    public var datasetNames: [String] {
        precondition(file >= 0, "HDF5Reader for '\(path)' is closed.")
        final class Names { var list: [String] = [] }
        let names = Names()
        withExtendedLifetime(names) {
            _ = chdf5_visit_datasets(file, { name, context in
                Unmanaged<Names>.fromOpaque(context!).takeUnretainedValue().list.append(String(cString: name!))
            }, Unmanaged.passUnretained(names).toOpaque())
        }
        return names.list
    }

    /// The dataset's dimensions (`[]` for a scalar).
    public func shape(_ name: String) throws -> [Int] {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        return try dimensions(of: dataset, name)
    }

    /// All elements of a floating-point dataset, row-major, as Float32.
    public func floats(_ name: String) throws -> [Float] {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let type = try HDF5Library.check(H5Dget_type(dataset), path, "read the type of '\(name)'")
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_FLOAT else {
            throw EmbedError.wrongType(path: path, name: name, expected: "floating-point numbers", found: Self.describe(typeClass))
        }
        let count = try dimensions(of: dataset, name).reduce(1, *)
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 {
                try HDF5Library.check(H5Dread(dataset, chdf5_native_float(), chdf5_s_all(), chdf5_s_all(),
                                              chdf5_p_default(), buffer.baseAddress), path, "read dataset '\(name)'")
            }
            initialized = count
        }
    }

    /// The first string of a string dataset (variable-length or fixed-length), e.g. `sentence_to_index`.
    public func string(_ name: String) throws -> String {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let type = try HDF5Library.check(H5Dget_type(dataset), path, "read the type of '\(name)'")
        defer { H5Tclose(type) }
        let space = try HDF5Library.check(H5Dget_space(dataset), path, "read the shape of '\(name)'")
        defer { H5Sclose(space) }
        return try readString(name, type: type, space: space) { memoryType, buffer in
            H5Dread(dataset, memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), buffer)
        }
    }

    /// A string attribute of the root group.
    public func stringAttribute(_ name: String) throws -> String {
        let attribute = try openAttribute(name)
        defer { H5Aclose(attribute) }
        let type = try HDF5Library.check(H5Aget_type(attribute), path, "read the type of attribute '\(name)'")
        defer { H5Tclose(type) }
        let space = try HDF5Library.check(H5Aget_space(attribute), path, "read the shape of attribute '\(name)'")
        defer { H5Sclose(space) }
        return try readString(name, type: type, space: space) { memoryType, buffer in
            H5Aread(attribute, memoryType, buffer)
        }
    }

    /// An integer attribute of the root group, flattened, as Int64.
    public func intsAttribute(_ name: String) throws -> [Int64] {
        let attribute = try openAttribute(name)
        defer { H5Aclose(attribute) }
        let type = try HDF5Library.check(H5Aget_type(attribute), path, "read the type of attribute '\(name)'")
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_INTEGER else {
            throw EmbedError.wrongType(path: path, name: name, expected: "integers", found: Self.describe(H5Tget_class(type)))
        }
        let space = try HDF5Library.check(H5Aget_space(attribute), path, "read the shape of attribute '\(name)'")
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        return try [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 {
                try HDF5Library.check(H5Aread(attribute, chdf5_native_int64(), buffer.baseAddress), path, "read attribute '\(name)'")
            }
            initialized = count
        }
    }

    /// Closes the file; calling it again does nothing.
    public func close() {
        if file >= 0 { H5Fclose(file) }
        file = -1
    }

    /// Whether the file has a link (dataset or group) of this name; a missing intermediate group counts as absent.
    public func contains(_ name: String) -> Bool {
        precondition(file >= 0, "HDF5Reader for '\(path)' is closed; cannot look up '\(name)'.")
        // H5Lexists fails (negative) when an intermediate group is missing: also "no such dataset".
        return H5Lexists(file, name, chdf5_p_default()) > 0
    }

    private func openDataset(_ name: String) throws -> hid_t {
        guard contains(name) else { throw EmbedError.missingDataset(path: path, name: name) }
        return try HDF5Library.check(H5Dopen2(file, name, chdf5_p_default()), path, "open dataset '\(name)'")
    }

    private func openAttribute(_ name: String) throws -> hid_t {
        precondition(file >= 0, "HDF5Reader for '\(path)' is closed; cannot read attribute '\(name)'.")
        guard H5Aexists(file, name) > 0 else { throw EmbedError.missingDataset(path: path, name: "attribute \(name)") }
        return try HDF5Library.check(H5Aopen(file, name, chdf5_p_default()), path, "open attribute '\(name)'")
    }

    private func dimensions(of dataset: hid_t, _ name: String) throws -> [Int] {
        let space = try HDF5Library.check(H5Dget_space(dataset), path, "read the shape of '\(name)'")
        defer { H5Sclose(space) }
        let rank = Int(try HDF5Library.check(H5Sget_simple_extent_ndims(space), path, "read the rank of '\(name)'"))
        var dims = [hsize_t](repeating: 0, count: rank)
        if rank > 0 {
            try HDF5Library.check(H5Sget_simple_extent_dims(space, &dims, nil), path, "read the shape of '\(name)'")
        }
        return dims.map { Int($0) }
    }

    /// The first element of a string dataset or attribute; `read(memoryType, buffer)` performs the read.
    private func readString(_ name: String, type: hid_t, space: hid_t,
                            read: (hid_t, UnsafeMutableRawPointer) -> herr_t) throws -> String {
        guard H5Tget_class(type) == H5T_STRING else {
            throw EmbedError.wrongType(path: path, name: name, expected: "a string", found: Self.describe(H5Tget_class(type)))
        }
        let count = Int(H5Sget_simple_extent_npoints(space))
        guard count >= 1 else {
            throw EmbedError.wrongType(path: path, name: name, expected: "a string", found: "an empty string array")
        }
        if H5Tis_variable_str(type) > 0 {
            let memoryType = try HDF5Library.variableStringType(cset: H5Tget_cset(type), path: path)
            defer { H5Tclose(memoryType) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            _ = try pointers.withUnsafeMutableBytes { raw in
                try HDF5Library.check(read(memoryType, raw.baseAddress!), path, "read strings from '\(name)'")
            }
            let text = pointers[0].map { String(cString: $0) } ?? ""
            _ = pointers.withUnsafeMutableBytes { chdf5_vlen_reclaim(memoryType, space, $0.baseAddress) }
            return text
        }
        let size = H5Tget_size(type)
        var bytes = [UInt8](repeating: 0, count: size * count)
        _ = try bytes.withUnsafeMutableBytes { raw in
            try HDF5Library.check(read(type, raw.baseAddress!), path, "read strings from '\(name)'")
        }
        return String(decoding: bytes.prefix(size).prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func describe(_ typeClass: H5T_class_t) -> String {
        switch typeClass {
        case H5T_INTEGER: return "integers"
        case H5T_FLOAT: return "floating-point numbers"
        case H5T_STRING: return "strings"
        case H5T_COMPOUND: return "compound records"
        default: return "HDF5 type class \(typeClass.rawValue)"
        }
    }
}
