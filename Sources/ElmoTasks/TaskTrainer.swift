import ElmoBiLM
import ElmoLayers
import ElmoOptim
import ElmoReporting
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation

/// Training settings shared by all task heads (stored in the task model's `task.json`).
public struct TaskTrainingSettings: Codable, Equatable {
    /// Passes over the training data at most.
    public var epochs = 10
    /// Stop after this many epochs without a better dev score.
    public var patience = 3
    /// Sentences per batch.
    public var batchSize = 32
    /// Padded tokens per batch at most (sentences × longest), as AllenNLP's `maximum_samples_per_batch`; nil: no budget.
    public var maxBatchTokens: Int?
    /// Adam's rate for the head (the top parameter group).
    public var learningRate: Float = 1e-3
    /// Global gradient-norm clip over the parameters being trained.
    public var clipNorm: Float = 5
    public var seed: UInt64 = 1
    /// `finetune`: each parameter group's rate is the next higher group's divided by this (ULMFiT's 2.6).
    public var discriminativeFactor: Float = 2.6
    /// `finetune`: train only the head in epoch 1, then unfreeze one more group from the top each epoch (ULMFiT).
    public var gradualUnfreezing = true
    /// Write a training record to `metrics.jsonl` every this many batches.
    public var logEvery = 20

    public init() {}
}

/// What a finished training run reports.
public struct TaskTrainingResult {
    /// 1-based epoch of the best dev score (whose parameters the model holds after `train`).
    public var bestEpoch: Int
    public var bestScore: TaskScore
    /// Dev scores of every epoch run, in order.
    public var history: [TaskScore]
    public var epochsRun: Int
    public var seconds: Double
    public var stoppedEarly: Bool
}

/// The training loop shared by the task heads: Adam with global-norm clipping; each epoch shuffles the training
/// sentences with the seed, groups them into batches of similar length (bucketing: less padding) and visits the
/// batches in random order; after each epoch the dev score decides early stopping (patience) and the best
/// parameters are kept (in memory, and through `saveBest` on disk). Progress line on stderr, `metrics.jsonl` and
/// `learning-curve.svg` in the run folder.
///
/// Parameter groups, bottom first: the features' groups (none when frozen), then the head (with the features'
/// task encoder, which starts from scratch like the head). In `finetune` mode,
/// group l of G gets the rate `learningRate / factor^(G − 1 − l)` (discriminative fine-tuning) and, with gradual
/// unfreezing, only the top e groups are trained in epoch e (1-based), so the head settles before the biLM moves.
public final class TaskTrainer<Head: TaskHead> {
    public let head: Head
    public let features: TaskFeatures
    public let settings: TaskTrainingSettings
    private let run: RunFolder?
    private let saveBest: ((String) throws -> Void)?
    /// Called with each record also written to `metrics.jsonl` (tests and the CLI may observe).
    public var onRecord: (([String: Any]) -> Void)?
    /// Progress on stderr (nil: silent).
    public var progress: ProgressLine?

    /// - Parameters:
    ///   - run: where `metrics.jsonl`, the plot and `best.npz` go (nil: nothing is written).
    ///   - saveBest: writes the current model to the path given (called with `run.bestPath` when the dev score improves).
    public init(head: Head, features: TaskFeatures, settings: TaskTrainingSettings, run: RunFolder?,
                saveBest: ((String) throws -> Void)?) {
        precondition(settings.epochs >= 1 && settings.batchSize >= 1 && settings.patience >= 1 && settings.learningRate > 0,
                     "TaskTrainer needs epochs, batchSize, patience >= 1 and learningRate > 0, but they are \(settings.epochs), "
                        + "\(settings.batchSize), \(settings.patience), \(settings.learningRate).")
        self.head = head
        self.features = features
        self.settings = settings
        self.run = run
        self.saveBest = saveBest
    }

    /// Parameter groups, bottom first (features, then the head together with the features' task encoder).
    public var parameterGroups: [[Parameter]] { features.parameterGroups + [features.taskParameters + head.parameters] }

    /// Learning-rate scale per group: discriminative in `finetune` mode, 1 otherwise.
    public var rateScales: [Float] {
        let count = parameterGroups.count
        return features.mode == .finetune ? discriminativeScales(layerCount: count, factor: settings.discriminativeFactor)
            : Array(repeating: 1, count: count)
    }

    /// Groups trained in 1-based `epoch`: with gradual unfreezing in `finetune` mode the top `epoch` ones, else all.
    public func trainedGroups(epoch: Int) -> Range<Int> {
        let count = parameterGroups.count
        guard features.mode == .finetune && settings.gradualUnfreezing else { return 0..<count }
        return max(0, count - epoch)..<count
    }

