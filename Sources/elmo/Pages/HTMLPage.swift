import Foundation

/// Self-contained HTML pages (cells, neighbours, training report): one file with inline CSS, JS and data that
/// opens from disk. A Content-Security-Policy forbids every request (scripts, styles and images only inline or as
/// `data:`), so a page cannot reach the network even by mistake.
enum HTMLPage {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// `object` as JSON that is safe inside a `<script>` element (no `</script>` or `<!--` can appear in it).
    static func json(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
    }

    /// A number rounded to `digits` decimals (keeps embedded data small).
    static func rounded(_ value: Float, _ digits: Int = 3) -> Double {
        let scale = pow(10, Double(digits))
        return (Double(value) * scale).rounded() / scale + 0  // + 0 turns -0 into 0
    }

    static let baseStyle = """
    body { font: 14px/1.5 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; max-width: 1100px; }
    h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 6px; }
    .meta { color: #666; font-size: 12px; margin-bottom: 12px; }
    table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
    th { background: #f4f4f4; } td.l, th.l { text-align: left; }
    code { background: #f4f4f4; padding: 0 3px; }
    """

    /// The whole document. `data` (any JSON object) is embedded as `<script type="application/json" id="data">`.
    /// The script ends by setting `data-rendered="ok"` on the body, so a check can tell that it ran to its end.
    static func document(title: String, style: String, body: String, data: Any? = nil, script: String = "") throws -> String {
        let dataElement = try data.map { "<script type=\"application/json\" id=\"data\">\(try json($0))</script>\n" } ?? ""
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>\(baseStyle)\(style)</style>
        </head><body>
        \(body)
        \(dataElement)<script>\(script)
        document.body.dataset.rendered = 'ok';</script>
        </body></html>

        """
    }

    /// Writes `html` to `path` atomically (a half-written page never replaces a good one).
    static func write(_ html: String, to path: String) throws {
        try Data(html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
