import ElmoLayers
import ElmoOptim
import ElmoReporting
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation

/// What `elmo pretrain` was asked to do.
public struct PretrainSettings {
    public var options: BiLMOptions
    public var trainPatterns: [String]
    public var validFile: String?
    /// A bilm-tf vocabulary file; built from the training files when nil.
    public var vocabularyFile: String?
    public var maxVocabularySize: Int?
    public var outputFolder: String
    public var epochs: Int?
    public var maxTokens: Int?
    public var seed: UInt64 = 1
    public var threads: Int = 1
    public var checkpointEvery: Int = 500
    public var validateEvery: Int = 500
    public var logEvery: Int = 50
    public var keepLast: Int = 3
    public var resume: Bool = false
    public var shuffleShards: Bool = true
    /// `--init-from`: a checkpoint or run folder whose weights start this new run (`InitFrom`).
    public var initFrom: String?
    /// `--vocab-mode` with `initFrom`; nil chooses `extend` when the text has new words, else `keep`.
    public var vocabularyMode: VocabularyMode?
    /// How softmax rows of words new to an `initFrom` model start.
    public var newRowInitialisation: NewRowInitialisation = .charCNN
    /// Combines the ranks' gradients between backward and clipping (data-parallel training under `mpirun`); this
    /// process trains rows `rank·B/N ..< (rank+1)·B/N` of each global batch of B rows.
    public var reducer: GradientReducer = SingleProcessReducer()
    /// The program's version (and build), one of the things data-parallel ranks must agree on.
    public var programVersion: String?
    /// With an overlapping reducer (MPI), send each bucket of gradients as soon as backward finishes it (true) or all
    /// of them after backward (false; the sums are the same). nil: overlap when the ranks span several hosts, not
    /// when they all share this one (`OverlappingGradientReducer.allRanksOnOneHost`).
    public var overlapCommunication: Bool?

    public init(options: BiLMOptions, trainPatterns: [String], outputFolder: String) {
        self.options = options
        self.trainPatterns = trainPatterns
        self.outputFolder = outputFolder
    }
}

/// The pre-training loop: truncated BPTT over the reference's B contiguous streams, LSTM states carried across
/// steps and reset at each epoch start, global-norm clipping, the optimizer of the options, validation
/// perplexity every N steps and at the end, checkpoints every N steps and at the end; exact resume.
public final class Pretrainer {
    public let settings: PretrainSettings
    public private(set) var model: BiLanguageModel
    public private(set) var vocabulary: Vocabulary
    public private(set) var trainer: TrainerState
    private let optimizer: Optimizer
    /// This rank's rows of the carried LSTM states.
    private var states: BiLanguageModel.States
    /// This rank's rows of the global batch (all B rows for one process).
    private let rows: Range<Int>
    private let run: RunFolder
    private let corpus: Corpus
    private let metrics: MetricsLog
    /// Called with each progress/validation record (tests and the CLI may observe).
    public var onRecord: (([String: Any]) -> Void)?
    /// What `--init-from` did (vocabulary mode, new rows), also written to stderr.
    public private(set) var initNotes: [String] = []

