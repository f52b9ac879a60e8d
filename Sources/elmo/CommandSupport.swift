import ArgumentParser
import ElmoBiLM
import ElmoTensor
import Foundation

/// Runs a library call and turns a library error into a clean one-line CLI error (exit code 1), never a crash.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
        throw ExitCode.failure
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
    @Option(help: "Threads for matrix products (default: the number of cores, at most 8).")
    var threads: Int?

    var count: Int { threads ?? min(ProcessInfo.processInfo.activeProcessorCount, 8) }

    func apply() { BLAS.setThreads(count) }

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, not \(t).") }
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
