import Foundation
import ElmoKit
import FuzzSupport

/// bilm-tf weight files (HDF5) for a small fixed options set: reading must refuse bad files cleanly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzInput.file(data, size, name: "weights.hdf5")
    let options = try! BiLMOptions.decode(Data(FuzzOptions.json.utf8), source: "fuzz")
    _ = try? BilmTfWeights.importModel(options: options, weightsPath: path, vocabularySize: 10)
    if let reader = try? HDF5Reader(path: path) {
        for name in reader.datasetNames { _ = try? reader.floats(name) }
        reader.close()
    }
    return 0
}

enum FuzzOptions {
    static let json = """
    {"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
                  "max_characters_per_token": 10},
     "lstm": {"dim": 12, "projection_dim": 5, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
     "dropout": 0.1, "batch_size": 2, "unroll_steps": 4, "n_negative_samples_batch": 0, "all_clip_norm_val": 1}
    """
}

/// Entry point: SwiftPM links `main` to `<module>_main`.
@_cdecl("fuzz_hdf5_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
