import ArgumentParser
import Foundation

/// The `elmo` command line: pre-train, inspect and use ELMo-style biLMs.
@main
struct Elmo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elmo",
        abstract: "Deep contextual word representations (ELMo): pre-train a biLM, export embeddings, fine-tune.",
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
        main(nil)
    }
}
