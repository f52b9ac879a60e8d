import Foundation

/// What `pretrain --resume` compares between the checkpoint and the command: a resumed run continues the same run,
/// so a different seed or training text is refused (it would silently give another run under the same name), and a
/// changed config, which the checkpoint's options override, is named key by key.
enum ResumeCheck {
    /// Throws `BiLMError.resumeMismatch` when `--seed` or the training files differ from the checkpoint's.
    static func requireSameRun(checkpoint trainer: TrainerState, seed: UInt64, trainFiles: [String], folder: String) throws {
        if trainer.seed != seed {
            throw BiLMError.resumeMismatch(folder: folder, what: "--seed", stored: "\(trainer.seed)", given: "\(seed)")
        }
        if !trainer.trainFiles.isEmpty && trainer.trainFiles != trainFiles {
            throw BiLMError.resumeMismatch(folder: folder, what: "--train", stored: trainer.trainFiles.joined(separator: " "),
                                               given: trainFiles.joined(separator: " "))
        }
    }

    /// The keys (dotted paths) whose values differ between two option sets, with both values, e.g.
    /// `lstm.dim 256 -> 512`.
    static func changedKeys(stored: BiLMOptions, given: BiLMOptions) -> [String] {
        let a = flattened(stored), b = flattened(given)
        return Set(a.keys).union(b.keys).sorted().compactMap { key in
            a[key] == b[key] ? nil : "\(key) \(a[key] ?? "absent") -> \(b[key] ?? "absent")"
        }
    }

    /// The options as dotted key paths (`lstm.dim`) and their JSON values.
    static func flattened(_ options: BiLMOptions) -> [String: String] {
        guard let data = try? JSONEncoder().encode(options),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        func walk(_ value: Any, _ prefix: String) {
            if let dictionary = value as? [String: Any] {
                for (key, child) in dictionary { walk(child, prefix.isEmpty ? key : prefix + "." + key) }
            } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                out[prefix] = String(decoding: data, as: UTF8.self)
            }
        }
        walk(object, "")
        return out
    }
}
