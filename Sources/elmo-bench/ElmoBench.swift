import ArgumentParser
import ElmoBiLM
import ElmoOptim
import ElmoTensor
import ElmoText
import Foundation

/// Benchmarks as JSON lines, in the format of the PyTorch reference benchmark we compare against: training
/// tokens/s (batch 32 × 20, each token counted once), embedding tokens/s (char CNN + both stacks, no softmax) for
/// 32 × 20 and 1 × 20, and peak RSS. It first checks the fast paths against plain references, then times.
/// With `--input`, it runs `elmo embed`'s own code on that file instead (see `EndToEndBench`).
@main
struct ElmoBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "elmo-bench",
                                                    abstract: "Time biLM training and embedding; prints one JSON line per measurement.")

    @Option(help: "End-to-end mode: embed this text file (one sentence per line) with `elmo embed`'s code, writing HDF5 to a temporary folder.")
    var input: String?

    @Option(help: "End-to-end mode: a checkpoint file or run folder (default: a fresh model of --config, seed 0).")
    var checkpoint: String?

    @Option(help: "End-to-end mode: timed runs over the file (the best is reported).")
    var repeats: Int = 3

    @Option(help: "End-to-end mode: word types whose token encodings are kept across batches, as `elmo embed --token-cache` (0: none).")
    var tokenCache: Int = TokenEncodingCache.defaultCapacity

    @Flag(help: "End-to-end mode: also time the serial path (reading, computing and writing one after the other) in each repeat.")
    var compareSerial = false

    @Flag(help: "Leave glibc's allocator settings alone (measures what MemoryTuning, which every elmo command applies, is worth).")
    var noMemoryTuning = false

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

    func validate() throws {
        if input == nil && (checkpoint != nil || compareSerial) { throw ValidationError("--checkpoint and --compare-serial belong to --input.") }
        if tokenCache < 0 { throw ValidationError("--token-cache must be >= 0, but is \(tokenCache).") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, not \(repeats).") }
    }

    func run() throws {
        if !noMemoryTuning { MemoryTuning.keepFreedMemory() }
        BLAS.setThreads(threads)
        if let input {
            try EndToEndBench(input: input, checkpoint: checkpoint, config: try resolveConfig(), threads: threads, batch: batch,
                              unroll: unroll, inferIters: inferIters, repeats: repeats, tokenCache: tokenCache, compareSerial: compareSerial,
                              memoryTuning: !noMemoryTuning).run()
            return
        }
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
            let rate = SyntheticEmbedding.measure(model: model, words: words, batch: size, unroll: unroll, iterations: iterations,
                                                  tokenEncodings: tokenEncodings)
            printJSON(base.merging(["measure": "infer_embed", "batch": size, "unroll": unroll, "iters": iterations,
                                    "ms_per_call": rate.secondsPerCall * 1000, "tokens_per_s": rate.tokensPerSecond,
                                    "out_shape": rate.outputShape, "peak_rss_mib": peakRSSMiB()]) { $1 })
        }
    }

    func resolveConfig() throws -> (String, BiLMOptions, Int) {
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
