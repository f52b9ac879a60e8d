/// Failures reading or writing HDF5 files (embedding exports, AllenNLP weight files) that a user can
/// cause; each message names the file and dataset and says what to do.
public enum HDF5Error: Error, CustomStringConvertible, Equatable {
    /// No file at this path.
    case fileNotFound(String)
    /// The file exists but has no HDF5 signature.
    case notHDF5(path: String)
    /// The file has no dataset of this name.
    case missingDataset(path: String, name: String)
    /// The dataset holds another kind of data (e.g. integers where floats are expected).
    case wrongType(path: String, name: String, expected: String, found: String)
    /// An HDF5 call failed; `detail` is the library's own error stack, outermost cause first.
    case libraryFailure(path: String, operation: String, detail: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "No HDF5 file at '\(path)'. Check the path."
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
        }
    }
}
