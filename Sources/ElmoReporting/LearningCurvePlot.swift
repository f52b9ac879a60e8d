import ElmoStorage
import Foundation

/// A dependency-free SVG plot of learning curves: one panel per named series, x = tokens (or steps).
public enum LearningCurvePlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    /// The (x, y) pairs of the `metrics.jsonl` records of one kind (e.g. "train"), skipping records without both keys.
    public static func points(_ records: [[String: Any]], kind: String, x: String, y: String) -> [(x: Double, y: Double)] {
        records.filter { ($0["kind"] as? String) == kind }.compactMap { record in
            guard let xValue = (record[x] as? NSNumber)?.doubleValue, let yValue = (record[y] as? NSNumber)?.doubleValue else { return nil }
            return (xValue, yValue)
        }
    }

    /// Renders the series side by side, each panel with its own y range, and writes the SVG to `path`.
    public static func write(_ series: [Series], xLabel: String, title: String, to path: String) throws {
        let panelWidth = 420.0, panelHeight = 300.0, margin = 50.0
        let width = Double(max(series.count, 1)) * (panelWidth + margin) + margin
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(panelHeight + 2 * margin))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(margin)" y="20" font-size="14">\(escape(title))</text>

        """
        for (k, s) in series.enumerated() {
            let x0 = margin + Double(k) * (panelWidth + margin), y0 = margin
            svg += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#999\"/>\n"
            svg += "<text x=\"\(x0 + 5)\" y=\"\(y0 - 6)\">\(escape(s.name))</text>\n"
            svg += "<text x=\"\(x0 + panelWidth / 2 - 20)\" y=\"\(y0 + panelHeight + 32)\">\(escape(xLabel))</text>\n"
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            guard let minX = pts.map(\.x).min(), let maxX = pts.map(\.x).max(),
                  let minY = pts.map(\.y).min(), let maxY = pts.map(\.y).max() else { continue }
            let spanX = max(maxX - minX, 1e-9), spanY = max(maxY - minY, 1e-9)
            func px(_ x: Double) -> Double { x0 + (x - minX) / spanX * panelWidth }
            func py(_ y: Double) -> Double { y0 + panelHeight - (y - minY) / spanY * panelHeight }
            let path = pts.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
            if pts.count == 1 { svg += "<circle cx=\"\(px(pts[0].x))\" cy=\"\(py(pts[0].y))\" r=\"3\" fill=\"#1f77b4\"/>\n" }
            svg += "<text x=\"\(x0 - 45)\" y=\"\(y0 + 10)\">\(format(maxY))</text>\n"
            svg += "<text x=\"\(x0 - 45)\" y=\"\(y0 + panelHeight)\">\(format(minY))</text>\n"
            svg += "<text x=\"\(x0)\" y=\"\(y0 + panelHeight + 16)\">\(format(minX))</text>\n"
            svg += "<text x=\"\(x0 + panelWidth - 40)\" y=\"\(y0 + panelHeight + 16)\">\(format(maxX))</text>\n"
        }
        svg += "</svg>\n"
        try RunFolder.writeAtomically(Data(svg.utf8), to: path)
    }

    static func format(_ v: Double) -> String { abs(v) >= 1000 ? String(format: "%.3g", v) : String(format: "%.3f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
