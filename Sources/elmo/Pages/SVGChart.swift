import Foundation

/// A small inline-SVG line chart for the report page: several series on shared axes, ticks and a legend.
enum SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
    }

    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    /// An `<svg class="chart">` with one `<polyline class="series">` per non-empty series (a lone point is a circle).
    /// `logY` plots log10(y) with ticks in y (perplexities: the first steps' would flatten the rest).
    static func lines(title: String, xLabel: String, series: [Series], logY: Bool = false, width: Double = 410, height: Double = 250) -> String {
        let left = 62.0, right = 12.0, top = 28.0, bottom = 44.0
        let plotW = width - left - right, plotH = height - top - bottom
        let drawn = series.map { s in
            Series(name: s.name, points: s.points.map { (x: $0.x, y: logY ? log10($0.y) : $0.y) }.filter { $0.x.isFinite && $0.y.isFinite })
        }.filter { !$0.points.isEmpty }
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-size=\"11\">"
        svg += "<text x=\"\(left)\" y=\"16\" font-size=\"13\" font-weight=\"600\">\(HTMLPage.escape(title))</text>"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"#fff\" stroke=\"#bbb\"/>"
        let all = drawn.flatMap(\.points)
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(), var minY = all.map(\.y).min(), var maxY = all.map(\.y).max() else {
            return svg + "<text x=\"\(left + 10)\" y=\"\(top + 20)\">no data</text></svg>"
        }
        if maxY - minY < 1e-12 { minY -= 0.5; maxY += 0.5 }
        let spanX = max(maxX - minX, 1e-12), spanY = maxY - minY
        func px(_ x: Double) -> Double { left + (x - minX) / spanX * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - minY) / spanY * plotH }
        for i in 0...4 {
            let fy = minY + spanY * Double(i) / 4, fx = minX + spanX * Double(i) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(f(py(fy)))\" y2=\"\(f(py(fy)))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 4)\" y=\"\(f(py(fy) + 4))\" text-anchor=\"end\">\(tick(logY ? pow(10, fy) : fy))</text>"
            svg += "<text x=\"\(f(px(fx)))\" y=\"\(top + plotH + 14)\" text-anchor=\"middle\">\(tick(fx))</text>"
        }
        svg += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">\(HTMLPage.escape(xLabel))</text>"
        // Legend entries left to right, wrapping at the plot's width (about 6.5 px per character at this size).
        var legendX = left + 8, legendY = top + 14
        for (k, s) in drawn.enumerated() {
            let colour = colours[k % colours.count]
            if s.points.count == 1 {
                svg += "<circle class=\"series\" cx=\"\(f(px(s.points[0].x)))\" cy=\"\(f(py(s.points[0].y)))\" r=\"3\" fill=\"\(colour)\"/>"
            } else {
                let path = s.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.6\" points=\"\(path)\"/>"
            }
            let entryWidth = 24 + 6.5 * Double(s.name.count)
            if legendX > left + 8 && legendX + entryWidth > left + plotW { legendX = left + 8; legendY += 14 }
            let lx = legendX, ly = legendY
            legendX += entryWidth
            svg += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 8))\" width=\"10\" height=\"3\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(f(lx + 14))\" y=\"\(f(ly - 4))\">\(HTMLPage.escape(s.name))</text>"
        }
        return svg + "</svg>"
    }

    private static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func tick(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return String(format: "%.2gM", v / 1e6) }
        if a >= 1e4 { return String(format: "%.0fk", v / 1e3) }
        if a >= 100 || a == 0 { return String(format: "%.0f", v) }
        if a >= 1 { return v == v.rounded() ? String(format: "%.0f", v) : String(format: "%.2f", v) }
        return String(format: "%.3g", v)
    }
}
