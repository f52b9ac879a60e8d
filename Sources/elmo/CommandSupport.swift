import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation

extension OverlongPolicy: ExpressibleByArgument {}

/// Runs a library call and turns a library error into a clean one-line CLI error (exit code 1), never a crash.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let stop as StopSignal.Stopped {
        FileHandle.standardError.write(Data("\(stop)\n".utf8))
        throw ExitCode(stop.exitCode)
    } catch {
        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// A refusal found while running a command (after argument parsing): printed as one `Error:` line, without usage.
struct CommandError: Error, CustomStringConvertible, LocalizedError {
    var description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}

/// Warns on stderr when the model or checkpoint `path` comes from a run marked incomplete (killed or stopped early).
func warnIfIncomplete(_ path: String) {
    if let warning = RunFolder.incompleteWarning(for: path) {
        FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8))
    }
}

/// Prints a JSON object on stdout with sorted keys.
func printJSON(_ object: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// `--threads`: the thread budget (default: all cores, at most 8).
struct ThreadOptions: ParsableArguments {
    static let maximum = 256

    // `.unconditional`: `--threads -1` is a value to refuse with the range, not a missing value.
    @Option(parsing: .unconditional, help: "Threads for matrix products, 1 to \(ThreadOptions.maximum) (default: the number of cores, at most 8).")
    var threads: Int?

    var count: Int { threads ?? min(ProcessInfo.processInfo.activeProcessorCount, 8) }

    func apply() { BLAS.setThreads(count) }

    func validate() throws {
        if let t = threads, !(1...Self.maximum).contains(t) {
            throw ValidationError("--threads must be between 1 and \(Self.maximum), not \(t).")
        }
    }
}

/// `--max-length` of the commands that run a model over input sentences: longer lines are refused naming them,
/// so one huge line cannot take all memory.
struct MaxLengthOption: ParsableArguments {
    @Option(help: "Longest sentence accepted, in tokens; a longer line is an error naming it (memory grows with the length).")
    var maxLength = EmbedSettings.defaultMaxLength

    func validate() throws {
        if maxLength < 1 { throw ValidationError("--max-length must be at least 1, not \(maxLength).") }
    }
}

/// `--overlong` beside `--max-length`: what to do with a longer line.
struct OverlongOption: ParsableArguments {
    @Option(help: "A line longer than --max-length: error (naming the line), truncate (keep the first --max-length tokens) or split (run windows of --max-length tokens, each from a zero state, and join them in token order).")
    var overlong: OverlongPolicy = .error
}

/// `--max-batch-tokens`: a padded-token budget per batch (AllenNLP's `maximum_samples_per_batch`).
struct TokenBudgetOption: ParsableArguments {
    @Option(help: "Padded tokens per batch at most (sentences × the longest's tokens): batches of long sentences get fewer sentences, so memory is bounded by this rather than by --batch-size (default: no budget).")
    var maxBatchTokens: Int?

    func validate() throws {
        if let n = maxBatchTokens, n < 1 { throw ValidationError("--max-batch-tokens must be at least 1, not \(n).") }
    }
}

/// `--batch-size` of the commands that run a trained model over input sentences.
struct BatchSizeOption: ParsableArguments {
    @Option(help: "Sentences per batch.")
    var batchSize = 32

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, not \(batchSize).") }
    }
}
