import ArgumentParser
import ElmoText

/// "Did you mean …?" for a misspelt subcommand or option, which swift-argument-parser reports only as unexpected
/// (or, for an option, as the required one missing). Looked at before parsing; when nothing is close, parsing goes
/// on and reports as usual.
enum MisspellingHint {
    static func message(for arguments: [String]) -> String? {
        var command: ParsableCommand.Type = Elmo.self
        var path = ["elmo"]
        var rest = arguments[...]
        while let next = rest.first, !next.hasPrefix("-") {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty else { break }
            let names = subcommands.map { name(of: $0) }
            if let index = names.firstIndex(of: next) {
                let match = subcommands[index]
                command = match
                path.append(next)
                rest = rest.dropFirst()
                continue
            }
            guard let near = Spelling.closest(next, among: names) else { return nil }
            return "Unknown command '\(next)' for `\(path.joined(separator: " "))`. Did you mean '\(near)'?"
        }
        let known = optionNames(of: command)
        for argument in rest where argument.hasPrefix("--") && argument.count > 2 {
            let name = String(argument.prefix { $0 != "=" })
            guard !known.contains(name) else { continue }
            guard let near = Spelling.closest(name, among: Array(known)) else { return nil }
            return "Unknown option '\(name)' for `\(path.joined(separator: " "))`. Did you mean '\(near)'?"
        }
        return nil
    }

    private static func name(of command: ParsableCommand.Type) -> String {
        command._commandName
    }

    /// The `--long` names a command accepts, read from its help text (the parser keeps them to itself).
    static func optionNames(of command: ParsableCommand.Type) -> Set<String> {
        var names: Set<String> = ["--help", "--version", "--generate-completion-script", "--experimental-dump-help"]
        let help = Elmo.helpMessage(for: command, columns: 1000)
        var current = ""
        for character in help + " " {
            if character.isLetter || character.isNumber || character == "-" {
                current.append(character)
            } else {
                if current.hasPrefix("--") && current.count > 2 { names.insert(current) }
                current = ""
            }
        }
        return names
    }
}
