import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import Foundation

/// `elmo visualize`: pages that look inside a biLM.
struct VisualizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visualize",
        abstract: "Look inside a biLM (interpretable LSTM cells).",
        subcommands: [VisualizeCellsCommand.self])
}

/// `elmo visualize cells`: colours a text by the biLM's memory cells and finds the cells that track simple properties.
struct VisualizeCellsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cells",
        abstract: "Colour a text by the biLM's LSTM memory cells; rank the cells by what they track.",
        discussion: """
        Runs the biLM over --input (one tokenised sentence per line) with the forward pass `elmo embed` uses and \
        keeps every LSTM layer's memory cells c_t, both directions. Each cell is correlated (Pearson r over all \
        tokens) with simple text properties: position in the sentence, inside quotes, inside brackets, capitalised, \
        numeric, punctuation, sentence end; it is labelled with the property it tracks best and ranked by |r|. The \
        page (one self-contained HTML file, no network access) shows the text coloured by the chosen cell (red \
        positive, blue negative), with a selector over the top --cells cells of every layer and direction. By \
        default each sentence starts from a zero state, as in `embed`; --stream reads the file as one stream (each \
        sentence still in <S> ... </S>), which lets cells that count position or carry brackets across the text show.
        """)

    @Option(help: "A checkpoint file or a run folder.")
    var checkpoint: String

    @Option(help: "Text file, one tokenised sentence per line (.gz read transparently).")
    var input: String

    @Option(help: "The HTML page to write (with --json: the JSON file; default with --json: stdout).")
    var output: String?

    @Option(help: "Cells shown per layer and direction, best first.")
    var cells = 10

    @Flag(help: "Write the numbers (tokens, ranked cells, correlations, values) as JSON instead of the page.")
    var json = false

    @Flag(help: "Read the file as one stream instead of one sentence at a time from a zero state.")
    var stream = false

    @Option(help: "Read at most N tokens of --input (whole sentences).")
    var maxTokens = 5000

    @OptionGroup var batch: BatchSizeOption

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if cells < 1 { throw ValidationError("--cells must be at least 1, not \(cells).") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, not \(maxTokens).") }
        if output == nil && !json { throw ValidationError("Missing --output (the HTML page to write).") }
    }

    func run() throws {
        threads.apply()
        try reportingErrors {
            let sentences = try readSentences(input, maxTokens: maxTokens)
            let model = try BiLMCheckpoint.load(checkpoint).model
            let started = Date()
            let trace = CellTrace(model: model, sentences: sentences, stream: stream, batchSize: batch.batchSize)
            let ranked = CellRanking.rank(trace)
            let shown = CellRanking.top(ranked, perGroup: cells)
            let data = CellsPage.data(trace: trace, cells: shown, checkpoint: checkpoint, totalCells: ranked.count)
            if json {
                let text = try HTMLPage.json(data)
                if let output { try HTMLPage.write(text + "\n", to: output) } else { print(text) }
            } else {
                try HTMLPage.write(try CellsPage.html(data: data, checkpoint: checkpoint, trace: trace), to: output!)
            }
            var summary = "\(trace.tokenCount) tokens, \(ranked.count) cells ranked in " + String(format: "%.1f s", Date().timeIntervalSince(started))
                + "; the cell tracking each property best:\n"
            for (property, cell) in CellRanking.bestPerProperty(ranked) {
                summary += "  " + property.label.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(format: "layer %d %@ cell %d  r = %+.2f\n", cell.layer, cell.direction, cell.cell, cell.correlations[property.rawValue] ?? 0)
            }
            FileHandle.standardError.write(Data(summary.utf8))
        }
    }
}
