import ArgumentParser
import ElmoBiLM
import ElmoDistributed
import ElmoOptim
import ElmoText
import Foundation

extension VocabularyMode: ExpressibleByArgument {}
extension NewRowInitialisation: ExpressibleByArgument {}

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pre-train a bidirectional LM (char-CNN → forward and backward LSTMP stacks → shared softmax) on raw text.",
        discussion: """
        Text: one sentence per line, whitespace tokens, any language (UTF-8). The run folder gets checkpoint-<step>.npz \
        (the last --keep of them), best.npz, latest, metrics.jsonl, options.json, vocab.txt and learning-curve.svg. \
        A killed run continues with --resume and reaches the same weights as an uninterrupted one (same seed and threads).

        Data-parallel: `mpirun -np N elmo pretrain ...` trains one model on N processes; each trains batch_size / N rows \
        of every global batch (batch_size must be divisible by N) and the gradients are averaged with MPI all-reduces \
        before clipping: bucket by bucket while backward runs when the ranks span several hosts, one all-reduce after \
        backward when they share one (--[no-]overlap-communication chooses). OpenMPI (libmpi.so.40) is loaded only \
        under mpirun; without it elmo trains as one process. \
        Rank 0 writes the run folder. Dropout masks and sampled-softmax negatives are keyed by seed, step and global row, \
        so N ranks draw what one process draws; checkpoints hold all rows' LSTM states, so --resume works with any \
        number of ranks dividing batch_size. Ranks whose options, vocabulary or files differ refuse to start, naming \
        the difference; a rank that fails or dies ends the whole job.
        """)

    @Option(help: "Model and training options (bilm-tf options.json keys), e.g. Pretrain/tiny.json (with --init-from: default the checkpoint's own).")
    var config: String?

    @Option(parsing: .upToNextOption, help: "Training text files or globs.")
    var train: [String]

    @Option(help: "Validation text: perplexity every --validate-every steps and at the end.")
    var valid: String?

    @Option(help: "Vocabulary file in bilm-tf format (default: built from the training text).")
    var vocab: String?

    @Option(help: "Keep at most N vocabulary entries, specials included.")
    var maxVocab: Int?

    @Option(help: "Run folder, e.g. Checkpoints/<run>.")
    var output: String

    @Option(help: "Stop after N epochs (default: 1 unless --max-tokens is given).")
    var epochs: Int?

    @Option(help: "Stop after N training tokens (forward targets).")
    var maxTokens: Int?

    @Option(help: "Random seed for initialisation, dropout and shard order.")
    var seed: UInt64 = 1

    @OptionGroup var threads: ThreadOptions

    @Option(help: "Write a checkpoint every N steps (one is always written at the end).")
    var checkpointEvery: Int = 500

    @Option(help: "Validate every N steps.")
    var validateEvery: Int = 500

    @Option(help: "Log a progress line / metrics record every N steps.")
    var logEvery: Int = 50

    @Option(help: "Keep the last N step checkpoints (best.npz is kept as well).")
    var keep: Int = 3

    @Flag(help: "Continue the run in --output from its latest checkpoint.")
    var resume = false

    @Flag(inversion: .prefixedNo, help: "Shuffle the order of training files each epoch.")
    var shuffleShards = true

    @Flag(inversion: .prefixedNo, help: "Under mpirun: all-reduce each group of gradients (softmax, each LSTM layer, encoder) as soon as backward finishes it, on a communication thread, instead of all of them after backward. Same sums either way. Default: overlap when the ranks span several hosts, not when all run on one (there the all-reduce is CPU work that would only slow backward down).")
    var overlapCommunication: Bool?

    @Option(help: "Start a new run (step 0, fresh optimizer) from this biLM checkpoint or run folder, e.g. to adapt it to domain text; --config may change training keys, not the architecture. The source is never modified.")
    var initFrom: String?

    @Option(help: "With --init-from: keep (old vocabulary, new words are <UNK>), extend (append the text's new words, up to --max-vocab) or replace (a vocabulary of the new text, or --vocab). Default: extend if the text has new words, else keep.")
    var vocabMode: VocabularyMode?

    @Option(help: "With --init-from: softmax rows of new words start from the char-cnn encoding of the word (mapped into softmax space) or the mean of the old rows.")
    var newWordInit: NewRowInitialisation = .charCNN

    @Flag(help: "Ignore config keys ELMoKit does not use (e.g. of a bilm-tf options.json) instead of refusing them.")
    var allowUnknownKeys = false

    func validate() throws {
        if train.isEmpty { throw ValidationError("Give at least one --train file.") }
        if config == nil && initFrom == nil { throw ValidationError("Give --config (e.g. Pretrain/tiny.json), or --init-from to start from a checkpoint.") }
        if initFrom == nil && vocabMode != nil { throw ValidationError("--vocab-mode needs --init-from (a new model's vocabulary comes from --vocab or the training text).") }
        if let e = epochs, e < 1 { throw ValidationError("--epochs must be at least 1, not \(e).") }
        if let m = maxTokens, m < 1 { throw ValidationError("--max-tokens must be at least 1, not \(m).") }
        if let m = maxVocab, m < 3 { throw ValidationError("--max-vocab must be at least 3 (<S>, </S> and <UNK>), not \(m).") }
        for (name, value) in [("--checkpoint-every", checkpointEvery), ("--log-every", logEvery), ("--keep", keep)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, not \(value).")
        }
    }

    func run() throws {
        StopSignal.install()
        let reducer = try reportingErrors { try MPIWorld.reducer() }
        guard let mpi = reducer as? MPIReducer else { return try reportingErrors { try pretrain(reducer: reducer) } }
        do {
            try pretrain(reducer: mpi)
        } catch let disagreement as RankDisagreement {
            // Every rank found it: rank 0 says it once, all end normally.
            if mpi.rank == 0 { FileHandle.standardError.write(Data("Error: \(disagreement)\n".utf8)) }
            mpi.finalize()
            throw ExitCode.failure
        } catch let stop as StopSignal.Stopped {
            // A stop signal: every rank stopped after the same step and rank 0 saved, so the job ends normally.
            FileHandle.standardError.write(Data("\(stop)\n".utf8))
            mpi.finalize()
            throw ExitCode(stop.exitCode)
        } catch {
            // A rank that fails must end the whole job: the others would wait in the next all-reduce for ever.
            FileHandle.standardError.write(Data("Error: rank \(mpi.rank) of \(mpi.worldSize) failed, ending the whole mpirun job: \(error)\n".utf8))
            mpi.abort(code: 1)
        }
        mpi.finalize()
    }

    /// The version and the binary's size: ranks started from different builds must not train together.
    private var programVersion: String {
        let size = (try? FileManager.default.attributesOfItem(atPath: "/proc/self/exe")[.size] as? Int) ?? nil
        return "\(Elmo.configuration.version) (binary of \(size.map { "\($0) bytes" } ?? "unknown size"))"
    }

    private func pretrain(reducer: GradientReducer) throws {
        let options = try config.map { try BiLMOptions.load(path: $0, allowUnknownKeys: allowUnknownKeys) }
            ?? BiLMCheckpoint.load(initFrom!).model.options
        // Rank 0 writes the run folder (checkpoints hold every rank's LSTM states, and on --resume rank 0 sends the
        // checkpoint to the others); ranks other than 0 keep their run folder in a temporary directory removed at the end.
        let folder = reducer.rank == 0 ? output
            : (NSTemporaryDirectory() as NSString).appendingPathComponent("elmo-rank-\(reducer.rank)-\(getpid())")
        defer { if reducer.rank != 0 { try? FileManager.default.removeItem(atPath: folder) } }
        var settings = PretrainSettings(options: options, trainPatterns: train, outputFolder: folder)
        settings.reducer = reducer
        settings.programVersion = programVersion
        settings.validFile = valid
        settings.vocabularyFile = vocab
        settings.maxVocabularySize = maxVocab
        settings.epochs = epochs ?? (maxTokens == nil ? 1 : nil)
        settings.maxTokens = maxTokens
        settings.seed = seed
        settings.threads = threads.count
        settings.checkpointEvery = checkpointEvery
        settings.validateEvery = validateEvery
        settings.logEvery = logEvery
        settings.keepLast = keep
        settings.resume = resume
        settings.shuffleShards = shuffleShards
        settings.overlapCommunication = overlapCommunication
        settings.initFrom = initFrom
        settings.vocabularyMode = vocabMode
        settings.newRowInitialisation = newWordInit
        let started = Date()
        let trainer = try Pretrainer(settings: settings)
        if reducer.rank == 0 {
            FileHandle.standardError.write(Data("vocabulary \(trainer.vocabulary.count), parameters \(trainer.model.parameterCount), threads \(settings.threads), ranks \(reducer.worldSize)\n".utf8))
        }
        let ppl = try trainer.train()
        var summary: [String: Any] = ["steps": trainer.trainer.step, "tokens": trainer.trainer.tokensTrained,
                                      "wall_s": Date().timeIntervalSince(started), "output": output]
        if let ppl, let valid {
            summary["unigram_ppl"] = try UnigramBaseline.perplexity(trainFiles: try Corpus(patterns: train).files,
                                                                    validFile: valid, vocabulary: trainer.vocabulary)
            summary["valid_ppl_fwd"] = ppl.forward
            summary["valid_ppl_bwd"] = ppl.backward
            summary["valid_ppl_mean"] = ppl.mean
        }
        if reducer.rank == 0 { printJSON(summary) }
    }
}
