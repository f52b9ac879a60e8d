import Foundation

/// `elmo report`'s page: curves as inline SVG, final numbers, parameter counts, the config and (task runs with
/// --data) a confusion matrix.
enum ReportPage {
    static func html(_ run: RunReport) throws -> String {
        let charts = run.kind == "pretrain" ? pretrainCharts(run.records) : taskCharts(run.records)
        let numbers = run.kind == "pretrain" ? pretrainNumbers(run.records) : taskNumbers(run.records, primary: run.primaryMetric ?? "accuracy")
        let total = run.parameterCounts.reduce(0) { $0 + $1.1 }
        let parameterRows = (run.parameterCounts + [("total", total)]).map { "<tr><td class=\"l\">\(HTMLPage.escape($0.0))</td><td>\(grouped($0.1))</td></tr>" }
        var body = """
        <h1>Training report: \(HTMLPage.escape((run.folder as NSString).lastPathComponent))</h1>
        <div class="meta">\(HTMLPage.escape(run.kind == "pretrain" ? "biLM pre-training" : "\(run.kind) fine-tuning")) · \
        \(HTMLPage.escape(run.checkpoint)) · \(run.records.count) records in metrics.jsonl</div>
        <div class="charts">\(charts.joined(separator: "\n"))</div>
        <div class="cols"><div><h2>Final numbers</h2><table>\(numbers.map { "<tr><td class=\"l\">\(HTMLPage.escape($0.0))</td><td>\(HTMLPage.escape($0.1))</td></tr>" }.joined())</table></div>
        <div><h2>Parameters</h2><table>\(parameterRows.joined())</table></div></div>
        """
        if let confusion = run.confusion {
            let head = confusion.labels.map { "<th>\(HTMLPage.escape($0))</th>" }.joined()
            let rows = zip(confusion.labels, confusion.counts).enumerated().map { g, pair in
                "<tr><th class=\"l\">\(HTMLPage.escape(pair.0))</th>" + pair.1.enumerated().map { p, n in
                    "<td class=\"\(g == p ? "diag" : "")\">\(n)</td>"
                }.joined() + "</tr>"
            }.joined()
            body += "<h2>Confusion matrix on \(HTMLPage.escape(confusion.data))</h2><p class=\"meta\">rows: gold, columns: predicted</p>"
                + "<table class=\"confusion\"><tr><th></th>\(head)</tr>\(rows)</table>"
        }
        body += "<h2>\(run.kind == "pretrain" ? "Config (options.json)" : "Model (task.json)")</h2><pre>\(HTMLPage.escape(run.config))</pre>"
        return try HTMLPage.document(title: "Report · \(run.folder)", style: style, body: body)
    }

    static let style = """
    .charts { display: flex; flex-wrap: wrap; gap: 8px 16px; } .cols { display: flex; gap: 40px; flex-wrap: wrap; }
    pre { background: #f7f7f7; padding: 8px; font-size: 12px; max-height: 420px; overflow: auto; }
    table.confusion td.diag { background: #d9f0d3; font-weight: 600; }
    """

    static func points(_ records: [[String: Any]], kind: String, x: String, y: String, transform: (Double) -> Double = { $0 })
        -> [(x: Double, y: Double)] {
        records.filter { ($0["kind"] as? String) == kind }.compactMap { r in
            guard let xv = (r[x] as? NSNumber)?.doubleValue, let yv = (r[y] as? NSNumber)?.doubleValue else { return nil }
            return (xv, transform(yv))
        }
    }

    static func pretrainCharts(_ records: [[String: Any]]) -> [String] {
        var charts = [
            SVGChart.lines(title: "loss (train, mean of both directions)", xLabel: "tokens trained",
                           series: [.init(name: "train loss", points: points(records, kind: "train", x: "tokens", y: "train_loss"))]),
            SVGChart.lines(title: "perplexity (log scale)", xLabel: "tokens trained", series: [
                .init(name: "train", points: points(records, kind: "train", x: "tokens", y: "train_loss", transform: { exp($0) })),
                .init(name: "valid forward", points: points(records, kind: "valid", x: "tokens", y: "valid_ppl_fwd")),
                .init(name: "valid backward", points: points(records, kind: "valid", x: "tokens", y: "valid_ppl_bwd")),
                .init(name: "valid mean", points: points(records, kind: "valid", x: "tokens", y: "valid_ppl_mean")),
            ], logY: true),
            SVGChart.lines(title: "tokens/s", xLabel: "tokens trained",
                           series: [.init(name: "tokens/s", points: points(records, kind: "train", x: "tokens", y: "tokens_per_s"))]),
        ]
        let rates = points(records, kind: "train", x: "tokens", y: "learning_rate")
        if !rates.isEmpty {
            charts.append(SVGChart.lines(title: "learning rate", xLabel: "tokens trained", series: [.init(name: "learning rate", points: rates)]))
        }
        return charts
    }

