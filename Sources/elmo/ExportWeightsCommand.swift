import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import Foundation

struct ExportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-weights",
        abstract: "Write a checkpoint as bilm-tf options.json + weights.hdf5 (+ vocab.txt), the files AllenNLP's Elmo loads.",
        discussion: """
        AllenNLP's Elmo(options_file, weight_file, ...) then gives the vectors `elmo embed` gives. The softmax is not \
        written (bilm-tf's weight files never hold one). AllenNLP needs skip connections and 50 characters per token; \
        a model without them is still written (bilm-tf reads it), with a warning.
        """)

    @Option(help: "A checkpoint file or a run folder.")
    var checkpoint: String

    @Option(help: "Folder to write options.json, weights.hdf5 and vocab.txt into (created if missing).")
    var output: String

    @Flag(help: "Replace those files if they exist.")
    var overwrite = false

    func run() throws {
        try reportingErrors {
            let started = Date()
            let contents = try BiLMCheckpoint.load(checkpoint)
            for reason in BilmTfWeights.allenNLPLimitations(contents.model.options) {
                FileHandle.standardError.write(Data("warning: AllenNLP cannot load this model: \(reason).\n".utf8))
            }
            try BilmTfWeights.export(model: contents.model, vocabulary: contents.vocabulary, to: output, overwrite: overwrite)
            printJSON(["output": output, "checkpoint": contents.path, "seconds": Date().timeIntervalSince(started),
                       "softmax_dropped": contents.model.softmax != nil])
        }
    }
}
