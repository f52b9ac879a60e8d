import Dispatch
import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import Foundation

/// `elmo-bench --input FILE`: `elmo embed`'s own code (`EmbeddingExporter`, the functions the command calls, with
/// its defaults: all layers, HDF5, batch 32) on a real text file, writing a real HDF5 file to a temporary folder,
/// with the time of each stage. In the same process: sgemm GFLOP/s at the model's shapes, and the synthetic
/// B × T embedding rate, so the end-to-end / synthetic ratio and the fraction of the sgemm bound come from one run.
struct EndToEndBench {
    let input: String
    let checkpoint: String?
    let config: (name: String, options: BiLMOptions, vocabularySize: Int)
    let threads: Int
    let batch: Int
    let unroll: Int
    let inferIters: Int
    let repeats: Int
    let tokenCache: Int
    let compareSerial: Bool
    let memoryTuning: Bool

    func run() throws {
        let embedder: ContextualEmbedder, modelName: String
        if let checkpoint {
            embedder = try ContextualEmbedder(checkpoint: checkpoint)
            modelName = checkpoint
        } else {
            var options = config.options
            options.batchSize = batch
            options.unrollSteps = unroll
            let model = BiLanguageModel(options: options, vocabularySize: config.vocabularySize, seed: 0)
            // The vocabulary only names softmax rows, which embedding does not use.
            embedder = ContextualEmbedder(model: model, vocabulary: try Vocabulary(words: [Vocabulary.bos, Vocabulary.eos, Vocabulary.unk]))
            modelName = "fresh \(config.name) (seed 0)"
        }
        let model = embedder.model
        let flops = EmbedFlops(options: model.options)
        let base: [String: Any] = ["model": modelName, "threads": threads, "params": model.parameterCount, "impl": "elmokit-swift",
                                   "blas_core": BLAS.coreName, "memory_tuning": memoryTuning, "input": input,
                                   "mflop_per_token": flops.perToken / 1e6, "token_cache": tokenCache]
        let bound = SgemmBound.measure(flops.products(batch: batch, steps: unroll))
        printJSON(base.merging(["measure": "sgemm"]) { $1 }.merging(bound.json) { $1 })

        // The synthetic rate before and after the file runs (best of 3 each): the load of a shared machine drifts,
        // and the summary divides by the better of the two.
        let words = BenchData.randomWords(count: config.vocabularySize, seed: 0)
        let frozen = TokenEncodingCache(encoder: FrozenTokenEncoder(model.encoder), capacity: 0)
        func measureSynthetic(_ when: String) -> Double {
            var best = 0.0
            for _ in 0..<3 {
                let rate = SyntheticEmbedding.measure(model: model, words: words, batch: batch, unroll: unroll, iterations: inferIters,
                                                      tokenEncodings: frozen)
                best = max(best, rate.tokensPerSecond)
            }
            printJSON(base.merging(["measure": "infer_embed", "when": when, "batch": batch, "unroll": unroll, "iters": inferIters,
                                    "best_of": 3, "tokens_per_s": best]) { $1 }
                .merging(bound.fractions(tokensPerSecond: best, flopsPerToken: flops.perToken)) { $1 })
            return best
        }
        let syntheticBefore = measureSynthetic("before")

        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("elmo-bench-e2e-\(getpid())")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let modes = compareSerial ? [true, false] : [true]
        var best: [Bool: Double] = [:]
        for repeatIndex in 0..<repeats {
            for overlapped in modes {
                let output = (folder as NSString).appendingPathComponent("vectors.hdf5")
                var settings = EmbedSettings(input: input, output: output)
                settings.batchSize = batch
                settings.overwrite = true
                // A fresh cache per run, as each `elmo embed` starts with.
                embedder.useTokenCache(capacity: tokenCache)
                let exporter = EmbeddingExporter(embedder: embedder, settings: settings)
                exporter.overlapsIO = overlapped
                let timings = EmbedTimings()
                exporter.timings = timings
                let summary = try exporter.run()
                let rate = Double(summary.tokens) / summary.seconds
                best[overlapped] = max(best[overlapped] ?? 0, rate)
                let size = ((try? FileManager.default.attributesOfItem(atPath: output)[.size]) as? NSNumber)?.intValue ?? 0
                printJSON(base.merging(["measure": "embed_e2e", "repeat": repeatIndex, "overlapped_io": overlapped,
                                        "sentences": summary.sentences, "tokens": summary.tokens, "seconds": summary.seconds,
                                        "tokens_per_s": rate, "stage_seconds": timings.dictionary, "output_bytes": size,
                                        "peak_rss_mib": peakRSSMiB()]) { $1 }
                    .merging(bound.fractions(tokensPerSecond: rate, flopsPerToken: flops.perToken)) { $1 })
            }
        }
        let e2ePeakRSS = peakRSSMiB()
        let synthetic = max(syntheticBefore, measureSynthetic("after"))

        var summary: [String: Any] = ["measure": "embed_e2e_summary", "repeats": repeats,
                                      "e2e_tokens_per_s": best[true]!, "synthetic_tokens_per_s": synthetic,
                                      "e2e_over_synthetic": best[true]! / synthetic, "peak_rss_mib_after_e2e": e2ePeakRSS]
        if let serial = best[false] {
            summary["serial_tokens_per_s"] = serial
            summary["serial_over_synthetic"] = serial / synthetic
            summary["overlapped_over_serial"] = best[true]! / serial
        }
        printJSON(base.merging(summary) { $1 })
    }
}