    static func taskCharts(_ records: [[String: Any]]) -> [String] {
        let devKeys = Set(records.filter { ($0["kind"] as? String) == "dev" }.flatMap { $0.keys.filter { $0.hasPrefix("dev_") } }).sorted()
        return [
            SVGChart.lines(title: "train loss", xLabel: "step", series: [
                .init(name: "train loss (batches)", points: points(records, kind: "train", x: "step", y: "train_loss")),
                .init(name: "train loss (epoch)", points: points(records, kind: "dev", x: "step", y: "train_loss")),
            ]),
            SVGChart.lines(title: "dev scores", xLabel: "step", series: devKeys.map {
                .init(name: String($0.dropFirst(4)).replacingOccurrences(of: "_", with: " "), points: points(records, kind: "dev", x: "step", y: $0))
            }),
        ]
    }

    static func last(_ records: [[String: Any]], kind: String, _ key: String) -> Double? {
        records.last { ($0["kind"] as? String) == kind && $0[key] != nil }.flatMap { ($0[key] as? NSNumber)?.doubleValue }
    }

    static func pretrainNumbers(_ records: [[String: Any]]) -> [(String, String)] {
        var rows: [(String, String)] = []
        if let v = last(records, kind: "train", "step") { rows.append(("steps", grouped(Int(v)))) }
        if let v = last(records, kind: "train", "tokens") { rows.append(("tokens trained", grouped(Int(v)))) }
        if let v = last(records, kind: "train", "elapsed_s") { rows.append(("elapsed (this session)", String(format: "%.0f s", v))) }
        if let v = last(records, kind: "train", "tokens_per_s") { rows.append(("tokens/s", String(format: "%.0f", v))) }
        if let v = last(records, kind: "train", "train_loss") { rows.append(("final train loss", String(format: "%.4f (ppl %.1f)", v, exp(v)))) }
        for (key, name) in [("valid_ppl_fwd", "forward"), ("valid_ppl_bwd", "backward"), ("valid_ppl_mean", "mean")] {
            if let v = last(records, kind: "valid", key) { rows.append(("final valid perplexity, \(name)", String(format: "%.2f", v))) }
        }
        let best = points(records, kind: "valid", x: "tokens", y: "valid_ppl_mean").min { $0.y < $1.y }
        if let best { rows.append(("best valid perplexity (mean)", String(format: "%.2f at %@ tokens", best.y, grouped(Int(best.x))))) }
        return rows
    }

    static func taskNumbers(_ records: [[String: Any]], primary: String) -> [(String, String)] {
        let devs = records.filter { ($0["kind"] as? String) == "dev" }
        guard let best = devs.max(by: { (($0["dev_\(primary)"] as? NSNumber)?.doubleValue ?? -1) < (($1["dev_\(primary)"] as? NSNumber)?.doubleValue ?? -1) })
        else { return [("dev evaluations", "0")] }
        var rows: [(String, String)] = [("epochs evaluated", "\(devs.count)"), ("best epoch (by dev \(primary))", "\(((best["epoch"] as? NSNumber)?.intValue ?? 0))")]
        for key in best.keys.filter({ $0.hasPrefix("dev_") }).sorted() {
            if let v = (best[key] as? NSNumber)?.doubleValue { rows.append(("best \(key.replacingOccurrences(of: "_", with: " "))", String(format: "%.4f", v))) }
        }
        if let v = last(records, kind: "dev", "elapsed_s") { rows.append(("training time", String(format: "%.0f s", v))) }
        return rows
    }

    static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }
}
