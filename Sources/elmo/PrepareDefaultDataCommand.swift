import ArgumentParser
import ElmoText
import Foundation

/// Turns the corpora of Debian's `python3-pattern` package into the default pre-training text and tasks
/// (the README's main command). The corpora are for personal use: they are prepared locally and never committed.
struct PrepareDefaultDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare-default-data",
        abstract: "Prepare the default corpus and tasks from python3-pattern's test corpora.",
        discussion: """
        Writes to --output: pretrain-train.txt and pretrain-valid.txt (the 1,500 reviews of polarity-en-pang&lee1.csv, \
        one sentence per line, every 30th review held out), sentiment-{train,dev,test}.tsv (label<TAB>text, the 4,000 \
        sentences of polarity-en-pang&lee2.csv split 80/10/10) and pos-{train,dev,test}.txt (word/TAG sentences of \
        tagged-en-oanc.txt split 80/10/10). Splits are shuffled with --seed.
        """)

    @Option(help: "The folder holding python3-pattern's corpora (usr/share/doc/python3-pattern/test/corpora).")
    var source: String

    @Option(help: "Where to write the prepared files.")
    var output: String

    @Option(help: "Seed of the 80/10/10 splits.")
    var seed: UInt64 = 13

    func run() throws {
        try reportingErrors {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            func file(_ name: String) -> String { (output as NSString).appendingPathComponent(name) }
            func input(_ name: String) -> String { (source as NSString).appendingPathComponent(name) }

            let reviews = try CSVClassificationReader.records(path: input("polarity-en-pang&lee1.csv")).filter { $0.count >= 2 }
            var train: [String] = [], valid: [String] = []
            for (k, review) in reviews.enumerated() {
                let sentences = review[1].split(whereSeparator: \.isNewline)
                    .map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }.filter { !$0.isEmpty }
                if k % 30 == 29 { valid += sentences } else { train += sentences }
            }
            try write(train, to: file("pretrain-train.txt"))
            try write(valid, to: file("pretrain-valid.txt"))

            let sentiment = try CSVClassificationReader.read(path: input("polarity-en-pang&lee2.csv"))
            let s = DatasetSplit.split(sentiment, seed: seed, fractions: (0.8, 0.1))
            for (name, part) in [("train", s.train), ("dev", s.dev), ("test", s.test)] {
                try write(part.map { "\($0.label)\t\($0.tokens.joined(separator: " "))" }, to: file("sentiment-\(name).tsv"))
            }

            let tagged = try SlashTaggedReader.read(path: input("tagged-en-oanc.txt"))
            let p = DatasetSplit.split(tagged, seed: seed, fractions: (0.8, 0.1))
            for (name, part) in [("train", p.train), ("dev", p.dev), ("test", p.test)] {
                try write(part.map { zip($0.tokens, $0.tags).map { "\($0)/\($1)" }.joined(separator: " ") }, to: file("pos-\(name).txt"))
            }
            print("pre-training: \(train.count) train / \(valid.count) valid sentences; sentiment: \(s.train.count)/\(s.dev.count)/\(s.test.count); POS: \(p.train.count)/\(p.dev.count)/\(p.test.count) -> \(output)")
        }
    }

    private func write(_ lines: [String], to path: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
