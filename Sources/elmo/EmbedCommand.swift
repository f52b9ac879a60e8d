import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import ElmoReporting
import Foundation

extension LayerSelection: ExpressibleByArgument {}
extension EmbeddingFormat: ExpressibleByArgument {}
extension EmbeddingDType: ExpressibleByArgument {}

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Export contextual embeddings of each input line (AllenNLP `elmo` HDF5 layout, or .npz).",
        discussion: """
        One dataset per input line keyed by its 0-based line number: shape (L+1, n_tokens, dim) for --layers all, \
        (n_tokens, dim) for top/average, plus `sentence_to_index` (a JSON string mapping each sentence to its key). \
        Each sentence is embedded on its own (zero initial state), so results do not depend on batching.
        """)

    @Option(help: "A checkpoint file or a run folder.")
    var checkpoint: String

    @Option(help: "Text file, one tokenised sentence per line (.gz read transparently), or - for stdin.")
    var input: String

    @Option(help: "Output file.")
    var output: String

    @Option(help: "all, top or average.")
    var layers: LayerSelection = .all

    @Option(help: "hdf5 or npz.")
    var format: EmbeddingFormat = .hdf5

    @Option(help: "float32 or float16.")
    var dtype: EmbeddingDType = .float32

    @OptionGroup var batch: BatchSizeOption

    @Flag(help: "Compress the datasets (HDF5: gzip + shuffle; npz: deflate level 6).")
    var compress = false

    @Flag(help: "Skip empty lines, recording their 0-based line numbers (the keys they would have had) in the output's `skipped_lines`, instead of failing.")
    var skipEmpty = false

    @OptionGroup var maxLength: MaxLengthOption

    @Flag(help: "Replace --output if it exists.")
    var overwrite = false

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        threads.apply()
        try reportingErrors {
            var settings = EmbedSettings(input: input, output: output)
            settings.layers = layers
            settings.format = format
            settings.dtype = dtype
            settings.batchSize = batch.batchSize
            settings.compress = compress
            settings.skipEmpty = skipEmpty
            settings.maxLength = maxLength.maxLength
            settings.overwrite = overwrite
            try EmbeddingExporter.checkOutput(output, overwrite: overwrite)
            warnIfIncomplete(checkpoint)
            let embedder = try ContextualEmbedder(checkpoint: checkpoint)
            let summary = try EmbeddingExporter(embedder: embedder, settings: settings).run(progress: ProgressLine(every: 1))
            let size = ((try? FileManager.default.attributesOfItem(atPath: output)[.size]) as? NSNumber)?.intValue ?? 0
            printJSON(["output": output, "sentences": summary.sentences, "tokens": summary.tokens,
                       "layers": embedder.layerCount, "dim": embedder.dimension, "skipped_lines": summary.skippedLines,
                       "seconds": summary.seconds, "write_seconds": summary.writeSeconds,
                       "tokens_per_s": Double(summary.tokens) / max(summary.seconds, 1e-9), "size_bytes": size])
        }
    }
}
