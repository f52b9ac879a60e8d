import ArgumentParser
import ElmoBiLM
import ElmoOptim
import ElmoTensor
import ElmoText
import Foundation

/// Benchmarks as JSON lines, in the format of the PyTorch reference benchmark we compare against: training
/// tokens/s (batch 32 × 20, each token counted once), embedding tokens/s (char CNN + both stacks, no softmax) for
/// 32 × 20 and 1 × 20, and peak RSS. It first checks the fast paths against plain references, then times.
@main
struct ElmoBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "elmo-bench",
                                                    abstract: "Time biLM training and embedding; prints one JSON line per measurement.")

    @Option(help: "ref-tiny, ref-small, or a path to an options JSON.")
    var config: String = "ref-small"

    @Option(help: "Threads (split matrix products and the two LM directions).")
    var threads: Int = 2

    @Option(help: "Timed training steps (after warm-up).")
    var steps: Int = 20

    @Option(help: "Warm-up steps.")
    var warmup: Int = 3

    @Option(help: "Timed embedding calls per batch size (×5 for batch 1).")
    var inferIters: Int = 20

    @Option(help: "Batch size.")
    var batch: Int = 32

    @Option(help: "Unroll steps.")
    var unroll: Int = 20

    func run() throws {
        MemoryTuning.keepFreedMemory()
        BLAS.setThreads(threads)
        let (name, options, vocabularySize) = try resolveConfig()
        var opts = options
        opts.batchSize = batch
        opts.unrollSteps = unroll
        let model = BiLanguageModel(options: opts, vocabularySize: vocabularySize, seed: 0)
        let words = BenchData.randomWords(count: vocabularySize, seed: 0)

        try ReferenceChecks.run(model: model, words: words)
        FileHandle.standardError.write(Data("All fast paths match their references. Starting benchmarks (OpenBLAS \(BLAS.coreName), \(BLAS.config); packed products \(packedGemmInstructionSet)).\n".utf8))

        let base: [String: Any] = ["config": name, "threads": threads, "params": model.parameterCount,
                                   "impl": "elmokit-swift", "blas_core": BLAS.coreName,
                                   "packed_isa": packedGemmInstructionSet]
        // Training.
        let optimizer = Adagrad(learningRate: 0.2, initialAccumulatorValue: 1.0)
        var rng = RandomGenerator(seed: 1)
        var states = model.zeroStates(batch: batch)
        let parameters = model.parameters
        var losses: [Double] = []
        var start = Date()
        for step in 0..<(warmup + steps) {
            if step == warmup { start = Date() }
            let b = BenchData.batch(words: words, batch: batch, unroll: unroll, maxCharacters: model.maxCharacters,
                                    vocabularySize: vocabularySize, seed: UInt64(step))
            model.zeroGradients()
            losses.append(model.trainStep(b, states: &states, rng: &rng))
            GradientClipping.clipGlobalNorm(parameters, maxNorm: opts.clipNorm)
            optimizer.step(parameters)
        }
        let trainSeconds = Date().timeIntervalSince(start)
        let trainRate = Double(batch * unroll * steps) / trainSeconds
        printJSON(base.merging(["measure": "train", "batch": batch, "unroll": unroll, "steps": steps, "warmup": warmup,
                                "sec_per_step": trainSeconds / Double(steps), "tokens_per_s": trainRate,
                                "loss_first": losses.first!, "loss_last": losses.last!,
                                "ln_vocab": log(Double(vocabularySize)), "peak_rss_mib": peakRSSMiB()]) { $1 })

        // Embedding path: the token encoder as `elmo embed` runs it (frozen, packed weights), without a cache, since
        // the same batch repeats here and a cache would only measure lookups.
        let tokenEncodings = TokenEncodingCache(encoder: FrozenTokenEncoder(model.encoder), capacity: 0)
        for (size, iterations) in [(batch, inferIters), (1, inferIters * 5)] {
            let b = BenchData.batch(words: words, batch: size, unroll: unroll, maxCharacters: model.maxCharacters,
                                    vocabularySize: vocabularySize, seed: 99)
            let lengths = Array(repeating: unroll, count: size)
            for _ in 0..<3 {
                _ = model.layerOutputs(characters: b.forwardCharacters, batchSize: size, steps: unroll, lengths: lengths,
                                       tokenEncodings: tokenEncodings)
            }
            start = Date()
            var shape: [Int] = []
            for _ in 0..<iterations {
                let layers = model.layerOutputs(characters: b.forwardCharacters, batchSize: size, steps: unroll, lengths: lengths,
                                                tokenEncodings: tokenEncodings)
                shape = [layers.count] + layers[0].shape
            }
            let seconds = Date().timeIntervalSince(start)
            printJSON(base.merging(["measure": "infer_embed", "batch": size, "unroll": unroll, "iters": iterations,
                                    "ms_per_call": seconds / Double(iterations) * 1000,
                                    "tokens_per_s": Double(size * unroll * iterations) / seconds,
                                    "out_shape": shape, "peak_rss_mib": peakRSSMiB()]) { $1 })
        }
    }

    private func resolveConfig() throws -> (String, BiLMOptions, Int) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        switch config {
        case "ref-tiny": return ("ref-tiny", try BiLMOptions.load(path: root.appendingPathComponent("Pretrain/tiny.json").path), 5000)
        case "ref-small": return ("ref-small", try BiLMOptions.load(path: root.appendingPathComponent("Pretrain/small.json").path), 10000)
        default: return (config, try BiLMOptions.load(path: config), 10000)
        }
    }
}

func printJSON(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
        fflush(stdout)
    }
}

/// Peak resident set size of this process in MiB (ru_maxrss is in KiB on Linux).
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
