// swift-tools-version:6.0
// libFuzzer targets for ELMoKit's readers (issue 15). Not part of the main package or of `.ci/test`:
// `bash Fuzz/run.sh SECONDS` builds them with -sanitize=fuzzer,address and runs each for a bounded time.
import PackageDescription

let targets = ["fuzz-text", "fuzz-tsv", "fuzz-csv", "fuzz-conll", "fuzz-conllu", "fuzz-slash", "fuzz-config", "fuzz-npz", "fuzz-npy",
               "fuzz-hdf5"]

let package = Package(
    name: "ElmoFuzz",
    dependencies: [.package(name: "ELMoKit", path: "..")],
    targets: [
        .target(name: "CFuzzer", path: "Sources/CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"], path: "Sources/FuzzSupport"),
    ] + targets.map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport", .product(name: "ElmoKit", package: "ELMoKit")],
                          path: "Sources/\(name)", swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    },
    swiftLanguageModes: [.v5]
)
