import ArgumentParser
import ElmoBiLM
import ElmoMetrics
import ElmoStorage
import ElmoTasks
import Foundation

/// `elmo report`: a self-contained HTML training report of a run folder (pre-training or a task model's run).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML training report of a run folder (pre-training or fine-tuning).",
        discussion: """
        Reads RUN_FOLDER's metrics.jsonl and its checkpoint (best.npz, or the latest step checkpoint). Pre-training \
        runs: train loss and perplexity, valid perplexity of both directions, tokens/s and the learning rate over \
        the tokens trained, the config, parameter counts and the final numbers. Task runs (elmo finetune): train \
        loss and the dev metrics (accuracy, F1, ...) over the steps, task.json, parameter counts, the best dev \
        scores, and with --data a confusion matrix on that labelled file. One HTML file, no network access.
        """)

    @Argument(help: "The run folder (what --output named in pretrain or finetune).")
    var runFolder: String

    @Option(help: "The HTML page to write.")
    var output: String

    @Option(help: "Task runs: labelled data (e.g. the dev file) for a confusion matrix.")
    var data: String?

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        threads.apply()
        try reportingErrors {
            let run = try RunReport.read(runFolder, confusionData: data)
            try HTMLPage.write(try ReportPage.html(run), to: output)
            FileHandle.standardError.write(Data("\(run.kind) run, \(run.records.count) metrics records -> \(output)\n".utf8))
        }
    }
}

/// What a report shows, read from a run folder.
struct RunReport {
    /// `"pretrain"`, `"classifier"` or `"tagger"`.
    var kind: String
    var folder: String
    var checkpoint: String
    var records: [[String: Any]]
    /// The config (options.json) or the task manifest (task.json), pretty-printed.
    var config: String
    /// Parameter count per top-level name (first path component), model parameters only.
    var parameterCounts: [(String, Int)]
    /// The primary dev metric of a task run.
    var primaryMetric: String?
    /// Labels and `confusion[gold][predicted]` with --data (task runs).
    var confusion: (labels: [String], counts: [[Int]], data: String)?

    static func notARunFolder(_ path: String, reason: String) -> CommandError {
        CommandError("\(path) is not a run folder (\(reason)); give the folder that `elmo pretrain --output` or `elmo finetune ... --output` wrote.")
    }

    static func read(_ folder: String, confusionData: String?) throws -> RunReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Self.notARunFolder(folder, reason: "it is not a folder")
        }
        let metricsPath = (folder as NSString).appendingPathComponent("metrics.jsonl")
        guard FileManager.default.fileExists(atPath: metricsPath) else {
            throw Self.notARunFolder(folder, reason: "it has no metrics.jsonl")
        }
        let records = MetricsLog.read(path: metricsPath)
        let file = try BiLMCheckpoint.resolve(folder)
        let reader = try NpzReader(path: file)
        if reader.contains(TaskCheckpoint.manifestMember) {
            let kind = try TaskCheckpoint.kind(of: file)
            let manifestBytes = try reader.bytes(TaskCheckpoint.manifestMember)
            var counts = try parameterCounts(reader, skipping: [])
            let manifest = try JSONSerialization.jsonObject(with: Data(manifestBytes)) as? [String: Any] ?? [:]
            if let bilm = manifest["bilm"] as? [String: Any], let path = bilm["path"] as? String, (manifest["mode"] as? String) == "frozen",
               FileManager.default.fileExists(atPath: path) {
                let total = try parameterCounts(try NpzReader(path: path), skipping: ["optimizer", "state", "softmax"]).reduce(0) { $0 + $1.1 }
                counts.append(("frozen biLM (referenced)", total))
            }
            let options = manifest["options"] as? [String: Any]
            let primary = kind == ClassifierModel.kind ? "accuracy" : (options?["metric"] as? String ?? "accuracy")
            var report = RunReport(kind: kind, folder: folder, checkpoint: file, records: records,
                                   config: pretty(manifestBytes), parameterCounts: counts, primaryMetric: primary, confusion: nil)
            if let confusionData { report.confusion = try confusion(kind: kind, model: file, data: confusionData) }
            return report
        }
        guard reader.contains("config.json") else { throw Self.notARunFolder(folder, reason: "its checkpoint has neither task.json nor config.json") }
        if confusionData != nil { throw CommandError("--data gives a confusion matrix for task runs; \(folder) is a pre-training run.") }
        return RunReport(kind: "pretrain", folder: folder, checkpoint: file, records: records,
                         config: pretty(try reader.bytes("config.json")),
                         parameterCounts: try parameterCounts(reader, skipping: ["optimizer", "state"]), primaryMetric: nil, confusion: nil)
    }

    /// Element counts of the archive's arrays grouped by the first component of their names.
    static func parameterCounts(_ reader: NpzReader, skipping: Set<String>) throws -> [(String, Int)] {
        var counts: [String: Int] = [:]
        for name in reader.tensorNames {
            let group = String(name.split(separator: "/").first ?? Substring(name))
            if skipping.contains(group) { continue }
            counts[group, default: 0] += try reader.header(name).elementCount
        }
        return counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func pretty(_ bytes: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The model's predictions on `data` against its gold labels (tagger: one entry per token).
    static func confusion(kind: String, model: String, data: String) throws -> (labels: [String], counts: [[Int]], data: String) {
        let gold: [String], predicted: [String], known: [String]
        if kind == ClassifierModel.kind {
            let classifier = try ClassifierModel.load(model)
            let examples = try classifier.classifier.options.data.read(path: data)
            gold = examples.map(\.label)
            predicted = classifier.predict(examples.map(\.tokens)).map(\.label)
            known = classifier.labels
        } else {
            let tagger = try TaggerModel.load(model)
            let sentences = try tagger.readGold(path: data)
            gold = sentences.flatMap(\.tags)
            predicted = tagger.evaluate(sentences).predictions.flatMap { $0 }
            known = tagger.tagger.labels
        }
        let labels = known + Set(gold).subtracting(known).sorted()
        return (labels, ClassificationReport(gold: gold, predicted: predicted, labels: labels).confusion, data)
    }
}
