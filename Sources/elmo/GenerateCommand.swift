import ArgumentParser
import ElmoBiLM

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text by sampling from the forward LM, stopping at </S>.")

    @Option(help: "A checkpoint file or a run folder.")
    var checkpoint: String

    @Option(help: "Text to continue (whitespace tokens).")
    var prompt: String = ""

    @Option(help: "Softmax temperature; 0 picks the most likely word.")
    var temperature: Float = 1

    @Option(help: "Sample only among the K most likely words.")
    var topK: Int?

    @Option(help: "Generate at most N tokens.")
    var maxTokens: Int = 50

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func validate() throws {
        if !(temperature >= 0 && temperature.isFinite) {
            throw ValidationError("--temperature must be a finite number, 0 or more, not \(temperature).")
        }
        if let k = topK, k < 1 { throw ValidationError("--top-k must be at least 1, not \(k).") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, not \(maxTokens).") }
    }

    func run() throws {
        try reportingErrors {
            let contents = try BiLMCheckpoint.load(checkpoint)
            try contents.requireSoftmax(for: "text generation")
            let words = prompt.split(whereSeparator: \.isWhitespace).map(String.init)
            let generated = TextGenerator(model: contents.model, vocabulary: contents.vocabulary)
                .generate(prompt: words, maxTokens: maxTokens, temperature: temperature, topK: topK, seed: seed)
            print((words + generated).joined(separator: " "))
        }
    }
}
