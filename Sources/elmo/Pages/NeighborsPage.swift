import ElmoEmbeddings

/// `elmo neighbors --html`: the query with its token marked, then each hit's score and sentence with the hit
/// marked, its background shaded by the score.
enum NeighborsPage {
    static func html(query: [String], word: Int, layer: String, checkpoint: String, hits: [NeighborIndex.Hit],
                     index: NeighborIndex) throws -> String {
        func sentence(_ tokens: [String], marked: Int, score: Float?) -> String {
            tokens.enumerated().map { i, token in
                i == marked
                    ? "<span class=\"tok hit\" data-score=\"\(score.map { String(format: "%.4f", $0) } ?? "1")\">\(HTMLPage.escape(token))</span>"
                    : HTMLPage.escape(token)
            }.joined(separator: " ")
        }
        let rows = hits.enumerated().map { rank, hit in
            "<tr><td>\(rank + 1)</td><td>\(String(format: "%.3f", hit.score))</td><td class=\"l\">\(HTMLPage.escape(hit.token))</td>"
                + "<td class=\"l\">\(sentence(index.sentences[hit.sentence], marked: hit.position, score: hit.score))</td></tr>"
        }.joined(separator: "\n")
        let body = """
        <h1>Nearest neighbours in context</h1>
        <div class="meta">\(HTMLPage.escape(checkpoint)) · layer \(HTMLPage.escape(layer)) · cosine over \(index.tokenCount) tokens \
        of \(index.sentences.count) sentences</div>
        <p class="query">\(sentence(query, marked: word, score: nil))</p>
        <table><tr><th>#</th><th>cosine</th><th class="l">token</th><th class="l">sentence</th></tr>
        \(rows)
        </table>
        """
        return try HTMLPage.document(title: "Neighbours of \(query[word])", style: style, body: body, script: script)
    }

    static let style = """
    .query { font-size: 16px; margin: 12px 0; } .tok { padding: 1px 3px; border-radius: 3px; font-weight: 600; }
    .query .tok { background: rgb(255, 214, 102); }
    td.l { max-width: 760px; }
    """

    /// Shades each hit by its score (darker = nearer), relative to the best and worst shown.
    static let script = """
    const hits = Array.from(document.querySelectorAll('td .hit'));
    const scores = hits.map(h => +h.dataset.score);
    const hi = Math.max(...scores), lo = Math.min(...scores);
    hits.forEach((h, i) => {
      const a = 0.25 + 0.75 * (hi > lo ? (scores[i] - lo) / (hi - lo) : 1);
      h.style.backgroundColor = 'rgb(' + [255, 140, 0].map(x => Math.round(255 + (x - 255) * a)).join(', ') + ')';
    });
    """
}
