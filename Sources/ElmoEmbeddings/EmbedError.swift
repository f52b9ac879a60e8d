import Foundation

/// What a user can get wrong exporting, reading or importing embeddings and weights: the input text, the output
/// path, an HDF5 file, a bilm-tf / AllenNLP weight file that does not fit its options, a neighbours index. Each
/// message names the file (and line or dataset) and says what to do. (A missing or unwritable file is a
/// `StorageError`.)
public enum EmbedError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// An input line has no tokens (and `--skip-empty` was not given).
    case emptyLine(path: String, line: Int)
    /// The output exists and `--overwrite` was not given.
    case outputExists(String)
    /// The input holds no sentences.
    case emptyInput(String)
    /// A line has more tokens than `--max-length`.
    case lineTooLong(path: String, line: Int, tokens: Int, limit: Int)
    /// `--output` names a folder.
    case outputIsFolder(String)
    /// `--format npy` (one matrix) without `--pooling`.
    case matrixNeedsPooling
    /// The file exists but has no HDF5 signature.
    case notHDF5(path: String)
    /// The HDF5 file has no dataset (or attribute) of this name.
    case missingDataset(path: String, name: String)
    /// The dataset holds another kind of data (e.g. integers where floats are expected).
    case wrongType(path: String, name: String, expected: String, found: String)
    /// An HDF5 call failed; `detail` is the library's own error stack, outermost cause first.
    case libraryFailure(path: String, operation: String, detail: String)
    /// A weight file's dataset is missing (`found` nil) or has another shape than its options (`keys`) imply.
    case weightFileMismatch(path: String, dataset: String, expected: [Int], found: [Int]?, keys: String)
    /// `--layer k` beyond the biLM's layers.
    case noSuchLayer(Int, layers: Int)
    /// The path is not a neighbours index.
    case notAnIndex(String)
    /// The neighbours index was built from another biLM.
    case otherCheckpoint(String, built: String, given: String)

    public var description: String {
        switch self {
        case let .emptyLine(path, line):
            return "\(path):\(line): empty line (no tokens). Remove it, or pass --skip-empty to skip such lines (their numbers are recorded in the output)."
        case .outputExists(let p): return "\(p) already exists. Pass --overwrite to replace it, or choose another --output."
        case .emptyInput(let p): return "\(p) holds no sentences."
        case let .lineTooLong(path, line, tokens, limit):
            return "\(path):\(line): \(tokens) tokens, more than --max-length \(limit). Split the line into sentences, or raise --max-length (memory grows with it)."
        case .outputIsFolder(let p):
            return "\(p) is a folder; --output names the file to write (e.g. \((p as NSString).appendingPathComponent("vectors.hdf5"))). --overwrite never replaces a folder."
        case .matrixNeedsPooling:
            return "--format npy writes one (N, dim) matrix, one row per line: it needs --pooling mean or max."
        case .notHDF5(let path):
            return "'\(path)' is not an HDF5 file. Pass a file written by `elmo embed`, AllenNLP or h5py."
        case .missingDataset(let path, let name):
            return "'\(path)' has no dataset '\(name)'. List its datasets with "
                + "`python3 -c \"import h5py; h5py.File('\(path)').visit(print)\"`."
        case .wrongType(let path, let name, let expected, let found):
            return "Dataset '\(name)' in '\(path)' holds \(found), but \(expected) is expected. "
                + "Check that the file is the kind this command reads."
        case .libraryFailure(let path, let operation, let detail):
            return "HDF5 could not \(operation) in '\(path)': \(detail). Check the path, free space and "
                + "permissions, and that no other program has the file open."
        case let .weightFileMismatch(path, dataset, expected, found?, keys):
            return "Dataset '\(dataset)' in '\(path)' has shape \(found), but the options (\(keys)) imply \(expected). "
                + "Pass the options.json that belongs to this weight file."
        case let .weightFileMismatch(path, dataset, expected, nil, keys):
            return "'\(path)' has no dataset '\(dataset)', which the options (\(keys)) require with shape \(expected). "
                + "Pass the options.json that belongs to this weight file."
        case let .noSuchLayer(k, layers):
            return "--layer \(k) does not exist: this biLM has layers 0...\(layers - 1) (0 is the token encoding), or use --layer mix."
        case let .notAnIndex(path):
            return "\(path) is not a neighbours index (no valid index.json with matching layer arrays); build one with --index CORPUS.txt --save-index \(path)."
        case let .otherCheckpoint(path, built, given):
            return "\(path) was built from the biLM \(built), not \(given) (their CRC-32 differ); rebuild the index with --index and --save-index."
        }
    }

    public var errorDescription: String? { description }
}
