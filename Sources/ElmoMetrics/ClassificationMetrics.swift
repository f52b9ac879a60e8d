import Foundation

/// Classification scores: accuracy = correct / N; per class c, precision = TP/(TP+FP), recall = TP/(TP+FN),
/// F1 = 2PR/(P+R) (each 0 when its denominator is 0, as scikit-learn's `zero_division=0`); macro-F1 = the
/// unweighted mean of the per-class F1 over all labels. All values are fractions in [0, 1].
///
/// `labels` fixes the order of `perClass` and of the confusion matrix; labels seen in `gold` or `predicted` but
/// not listed are appended in sorted order (so an unexpected label is reported, never dropped).
public struct ClassificationReport: Codable, Equatable {
    public struct ClassScores: Codable, Equatable {
        public var label: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// Gold examples of this class.
        public var support: Int
        /// Examples predicted as this class.
        public var predicted: Int
    }

    public var labels: [String]
    public var count: Int
    public var accuracy: Double
    public var macroPrecision: Double
    public var macroRecall: Double
    public var macroF1: Double
    public var perClass: [ClassScores]
    /// `confusion[g][p]`: examples of gold label `labels[g]` predicted as `labels[p]`.
    public var confusion: [[Int]]

    public init(gold: [String], predicted: [String], labels: [String]) {
        precondition(gold.count == predicted.count,
                     "ClassificationReport needs one prediction per example, "
                     + "got \(gold.count) gold and \(predicted.count) predicted.")
        let extra = Set(gold + predicted).subtracting(labels).sorted()
        var allLabels: [String] = []
        for label in labels + extra where !allLabels.contains(label) { allLabels.append(label) }
        let index = Dictionary(uniqueKeysWithValues: allLabels.enumerated().map { ($1, $0) })
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: allLabels.count), count: allLabels.count)
        for (g, p) in zip(gold, predicted) { confusion[index[g]!][index[p]!] += 1 }

        let perClass = allLabels.indices.map { c -> ClassScores in
            let truePositives = confusion[c][c]
            let support = confusion[c].reduce(0, +)
            let predictedCount = confusion.reduce(0) { $0 + $1[c] }
            let precision = Self.ratio(truePositives, predictedCount)
            let recall = Self.ratio(truePositives, support)
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return ClassScores(label: allLabels[c], precision: precision, recall: recall, f1: f1,
                               support: support, predicted: predictedCount)
        }
        let correct = allLabels.indices.reduce(0) { $0 + confusion[$1][$1] }
        let classCount = Double(max(allLabels.count, 1))
        self.labels = allLabels
        self.count = gold.count
        self.accuracy = Self.ratio(correct, gold.count)
        self.macroPrecision = perClass.reduce(0) { $0 + $1.precision } / classCount
        self.macroRecall = perClass.reduce(0) { $0 + $1.recall } / classCount
        self.macroF1 = perClass.reduce(0) { $0 + $1.f1 } / classCount
        self.perClass = perClass
        self.confusion = confusion
    }

    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator > 0 ? Double(numerator) / Double(denominator) : 0
    }

    /// A text report in scikit-learn's `classification_report` layout, followed by the confusion matrix
    /// (rows gold, columns predicted).
    public var table: String {
        let width = max(12, (labels.map(\.count).max() ?? 0) + 2)
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + fill : fill + text
        }
        func score(_ value: Double) -> String { pad(String(format: "%.4f", value), 10) }
        var lines = [pad("", width, left: true) + pad("precision", 10) + pad("recall", 10) + pad("f1", 10)
                     + pad("support", 10)]
        for scores in perClass {
            lines.append(pad(scores.label, width, left: true) + score(scores.precision) + score(scores.recall)
                         + score(scores.f1) + pad(String(scores.support), 10))
        }
        lines.append("")
        lines.append(pad("accuracy", width, left: true) + pad("", 20) + score(accuracy) + pad(String(count), 10))
        lines.append(pad("macro avg", width, left: true) + score(macroPrecision) + score(macroRecall) + score(macroF1)
                     + pad(String(count), 10))
        lines.append("")
        lines.append("confusion matrix (rows gold, columns predicted):")
        let cellWidth = max(8, (labels.map(\.count).max() ?? 0) + 2)
        lines.append(pad("", width, left: true) + labels.map { pad($0, cellWidth) }.joined())
        for (g, row) in confusion.enumerated() {
            lines.append(pad(labels[g], width, left: true) + row.map { pad(String($0), cellWidth) }.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
