import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import ElmoReporting
import Foundation

extension LayerSelection: ExpressibleByArgument {}
extension EmbeddingFormat: ExpressibleByArgument {}
extension EmbeddingDType: ExpressibleByArgument {}
extension SentencePooling: ExpressibleByArgument {}

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Export contextual embeddings of each input line (AllenNLP `elmo` HDF5 layout, or .npz).",
        discussion: """
        One dataset per input line keyed by its 0-based line number: shape (L+1, n_tokens, dim) for --layers all, \
        (n_tokens, dim) for top/average, plus `sentence_to_index` (a JSON string mapping each sentence to its key). \
        With --pooling mean|max, one vector per line instead: a (dim) dataset per line in HDF5 ((L+1, dim) for \
        --layers all), or one (N, dim) matrix, a row per line in input order: --format npy is that array alone, \
        --format npz holds it as `embeddings` with `lines` (each row's 0-based line), `sentence_to_index.json` and \
        `skipped_lines`. --mix-from uses a task model's learned ScalarMix instead of --layers. \
        Each sentence is embedded on its own (zero initial state), so results do not depend on batching \
        (--batch-size, --max-batch-tokens) beyond float rounding. --overlong split embeds each --max-length window of a longer line on its \
        own and joins the windows' vectors in token order (tokens near a window's edge see only that window).
        """)

    @Option(help: "A checkpoint file or a run folder.")
    var checkpoint: String

    @Option(help: "Text file, one tokenised sentence per line (.gz read transparently), or - for stdin.")
    var input: String

    @Option(help: "Output file.")
    var output: String

    @Option(help: "all, top or average.")
    var layers: LayerSelection = .all

    @Option(help: "none (a vector per token), mean or max (a vector per line: over its tokens).")
    var pooling: SentencePooling = .none

    @Option(help: "A classifier or tagger trained on this biLM: mix the layers with its learned ScalarMix (instead of --layers).")
    var mixFrom: String?

    @Option(help: "hdf5, npz or npy (npy: one (N, dim) matrix; needs --pooling).")
    var format: EmbeddingFormat = .hdf5

    @Option(help: "float32 or float16.")
    var dtype: EmbeddingDType = .float32

    @OptionGroup var batch: BatchSizeOption

    @OptionGroup var tokenBudget: TokenBudgetOption

    @Flag(help: "Compress the datasets (HDF5: gzip + shuffle; npz: deflate level 6).")
    var compress = false

    @Flag(help: "Skip empty lines, recording their 0-based line numbers (the keys they would have had) in the output's `skipped_lines`, instead of failing.")
    var skipEmpty = false

    @OptionGroup var maxLength: MaxLengthOption

    @OptionGroup var overlong: OverlongOption

    @Flag(help: "Replace --output if it exists.")
    var overwrite = false

    @Option(help: "Word types whose token encodings are kept across batches (least recently used evicted; 0: none). The vectors are the same either way.")
    var tokenCache: Int = TokenEncodingCache.defaultCapacity

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if tokenCache < 0 { throw ValidationError("--token-cache must be >= 0, but is \(tokenCache).") }
        if format == .npy && pooling == .none { throw ValidationError(EmbedError.matrixNeedsPooling.description) }
        if mixFrom != nil && layers != .all {
            throw ValidationError("--mix-from replaces --layers (the mix combines all layers); leave out --layers \(layers).")
        }
    }

    func run() throws {
        threads.apply()
        try reportingErrors {
            var settings = EmbedSettings(input: input, output: output)
            settings.layers = layers
            settings.format = format
            settings.dtype = dtype
            settings.batchSize = batch.batchSize
            settings.maxBatchTokens = tokenBudget.maxBatchTokens
            settings.pooling = pooling
            settings.overlong = overlong.overlong
            settings.compress = compress
            settings.skipEmpty = skipEmpty
            settings.maxLength = maxLength.maxLength
            settings.overwrite = overwrite
            try EmbeddingExporter.checkOutput(output, overwrite: overwrite)
            warnIfIncomplete(checkpoint)
            let embedder = try ContextualEmbedder(checkpoint: checkpoint)
            embedder.useTokenCache(capacity: tokenCache)
            if let mixFrom {
                warnIfIncomplete(mixFrom)
                settings.mix = try TaskModelMix.load(mixFrom, layerCount: embedder.layerCount)
            }
            let summary = try EmbeddingExporter(embedder: embedder, settings: settings).run(progress: ProgressLine(every: 1))
            let size = ((try? FileManager.default.attributesOfItem(atPath: output)[.size]) as? NSNumber)?.intValue ?? 0
            printJSON(["output": output, "sentences": summary.sentences, "tokens": summary.tokens,
                       "layers": embedder.layerCount, "dim": embedder.dimension, "skipped_lines": summary.skippedLines,
                       "pooling": pooling.rawValue, "overlong_lines": summary.overlongLines,
                       "seconds": summary.seconds, "write_seconds": summary.writeSeconds,
                       "tokens_per_s": Double(summary.tokens) / max(summary.seconds, 1e-9), "size_bytes": size])
        }
    }
}