    public init(settings: PretrainSettings) throws {
        self.settings = settings
        BLAS.setThreads(settings.threads)
        let reducer = settings.reducer
        // Refused before anything is written; the rows themselves follow from the model's batch size (on resume, the
        // checkpoint's) below.
        _ = try TokenStreams.rows(rank: reducer.rank, of: reducer.worldSize, batchSize: settings.options.batchSize)
        corpus = try Pretrainer.agreeAcrossRanks(settings)
        run = try RunFolder(path: settings.outputFolder, keepLast: settings.keepLast)
        run.removeAbandonedTemporaryFiles()
        let hasRun = FileManager.default.fileExists(atPath: run.file("latest"))
        if settings.resume {
            let contents = try Pretrainer.checkpointToResume(run: run, hasRun: hasRun, reducer: reducer, folder: settings.outputFolder)
            try contents.requireSoftmax(for: "continued pre-training (--resume)")
            model = contents.model
            vocabulary = contents.vocabulary
            trainer = contents.trainer
            optimizer = try Pretrainer.makeOptimizer(options: contents.model.options)
            optimizer.learningRate = trainer.learningRate
            try optimizer.loadState(tensors: contents.optimizerTensors, scalars: trainer.optimizerScalars,
                                    parameters: contents.model.parameters)
            // The checkpoint's options win over --config on resume; say so when they differ, and warn when the thread
            // count differs (gemm results, and so the weights, are bitwise reproducible only at equal thread counts).
            try ResumeCheck.requireSameRun(checkpoint: contents.trainer, seed: settings.seed, trainFiles: corpus.files,
                                           folder: settings.outputFolder)
            let changed = ResumeCheck.changedKeys(stored: contents.model.options,
                                                  given: settings.options.withVocabularySize(contents.model.options.vocabularySize))
            if !changed.isEmpty {
                Pretrainer.warn("--resume: using the options stored in the checkpoint; --config differs in \(changed.joined(separator: ", ")) (checkpoint -> --config).")
            }
            if trainer.threads != settings.threads {
                Pretrainer.warn("--resume: the run used \(trainer.threads) threads, this one \(settings.threads); the result will be close to, but not bitwise equal to, an uninterrupted run.")
            }
            // The checkpoint holds all B rows' states (as one process has them); this rank continues its own.
            let ownRows = try TokenStreams.rows(rank: reducer.rank, of: reducer.worldSize, batchSize: contents.model.options.batchSize)
            rows = ownRows
            states = try contents.states.map {
                try Pretrainer.slice(ownRows, of: $0, batchSize: contents.model.options.batchSize, path: contents.path)
            } ?? contents.model.zeroStates(batch: ownRows.count)
            metrics = MetricsLog(path: run.metricsPath, truncate: false, keepingStepsUpTo: trainer.step)
        } else {
            guard !hasRun else { throw BiLMError.runFolderNotEmpty(settings.outputFolder) }
            try run.requirePretrainFolder()
            var start: InitFrom?
            if let source = settings.initFrom {
                let from = try InitFrom(source: source, options: settings.options, trainFiles: corpus.files,
                                        mode: settings.vocabularyMode, maxVocabularySize: settings.maxVocabularySize,
                                        vocabularyFile: settings.vocabularyFile, newRows: settings.newRowInitialisation,
                                        seed: settings.seed)
                vocabulary = from.vocabulary
                model = from.model
                initNotes = from.notes
                for note in from.notes { FileHandle.standardError.write(Data((note + "\n").utf8)) }
                start = from
            } else {
                if let file = settings.vocabularyFile {
                    var vocab = try Vocabulary(contentsOf: file)
                    if let max = settings.maxVocabularySize, max < vocab.count { vocab = try Vocabulary(words: Array(vocab.words.prefix(max))) }
                    vocabulary = vocab
                } else {
                    vocabulary = try Vocabulary.build(files: corpus.files, maxSize: settings.maxVocabularySize)
                }
                model = BiLanguageModel(options: settings.options, vocabularySize: vocabulary.count, seed: settings.seed)
            }
            // Our own atomic writes, so a run killed here leaves a temporary file that `--resume` recognises and removes.
            try RunFolder.writeAtomically(Data(vocabulary.fileText.utf8), to: run.file("vocab.txt"))
            optimizer = try Pretrainer.makeOptimizer(options: settings.options)
            var state = TrainerState()
            state.initFrom = start?.path
            state.initFromCRC32 = start?.crc32
            state.seed = settings.seed
            state.threads = settings.threads
            state.trainFiles = corpus.files
            state.shuffleShards = settings.shuffleShards
            trainer = state
            rows = try TokenStreams.rows(rank: reducer.rank, of: reducer.worldSize, batchSize: model.options.batchSize)
            states = model.zeroStates(batch: rows.count)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try RunFolder.writeAtomically(try encoder.encode(model.options), to: run.file("options.json"))
            metrics = MetricsLog(path: run.metricsPath, truncate: true)
        }
    }

    /// The training files, once every rank has them with the same bytes and the same options (`RunFingerprint`);
    /// before anything is written. A rank that cannot read its inputs tells the others instead of leaving them
    /// waiting, and throws its own error.
    private static func agreeAcrossRanks(_ settings: PretrainSettings) throws -> Corpus {
        var corpus: Corpus?
        var report: RankReport
        var localError: Error?
        do {
            let found = try Corpus(patterns: settings.trainPatterns)
            corpus = found
            report = RankReport(items: try RunFingerprint.items(settings: settings, corpus: found))
        } catch {
            localError = error
            report = RankReport(items: [], failure: "\(error)")
        }
        try settings.reducer.requireAgreement(report)
        if let localError { throw localError }
        return corpus!
    }

