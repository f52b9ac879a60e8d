import ArgumentParser
import ElmoTensor
import Foundation

/// The `elmo` command line: pre-train, inspect and use ELMo-style biLMs.
@main
struct Elmo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elmo",
        abstract: "Deep contextual word representations (ELMo): pre-train a biLM, export embeddings, fine-tune.",
        discussion: """
            Environment: ELMO_BACKEND=cpu|reference selects the compute backend (default cpu, OpenBLAS and vectorised \
            kernels; reference is plain Double-accumulating loops, slow, for checking results).
            """,
        version: "0.1.0",
        subcommands: [VocabCommand.self, PretrainCommand.self, PerplexityCommand.self, GenerateCommand.self,
                      InspectCommand.self, EmbedCommand.self, ScoreCommand.self, ImportWeightsCommand.self,
                      ExportWeightsCommand.self, PrepareDefaultDataCommand.self, FinetuneCommand.self,
                      PredictCommand.self, EvaluateCommand.self, ServeCommand.self, VisualizeCommand.self, NeighborsCommand.self,
                      ReportCommand.self]
    )

    static func main() {
        if let hint = MisspellingHint.message(for: Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("Error: \(hint)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        // Checked before any work starts, so a typo is an error naming the accepted values, not a crash mid-run.
        if let name = ProcessInfo.processInfo.environment["ELMO_BACKEND"], Backends.named(name) == nil {
            FileHandle.standardError.write(Data("Error: ELMO_BACKEND is \"\(name)\"; use cpu (the default) or reference.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        // Before any command runs, so every command (and `elmo-bench`, which does the same) computes with the same
        // allocator settings: the benchmark measures what users run.
        MemoryTuning.keepFreedMemory()
        main(nil)
    }
}