    /// Trains on `train`, scores on `dev` after every epoch, and leaves the model holding the best epoch's parameters.
    public func train(train: [Head.Example], dev: [Head.Example]) throws -> TaskTrainingResult {
        precondition(!train.isEmpty && !dev.isEmpty, "TaskTrainer needs training and dev examples (\(train.count), \(dev.count)).")
        let trainSentences = TaskFeatures.Sentences(train.map(head.tokens(of:)))
        let devSentences = TaskFeatures.Sentences(dev.map(head.tokens(of:)))
        let metrics = run.map { MetricsLog(path: $0.metricsPath, truncate: true) }
        let optimizer = Adam(learningRate: settings.learningRate)
        let groups = parameterGroups, scales = rateScales
        let allParameters = groups.flatMap { $0 }
        var rng = RandomGenerator(seed: settings.seed)
        let started = Date()
        var history: [TaskScore] = []
        var best: (epoch: Int, score: TaskScore, values: [Tensor])?
        var step = 0, stoppedEarly = false
        // Ties in length are shuffled each epoch, but the sorted lengths, and so the cut, are the same every time.
        let batchesPerEpoch = LengthBuckets.batches(lengths: trainSentences.tokens.map(\.count), batchSize: settings.batchSize,
                                                    maxTokens: settings.maxBatchTokens).count

        func record(_ fields: [String: Any]) {
            metrics?.append(fields)
            onRecord?(fields)
        }
        // Until training ends normally the folder says its best.npz may be partial (a kill -9 cannot clean up).
        try run?.markIncomplete("fine-tuning started but has not finished; best.npz, if present, is the best epoch so far")

        for epoch in 1...settings.epochs {
            let trained = trainedGroups(epoch: epoch)
            let trainedParameters = trained.flatMap { groups[$0] }
            let featuresTrained = trained.lowerBound < features.parameterGroups.count
            var lossSum = 0.0, lossCount = 0, recentLoss = 0.0, recentCount = 0
            let batches = Self.batches(lengths: trainSentences.tokens.map(\.count), batchSize: settings.batchSize,
                                       maxTokens: settings.maxBatchTokens, rng: &rng)
            for (k, indices) in batches.enumerated() {
                for p in allParameters { p.zeroGradient() }
                let batch = features.batch(trainSentences, indices: indices, training: true, rng: &rng)
                let result = head.trainStep(batch, examples: indices.map { train[$0] }, rng: &rng)
                if featuresTrained || features.taskEncoder != nil {
                    features.backward(result.dLayers, batch: batch, intoBiLM: featuresTrained)
                }
                let norm = GradientClipping.clipGlobalNorm(trainedParameters, maxNorm: settings.clipNorm)
                if norm.isFinite {
                    for g in trained { optimizer.step(groups[g], learningRateScale: scales[g]) }
                }
                step += 1
                lossSum += result.lossSum
                lossCount += result.count
                recentLoss += result.lossSum
                recentCount += result.count
                let elapsed = Date().timeIntervalSince(started)
                let done = Double((epoch - 1) * batchesPerEpoch + k + 1), total = Double(settings.epochs * batchesPerEpoch)
                progress?.update(String(format: "epoch %d/%d  batch %d/%d  loss %.4f  dev %@ %@  %.1f batches/s  ETA %@",
                                        epoch, settings.epochs, k + 1, batches.count, result.lossSum / Double(max(result.count, 1)),
                                        history.last?.primaryName ?? "", history.last.map { String(format: "%.4f", $0.primary) } ?? "-",
                                        done / max(elapsed, 1e-9), ProgressLine.duration(elapsed / done * (total - done))))
                if step % settings.logEvery == 0 {
                    record(["kind": "train", "step": step, "epoch": epoch, "train_loss": recentLoss / Double(max(recentCount, 1)),
                            "grad_norm": norm, "elapsed_s": elapsed])
                    recentLoss = 0
                    recentCount = 0
                }
                if let signal = StopSignal.requested {
                    progress?.finish()
                    throw try stopped(by: signal, epoch: epoch, batch: k + 1, batches: batches.count, best: best.map { ($0.epoch, $0.score) })
                }
            }
            let score = head.score(head.predictAll(devSentences, features: features, batchSize: settings.batchSize,
                                                         maxBatchTokens: settings.maxBatchTokens), examples: dev)
            history.append(score)
            var fields: [String: Any] = ["kind": "dev", "step": step, "epoch": epoch,
                                         "train_loss": lossSum / Double(max(lossCount, 1)),
                                         "elapsed_s": Date().timeIntervalSince(started)]
            for (name, value) in score.values { fields["dev_\(name)"] = value }
            record(fields)
            if best.map({ score.primary > $0.score.primary }) ?? true {
                best = (epoch, score, allParameters.map(\.value))
                if let run, let saveBest { try saveBest(run.bestPath) }
            } else if let best, epoch - best.epoch >= settings.patience {
                stoppedEarly = epoch < settings.epochs
                break
            }
        }
        let kept = best!
        progress?.update(String(format: "done: %d of %d epochs  best epoch %d  dev %@ %.4f  %.0fs", history.count, settings.epochs,
                                kept.epoch, kept.score.primaryName, kept.score.primary, Date().timeIntervalSince(started)), force: true)
        progress?.finish()
        for (parameter, value) in zip(allParameters, kept.values) { parameter.value = value }
        if let run {
            try writePlot(run)
            run.markComplete()
        }
        return TaskTrainingResult(bestEpoch: kept.epoch, bestScore: kept.score, history: history, epochsRun: history.count,
                                  seconds: Date().timeIntervalSince(started), stoppedEarly: stoppedEarly)
    }