    /// The checkpoint to resume: rank 0 reads its run folder's latest one and, with several ranks, sends the file's
    /// bytes to the others (so the hosts need not share a file system), which load them from a file of their own.
    private static func checkpointToResume(run: RunFolder, hasRun: Bool, reducer: GradientReducer,
                                           folder: String) throws -> BiLMCheckpoint.Contents {
        func latest() throws -> String {
            guard hasRun else { throw BiLMError.nothingToResume(folder) }
            return try BiLMCheckpoint.latestCheckpoint(inRunFolder: folder)
        }
        guard reducer.worldSize > 1 else { return try BiLMCheckpoint.load(try latest()) }
        var bytes: [UInt8] = [], failure: Error?
        if reducer.rank == 0 {
            do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try latest()))) } catch { failure = error }
        }
        // Every rank takes part in the broadcast, even when rank 0 failed (it sends nothing), so none waits for ever.
        let received = try reducer.broadcastFromRankZero(bytes)
        if let failure { throw failure }
        guard !received.isEmpty else { throw BiLMError.resumeCheckpointNotReceived(rank: reducer.rank) }
        if reducer.rank == 0 { return try BiLMCheckpoint.load(try latest()) }
        let copy = run.file("resumed-from-rank-0.npz")
        try Data(received).write(to: URL(fileURLWithPath: copy))
        defer { try? FileManager.default.removeItem(atPath: copy) }
        return try BiLMCheckpoint.load(copy)
    }

    /// Rows `range` of a checkpoint's states of all `batchSize` rows.
    private static func slice(_ range: Range<Int>, of states: BiLanguageModel.States, batchSize: Int,
                             path: String) throws -> BiLanguageModel.States {
        func part(_ list: [LSTMWithProjection.State]) throws -> [LSTMWithProjection.State] {
            try list.map { state in
                for t in [state.h, state.c] where t.shape.first != batchSize {
                    throw BiLMError.checkpointStatesMismatch(path: path, rows: t.shape.first ?? 0, batchSize: batchSize)
                }
                return LSTMWithProjection.State(h: state.h.rows(range), c: state.c.rows(range))
            }
        }
        return BiLanguageModel.States(forward: try part(states.forward), backward: try part(states.backward))
    }

    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// The optimizer the options name; Adagrad gets bilm-tf's initial accumulator (1.0 unless set).
    static func makeOptimizer(options: BiLMOptions) throws -> Optimizer {
        let name = (options.optimizer ?? .adagrad).rawValue
        if name == "adagrad" {
            return Adagrad(learningRate: options.learningRate ?? 0.2,
                           initialAccumulatorValue: options.initialAccumulatorValue ?? 1.0)
        }
        return try ElmoOptim.makeOptimizer(name: name, learningRate: options.learningRate)
    }

    private var batchSize: Int { model.options.batchSize }
    private var unroll: Int { model.options.unrollSteps }

    private func finished() -> Bool {
        if let max = settings.maxTokens, trainer.tokensTrained >= max { return true }
        if let epochs = settings.epochs, trainer.epoch >= epochs { return true }
        return false
    }

    /// Trains until `--epochs` or `--max-tokens` is reached; returns the final validation perplexities (if a valid file was given).
    @discardableResult
    public func train() throws -> Perplexities? {
        let scratch = run.file(".streams")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let validStreams = try settings.validFile.map {
            try PerplexityEvaluator.streams(file: $0, vocabulary: vocabulary, model: model, scratchDirectory: scratch)
        }
        let progress = ProgressLine(every: settings.logEvery)
        let parameters = model.parameters
        let gradients = GradientBuffer(buckets: model.gradientBuckets)
        let overlapping = (settings.reducer as? OverlappingGradientReducer).flatMap { reducer in
            (settings.overlapCommunication ?? !reducer.allRanksOnOneHost) ? reducer : nil
        }
        let started = Date()
        let tokensAtStart = trainer.tokensTrained
        var recentLoss = 0.0, recentSteps = 0
        var clock = StepClock()
        var lastValid: Perplexities?
        var validatedStep: Int?
        try run.markIncomplete("pre-training has not finished; continue it with `elmo pretrain ... --resume`")

        func validateAndCheckpoint(final: Bool) throws {
            if let validStreams {
                let ppl = try PerplexityEvaluator.evaluate(model: model, streams: validStreams)
                lastValid = ppl
                validatedStep = trainer.step
                trainer.lastValidPerplexity = ppl.mean
                let isBest = trainer.bestValidPerplexity.map { ppl.mean < $0 } ?? true
                if isBest { trainer.bestValidPerplexity = ppl.mean }
                let record: [String: Any] = ["kind": "valid", "step": trainer.step, "tokens": trainer.tokensTrained,
                                             "valid_ppl_fwd": ppl.forward, "valid_ppl_bwd": ppl.backward, "valid_ppl_mean": ppl.mean]
                metrics.append(record)
                onRecord?(record)
                try checkpoint(isBest: isBest)
            } else {
                try checkpoint(isBest: final)
            }
        }

        while !finished() {
            let streams = try TokenStreams(files: corpus.shardOrder(epoch: trainer.epoch, seed: trainer.seed, shuffle: trainer.shuffleShards),
                                           vocabulary: vocabulary, batchSize: batchSize, unroll: unroll,
                                           maxCharacters: model.maxCharacters, scratchDirectory: scratch)
            guard streams.rowLength >= 2 else {
                throw BiLMError.corpusTooSmall(pairs: streams.pairCount, batchSize: batchSize, unroll: unroll)
            }
            if trainer.stepInEpoch == 0 { states = model.zeroStates(batch: rows.count) }
            while trainer.stepInEpoch < streams.stepCount && !finished() {
                clock.start()
                let batch = try streams.batch(step: trainer.stepInEpoch, rows: rows)
                model.zeroGradients()
                // Masks and negatives keyed by the step and global rows: the same draws however many ranks there are.
                let draws = BiLMPass.KeyedDraws(seed: trainer.seed, step: trainer.step, firstRow: rows.lowerBound)
                // Both directions predict every position of this rank's rows.
                let targetCount = 2 * batch.batchSize * batch.steps
                let reduced: ReducedStep
                if let overlapping {
                    // Communication then counts only what backward did not hide.
                    _ = model.trainStep(batch, states: &states, draws: draws,
                                        afterForward: {
                                            overlapping.startStep(gradients, loss: $0, targetCount: targetCount,
                                                                  stopRequested: StopSignal.requested != nil)
                                        },
                                        gradientsFinal: { overlapping.bucketFinal($0) })
                    clock.lap(communication: false)
                    reduced = try overlapping.finishStep()
                } else {
                    let localLoss = model.trainStep(batch, states: &states, draws: draws)
                    clock.lap(communication: false)
                    reduced = try settings.reducer.reduce(gradients, loss: localLoss, targetCount: targetCount,
                                                          stopRequested: StopSignal.requested != nil)
                }
                clock.lap(communication: true)
                let loss = reduced.loss
                guard loss.isFinite else { throw BiLMError.diverged(step: trainer.step, loss: loss) }
                GradientClipping.clipGlobalNorm(parameters, maxNorm: model.options.clipNorm)
                optimizer.step(parameters)
                clock.lap(communication: false)
                clock.stop()
                trainer.step += 1
                trainer.stepInEpoch += 1
                trainer.tokensTrained += batchSize * batch.steps
                recentLoss += loss
                recentSteps += 1

                let elapsed = Date().timeIntervalSince(started)
                let rate = Double(trainer.tokensTrained - tokensAtStart) / max(elapsed, 1e-9)
                let remaining = remainingTokens(stepsPerEpoch: streams.stepCount, tokensPerStep: batchSize * unroll)
                progress.update(String(format: "step %d  epoch %d  tokens %d  %.0f tok/s  loss %.4f  valid ppl %@  ETA %@",
                                       trainer.step, trainer.epoch + 1, trainer.tokensTrained, rate, loss,
                                       trainer.lastValidPerplexity.map { String(format: "%.2f", $0) } ?? "-",
                                       remaining.map { ProgressLine.duration(Double($0) / max(rate, 1e-9)) } ?? "?"))
                if trainer.step % settings.logEvery == 0 {
                    let record: [String: Any] = ["kind": "train", "step": trainer.step, "epoch": trainer.epoch,
                                                 "tokens": trainer.tokensTrained, "train_loss": recentLoss / Double(recentSteps),
                                                 "tokens_per_s": rate, "elapsed_s": elapsed,
                                                 "learning_rate": Double(optimizer.learningRate)]
                        .merging(clock.takeRecordFields(steps: recentSteps)) { first, _ in first }
                    metrics.append(record)
                    onRecord?(record)
                    recentLoss = 0
                    recentSteps = 0
                }
                let validateNow = settings.validateEvery > 0 && trainer.step % settings.validateEvery == 0
                let checkpointNow = settings.checkpointEvery > 0 && trainer.step % settings.checkpointEvery == 0
                if validateNow && validStreams != nil {
                    try validateAndCheckpoint(final: false)
                } else if checkpointNow {
                    try checkpoint(isBest: false)
                }
                // Every rank learnt in the same reduce whether any rank was asked to stop, so all stop after this step.
                if reduced.stop {
                    progress.finish()
                    if !(checkpointNow || (validateNow && validStreams != nil)) { try checkpoint(isBest: false) }
                    // The others wait for rank 0's (empty) message, sent once it has saved: mpirun ends the whole job
                    // when one rank exits with a non-zero status, and the stopped ranks exit with 130 or 143.
                    _ = try settings.reducer.broadcastFromRankZero([])
                    let reducer = settings.reducer, signal = StopSignal.requested ?? SIGTERM
                    guard reducer.rank == 0 else {
                        throw StopSignal.Stopped(signal: signal, message: "rank \(reducer.rank) of \(reducer.worldSize) stopped after step "
                            + "\(trainer.step) with the others; rank 0 wrote checkpoint-\(trainer.step).npz.")
                    }
                    throw StopSignal.Stopped(signal: signal, message: "wrote checkpoint-\(trainer.step).npz in \(settings.outputFolder) "
                        + "(step \(trainer.step), epoch \(trainer.epoch + 1), \(trainer.tokensTrained) tokens). Continue with the same command plus --resume.")
                }
            }
            if trainer.stepInEpoch >= streams.stepCount {
                trainer.epoch += 1
                trainer.stepInEpoch = 0
            }
        }
        progress.finish()
        if recentSteps > 0 {
            metrics.append(["kind": "train", "step": trainer.step, "epoch": trainer.epoch, "tokens": trainer.tokensTrained,
                            "train_loss": recentLoss / Double(recentSteps),
                            "tokens_per_s": Double(trainer.tokensTrained - tokensAtStart) / max(Date().timeIntervalSince(started), 1e-9),
                            "elapsed_s": Date().timeIntervalSince(started)]
                .merging(clock.takeRecordFields(steps: recentSteps)) { first, _ in first })
        }
        // The last step may have just been validated and checkpointed (validate-every divides it): not twice.
        if validStreams == nil || validatedStep != trainer.step { try validateAndCheckpoint(final: true) }
        try writePlot()
        run.markComplete()
        return lastValid
    }

    private func remainingTokens(stepsPerEpoch: Int, tokensPerStep: Int) -> Int? {
        var candidates: [Int] = []
        if let max = settings.maxTokens { candidates.append(max - trainer.tokensTrained) }
        if let epochs = settings.epochs {
            candidates.append(((epochs - trainer.epoch) * stepsPerEpoch - trainer.stepInEpoch) * tokensPerStep)
        }
        return candidates.min().map { Swift.max($0, 0) }
    }

    /// Rank 0 writes the checkpoint, with the LSTM states of all B rows gathered from every rank in global row
    /// order, so it is exactly what one process would write and resumes with any number of ranks dividing B.
    private func checkpoint(isBest: Bool) throws {
        // Pre-training draws nothing from a sequential generator any more (see `BiLMPass.KeyedDraws`).
        trainer.rngState = []
        let allStates = try gatheredStates()
        guard settings.reducer.rank == 0 else { return }
        try run.saveCheckpoint(step: trainer.step, isBest: isBest) { path in
            try BiLMCheckpoint.save(model: model, vocabulary: vocabulary, trainer: trainer, optimizer: optimizer,
                                    states: allStates, to: path)
        }
    }

    /// Every rank's rows of the carried states, in global row order, on rank 0 (the other ranks get their own back).
    private func gatheredStates() throws -> BiLanguageModel.States {
        let reducer = settings.reducer
        guard reducer.worldSize > 1 else { return states }
        func gather(_ list: [LSTMWithProjection.State]) throws -> [LSTMWithProjection.State] {
            try list.map { state in
                func all(_ t: Tensor) throws -> Tensor {
                    let values = try reducer.gatherToRankZero(t.scalars)
                    return reducer.rank == 0 ? Tensor(shape: [batchSize] + t.shape.dropFirst(), scalars: values) : t
                }
                return LSTMWithProjection.State(h: try all(state.h), c: try all(state.c))
            }
        }
        return BiLanguageModel.States(forward: try gather(states.forward), backward: try gather(states.backward))
    }

    /// Train loss and valid perplexity against tokens, from the whole metrics history (resumed runs included).
    private func writePlot() throws {
        let records = MetricsLog.read(path: run.metricsPath)
        func series(_ kind: String, _ key: String) -> [(x: Double, y: Double)] {
            LearningCurvePlot.points(records, kind: kind, x: "tokens", y: key)
        }
        try LearningCurvePlot.write([.init(name: "train loss", points: series("train", "train_loss")),
                                     .init(name: "valid perplexity (mean of both directions)", points: series("valid", "valid_ppl_mean"))],
                                    xLabel: "tokens", title: "elmo pretrain: \(settings.outputFolder)", to: run.plotPath)
    }
}
