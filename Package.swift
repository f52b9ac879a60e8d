// swift-tools-version:6.0
// ELMoKit: deep contextual word representations (ELMo-style biLM) in Swift.
// System libraries: apt-get install -y libopenblas-dev zlib1g-dev libhdf5-dev (the README commands do this);
// openmpi-bin only for data-parallel runs under mpirun (loaded at run time).
import PackageDescription

let package = Package(
    name: "ELMoKit",
    products: [
        // One library, one module to import: `import ElmoKit` re-exports the public API of the targets below.
        .library(name: "ElmoKit", targets: ["ElmoKit"]),
        .executable(name: "elmo", targets: ["elmo"]),
        .executable(name: "elmo-bench", targets: ["elmo-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV", from: "0.10.0"),
        // `elmo serve` only: the HTTP server, its logs and its Prometheus metrics (the library targets stay free of NIO).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // MARK: - Implementation details (system-library shims)
        .systemLibrary(name: "_CBLAS", path: "Sources/_CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "_CZlib", path: "Sources/_CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "_CHDF5", path: "Sources/_CHDF5", providers: [.apt(["libhdf5-dev"])]),
        // OpenMPI, loaded at run time (dlopen of libmpi.so.40): builds without mpi.h, runs without MPI installed.
        .target(name: "_CMPI", path: "Sources/_CMPI", linkerSettings: [.linkedLibrary("dl")]),
        // The packed-weight product whose rows do not depend on the batch (AVX-512 / AVX2 / portable, chosen at run time).
        .target(name: "_CKernels", path: "Sources/_CKernels"),

        // MARK: - Public API, in data-flow order
        // Infrastructure every stage may use: tensors, files (npy/npz/zip, run folders, metrics logs), progress and plots.
        .target(name: "ElmoTensor", dependencies: ["_CBLAS", "_CKernels"]),
        .target(name: "ElmoStorage", dependencies: ["ElmoTensor", "_CZlib"]),
        .target(name: "ElmoReporting", dependencies: ["ElmoStorage"]),
        // The data flow: text → layers → biLM (and its checkpoint) → embedder → task heads → metrics.
        .target(name: "ElmoText", dependencies: ["ElmoStorage", "_CZlib", .product(name: "SwiftCSV", package: "SwiftCSV")]),
        .target(name: "ElmoLayers", dependencies: ["ElmoTensor"]),
        .target(name: "ElmoOptim", dependencies: ["ElmoTensor"]),
        .target(name: "ElmoBiLM", dependencies: [
            "ElmoTensor", "ElmoStorage", "ElmoReporting", "ElmoText", "ElmoLayers", "ElmoOptim",
        ]),
        // Data-parallel pre-training under mpirun: the MPI gradient reducer.
        .target(name: "ElmoDistributed", dependencies: ["_CMPI", "ElmoTensor", "ElmoOptim"]),
        .target(name: "ElmoEmbeddings", dependencies: [
            "ElmoTensor", "ElmoStorage", "ElmoReporting", "ElmoText", "ElmoLayers", "ElmoBiLM", "_CHDF5",
        ]),
        .target(name: "ElmoMetrics", dependencies: ["ElmoText"]),
        .target(name: "ElmoTasks", dependencies: [
            "ElmoTensor", "ElmoStorage", "ElmoReporting", "ElmoText", "ElmoLayers", "ElmoOptim", "ElmoBiLM",
            "ElmoEmbeddings", "ElmoMetrics",
        ]),
        .target(name: "ElmoKit", dependencies: [
            "ElmoTensor", "ElmoStorage", "ElmoText", "ElmoLayers", "ElmoOptim", "ElmoBiLM", "ElmoEmbeddings",
            "ElmoTasks", "ElmoMetrics",
        ]),

        // MARK: - Serving (HTTP; the only targets that depend on NIO)
        .target(name: "ElmoServe", dependencies: [
            "ElmoTensor", "ElmoStorage", "ElmoText", "ElmoBiLM", "ElmoEmbeddings", "ElmoTasks",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        // MARK: - Executables
        .executableTarget(name: "elmo", dependencies: [
            "ElmoTensor", "ElmoStorage", "ElmoReporting", "ElmoText", "ElmoLayers", "ElmoBiLM", "ElmoEmbeddings",
            "ElmoTasks", "ElmoMetrics", "ElmoServe", "ElmoOptim", "ElmoDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "elmo-bench", dependencies: [
            "ElmoTensor", "ElmoText", "ElmoOptim", "ElmoBiLM",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: - Test support and unit test bundles
        .target(name: "_TestSupport", dependencies: ["ElmoTensor"], path: "Sources/_TestSupport"),
        .testTarget(name: "ElmoTensorTests", dependencies: ["ElmoTensor", "_CKernels", "_TestSupport"]),
        .testTarget(name: "ElmoStorageTests", dependencies: ["ElmoStorage", "ElmoTensor"]),
        .testTarget(name: "ElmoTextTests", dependencies: ["ElmoText", "ElmoStorage"]),
        .testTarget(name: "ElmoLayersTests", dependencies: ["ElmoLayers", "ElmoTensor", "_TestSupport"]),
        .testTarget(name: "ElmoOptimTests", dependencies: ["ElmoOptim", "ElmoTensor"]),
        .testTarget(name: "ElmoDistributedTests", dependencies: ["ElmoDistributed", "ElmoOptim", "ElmoTensor"]),
        .testTarget(name: "ElmoBiLMTests", dependencies: [
            "ElmoBiLM", "ElmoLayers", "ElmoOptim", "ElmoStorage", "ElmoTensor", "ElmoText", "_TestSupport",
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "ElmoEmbeddingsTests", dependencies: ["ElmoEmbeddings", "ElmoBiLM", "ElmoStorage", "ElmoTensor", "ElmoText", "_TestSupport"]),
        .testTarget(name: "ElmoTasksTests", dependencies: [
            "ElmoTasks", "ElmoBiLM", "ElmoLayers", "ElmoTensor", "ElmoText", "_TestSupport",
        ]),
        .testTarget(name: "ElmoMetricsTests", dependencies: ["ElmoMetrics", "ElmoText"]),
        .testTarget(name: "ElmoKitTests", dependencies: ["ElmoKit"]),
        .testTarget(name: "ElmoCLITests", dependencies: ["ElmoStorage"]),  // ElmoStorage: to read the .npz/.npy the binary writes
    ],
    // Swift 5 language mode: layers are reference types with explicit forward/backward caches that never
    // cross concurrency domains; strict-concurrency annotations would add noise without catching anything.
    swiftLanguageModes: [.v5]
)
