import ArgumentParser
import ElmoBiLM
import ElmoStorage
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint: config, parameters per component, training state, size on disk; verifies every CRC.")

    @Argument(help: "A checkpoint file or a run folder.")
    var checkpoint: String

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        try reportingErrors {
            let file = try BiLMCheckpoint.resolve(checkpoint)
            let reader = try NpzReader(path: file)
            var uncompressed = 0
            for member in reader.memberNames { uncompressed += try reader.bytes(member).count }  // reads and CRC-checks each
            if reader.contains("task.json") && !reader.contains("trainer.json") {
                try inspectTaskModel(file: file, reader: reader, uncompressed: uncompressed)
                return
            }
            let contents = try BiLMCheckpoint.load(file)
            let model = contents.model
            let components: [(String, Int)] = [
                ("char_cnn", model.encoder.charCNN.parameterCount), ("highway", model.encoder.highway.parameterCount),
                ("projection", model.encoder.projection.parameterCount), ("forward_lstm", model.forwardStack.parameterCount),
                ("backward_lstm", model.backwardStack.parameterCount),
                ("softmax", model.softmax?.parameterCount ?? 0),
            ]
            let size = ((try? FileManager.default.attributesOfItem(atPath: file)[.size]) as? NSNumber)?.intValue ?? 0
            let t = contents.trainer
            var summary: [String: Any] = [
                "file": file, "format": t.format, "version": t.version, "step": t.step, "epoch": t.epoch,
                "tokens_trained": t.tokensTrained, "vocabulary": contents.vocabulary.count,
                "parameters": model.parameterCount, "parameters_by_component": Dictionary(uniqueKeysWithValues: components),
                "size_bytes": size, "uncompressed_bytes": uncompressed,
                "compression_ratio": Double(size) / Double(max(uncompressed, 1)), "crc": "verified",
                "optimizer": t.optimizer, "members": reader.memberNames.count,
            ]
            if let best = t.bestValidPerplexity { summary["best_valid_perplexity"] = best }
            summary["has_softmax"] = model.softmax != nil
            if let origin = t.importedFrom { summary["imported_from"] = origin }
            if let source = t.initFrom {
                summary["init_from"] = source
                if let crc = t.initFromCRC32 { summary["init_from_crc32"] = String(format: "%08x", crc) }
            }
            if json {
                printJSON(summary)
                return
            }
            print("checkpoint  \(file)")
            print("format      \(t.format) v\(t.version), \(reader.memberNames.count) members, CRC verified")
            print("size        \(size) bytes on disk, \(uncompressed) uncompressed (ratio \(String(format: "%.3f", Double(size) / Double(max(uncompressed, 1)))))")
            if let origin = t.importedFrom {  // never trained here, so no training line
                print("imported    from \(origin) (\(model.softmax == nil ? "no softmax: embed and finetune only" : "with its bilm-tf softmax"))")
            } else {
                print("training    step \(t.step), epoch \(t.epoch), \(t.tokensTrained) tokens, optimizer \(t.optimizer)")
            }
            if let source = t.initFrom {
                print("init from   \(source) (CRC-32 \(t.initFromCRC32.map { String(format: "%08x", $0) } ?? "?"))")
            }
            print("best ppl    \(t.bestValidPerplexity.map { String(format: "%.2f", $0) } ?? "-")")
            print("vocabulary  \(contents.vocabulary.count)")
            print("parameters  \(model.parameterCount)")
            for (name, count) in components { print("  \(name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(count)") }
            let options = model.options
            print("config      char_cnn filters \(options.charCNN.filters), highway \(options.charCNN.highwayLayers), lstm \(options.lstm.layerCount) x (cell \(options.lstm.cellSize), projection \(options.lstm.projectionSize)), dropout \(options.dropout)")
        }
    }

    /// A fine-tuned task model: its kind, labels, mode, biLM and head, from `task.json`.
    private func inspectTaskModel(file: String, reader: NpzReader, uncompressed: Int) throws {
        let manifest = (try? JSONSerialization.jsonObject(with: Data(try reader.bytes("task.json")))) as? [String: Any] ?? [:]
        let size = ((try? FileManager.default.attributesOfItem(atPath: file)[.size]) as? NSNumber)?.intValue ?? 0
        var parameters = 0
        for member in reader.memberNames where member.hasSuffix(".npy") { parameters += (try? reader.tensor(String(member.dropLast(4))).count) ?? 0 }
        let labels = manifest["labels"] as? [String] ?? []
        let bilm = (manifest["bilm"] as? [String: Any])?["path"] as? String
        var summary: [String: Any] = [
            "file": file, "format": manifest["format"] ?? "?", "version": manifest["version"] ?? 0, "kind": manifest["kind"] ?? "?",
            "mode": manifest["mode"] ?? "?", "labels": labels, "parameters": parameters, "size_bytes": size,
            "uncompressed_bytes": uncompressed, "crc": "verified", "members": reader.memberNames.count,
        ]
        if let bilm { summary["bilm"] = bilm }
        if let options = manifest["options"] { summary["options"] = options }
        if let warning = RunFolder.incompleteWarning(for: file) { summary["incomplete"] = warning }
        if json {
            printJSON(summary)
            return
        }
        print("task model  \(file)")
        print("format      \(summary["format"]!) v\(summary["version"]!), \(reader.memberNames.count) members, CRC verified")
        print("size        \(size) bytes on disk, \(uncompressed) uncompressed")
        print("kind        \(summary["kind"]!) (\(summary["mode"]!) biLM); use it with `elmo predict --model` and `elmo evaluate --model`")
        print("labels      \(labels.count): \(labels.prefix(20).joined(separator: " "))\(labels.count > 20 ? " …" : "")")
        print("parameters  \(parameters) (stored)")
        print("biLM        \(bilm ?? "none (trained from scratch)")")
        if let warning = summary["incomplete"] { print("incomplete  \(warning)") }
    }
}
