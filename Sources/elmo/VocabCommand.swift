import ArgumentParser
import ElmoText
import Foundation

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab", abstract: "Build vocabularies in bilm-tf's format.", subcommands: [Build.self])

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count whitespace tokens of text files and write <S>, </S>, <UNK>, then words by descending count.",
            discussion: "Ties keep the order of first occurrence in the files (as the PyTorch reference and Python's Counter do).")

        @Argument(help: "Text files (one sentence per line; globs allowed).")
        var files: [String]

        @Option(help: "Where to write the vocabulary (one token per line).")
        var output: String

        @Option(help: "Drop words seen fewer than N times.")
        var minCount: Int = 1

        @Option(help: "Keep at most N entries, the three specials included.")
        var maxSize: Int?

        func validate() throws {
            if files.isEmpty { throw ValidationError("Give at least one text file.") }
            if minCount < 1 { throw ValidationError("--min-count must be at least 1, not \(minCount).") }
            if let m = maxSize, m < 3 { throw ValidationError("--max-size must be at least 3 (the specials), not \(m).") }
        }

        func run() throws {
            try reportingErrors {
                let corpus = try Corpus(patterns: files)
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: output, isDirectory: &isFolder) {
                    if isFolder.boolValue {
                        throw CommandError("--output \(output) is a folder; give the vocabulary file to write, e.g. \((output as NSString).appendingPathComponent("vocab.txt")).")
                    }
                    let target = URL(fileURLWithPath: output).resolvingSymlinksInPath().path
                    if let input = corpus.files.first(where: { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path == target }) {
                        throw CommandError("--output \(output) is also an input file (\(input)); writing the vocabulary would replace your text. Choose another --output.")
                    }
                }
                let vocabulary = try Vocabulary.build(files: corpus.files, minCount: minCount, maxSize: maxSize)
                try vocabulary.write(to: output)
                print("wrote \(vocabulary.count) entries to \(output)")
            }
        }
    }
}