    /// What a stop signal leaves: the best epoch's best.npz (or, before any epoch ended, the current model), the
    /// folder still marked incomplete, and a message saying so.
    private func stopped(by signal: Int32, epoch: Int, batch: Int, batches: Int, best: (epoch: Int, score: TaskScore)?) throws -> StopSignal.Stopped {
        guard let run, let saveBest else {
            return StopSignal.Stopped(signal: signal, message: "stopped in epoch \(epoch), batch \(batch) of \(batches); nothing was saved.")
        }
        let kept: String
        if let best {
            kept = String(format: "its best.npz is epoch %d's model (dev %@ %.4f)", best.epoch, best.score.primaryName, best.score.primary)
        } else {
            try saveBest(run.bestPath)
            kept = "its best.npz is the model after batch \(batch) of epoch 1, before any dev score"
        }
        try run.markIncomplete("stopped by signal \(signal) in epoch \(epoch) of \(settings.epochs), batch \(batch) of \(batches); \(kept)")
        return StopSignal.Stopped(signal: signal, message: "stopped in epoch \(epoch) of \(settings.epochs) (batch \(batch) of \(batches)); "
            + "\(run.path) is marked incomplete (\(RunFolder.incompleteMarker)); \(kept). Fine-tuning cannot be resumed: run the "
            + "command again with another --output to train fully.")
    }

    /// Batches of similar length in random order: shuffle, stable sort by length (ties stay shuffled), cut into
    /// batches (at most `batchSize` sentences and `maxTokens` padded tokens), shuffle the batches. Every index
    /// appears exactly once.
    public static func batches(lengths: [Int], batchSize: Int, maxTokens: Int? = nil, rng: inout RandomGenerator) -> [[Int]] {
        var order = Array(lengths.indices)
        shuffle(&order, rng: &rng)
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        order.sort { (lengths[$0], position[$0]!) < (lengths[$1], position[$1]!) }
        var batches = LengthBuckets.cut(order, lengths: lengths, batchSize: batchSize, maxTokens: maxTokens)
        shuffle(&batches, rng: &rng)
        return batches
    }

    /// Fisher–Yates with our generator (Swift's `shuffle(using:)` does not promise the same order across versions).
    static func shuffle<T>(_ items: inout [T], rng: inout RandomGenerator) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, rng.nextInt(below: i + 1)) }
    }

    /// Train loss and the dev metrics against steps.
    private func writePlot(_ run: RunFolder) throws {
        let records = MetricsLog.read(path: run.metricsPath)
        func series(_ kind: String, _ key: String) -> LearningCurvePlot.Series {
            LearningCurvePlot.Series(name: key.replacingOccurrences(of: "_", with: " "),
                                     points: LearningCurvePlot.points(records, kind: kind, x: "step", y: key))
        }
        let devKeys = Set(records.filter { ($0["kind"] as? String) == "dev" }.flatMap { $0.keys.filter { $0.hasPrefix("dev_") } }).sorted()
        try LearningCurvePlot.write([series("train", "train_loss")] + devKeys.map { series("dev", $0) }, xLabel: "step",
                                    title: "task fine-tuning (\(features.mode.rawValue))", to: run.plotPath)
    }
}
