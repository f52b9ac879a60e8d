/// Ranks a biLM's memory cells by how well they track a text property: the Pearson correlation between a cell's
/// value and the property over every token of a `CellTrace`. A cell's label is the property it correlates with
/// most strongly (by |r|); the ranking is by that |r|.
public struct RankedCell: Equatable {
    public var layer: Int
    public var direction: String
    /// 0-based cell index in its layer.
    public var cell: Int
    /// The property with the largest |r|, and that r.
    public var property: TextProperty
    public var correlation: Double
    /// r for every property, by its raw name.
    public var correlations: [String: Double]
}

public enum CellRanking {
    /// Pearson's r of two equally long series; 0 when either is constant.
    public static func pearson(_ x: [Float], _ y: [Float]) -> Double {
        precondition(x.count == y.count, "pearson: \(x.count) vs \(y.count) values.")
        let n = Double(x.count)
        guard n > 1 else { return 0 }
        var sx = 0.0, sy = 0.0
        for i in x.indices { sx += Double(x[i]); sy += Double(y[i]) }
        let mx = sx / n, my = sy / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            let dx = Double(x[i]) - mx, dy = Double(y[i]) - my
            sxy += dx * dy
            sxx += dx * dx
            syy += dy * dy
        }
        guard sxx > 0 && syy > 0 else { return 0 }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Every cell of every group with its correlations, best first (ties: layer, direction, cell order).
    public static func rank(_ trace: CellTrace, properties: [TextProperty] = TextProperty.allCases) -> [RankedCell] {
        let targets = properties.map { ($0, $0.values(trace.sentences)) }
        let n = trace.tokenCount
        var ranked: [RankedCell] = []
        for group in trace.groups {
            for j in 0..<group.cellCount {
                let series = (0..<n).map { group.value(token: $0, cell: j) }
                var all: [String: Double] = [:]
                var best = (TextProperty.position, 0.0)
                for (property, values) in targets {
                    let r = pearson(series, values)
                    all[property.rawValue] = r
                    if abs(r) > abs(best.1) { best = (property, r) }
                }
                ranked.append(RankedCell(layer: group.layer, direction: group.direction, cell: j, property: best.0,
                                         correlation: best.1, correlations: all))
            }
        }
        // Stable: sorted by |r|, the enumeration order breaking ties.
        return ranked.enumerated().sorted { a, b in
            abs(a.element.correlation) != abs(b.element.correlation) ? abs(a.element.correlation) > abs(b.element.correlation) : a.offset < b.offset
        }.map(\.element)
    }

    /// For each property, the cell whose |r| with it is largest (whatever the cell's own label), in property order.
    public static func bestPerProperty(_ ranked: [RankedCell], properties: [TextProperty] = TextProperty.allCases) -> [(TextProperty, RankedCell)] {
        properties.compactMap { property in
            ranked.max { abs($0.correlations[property.rawValue] ?? 0) < abs($1.correlations[property.rawValue] ?? 0) }.map { (property, $0) }
        }
    }

    /// The best `perGroup` cells of each layer and direction (so every one appears), each group best first,
    /// groups in layer then direction order.
    public static func top(_ ranked: [RankedCell], perGroup: Int) -> [RankedCell] {
        var taken: [String: Int] = [:]
        let kept = ranked.filter { cell in
            let key = "\(cell.layer)/\(cell.direction)"
            taken[key, default: 0] += 1
            return taken[key]! <= perGroup
        }
        return kept.enumerated().sorted { a, b in
            (a.element.layer, a.element.direction == "forward" ? 0 : 1, a.offset) < (b.element.layer, b.element.direction == "forward" ? 0 : 1, b.offset)
        }.map(\.element)
    }
}
