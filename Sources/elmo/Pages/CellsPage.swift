import ElmoEmbeddings

/// `elmo visualize cells`' page: the text with every token coloured by one memory cell's value (red positive,
/// blue negative, scaled by the cell's largest |value| over the text), a selector over the ranked cells of every
/// layer and direction, and each cell's correlation with every text property.
enum CellsPage {
    /// The numbers of the page (also what `--json` writes): tokens per sentence, and per shown cell its layer,
    /// direction, index, label, correlations and values.
    static func data(trace: CellTrace, cells: [RankedCell], checkpoint: String, totalCells: Int) -> [String: Any] {
        let groupIndex = Dictionary(uniqueKeysWithValues: trace.groups.enumerated().map { ("\($1.layer)/\($1.direction)", $0) })
        return [
            "checkpoint": checkpoint,
            "stream": trace.stream,
            "tokens": trace.tokenCount,
            "sentences": trace.sentences,
            "cells_ranked": totalCells,
            "properties": Dictionary(uniqueKeysWithValues: TextProperty.allCases.map { ($0.rawValue, $0.label) }),
            "cells": cells.map { cell -> [String: Any] in
                let group = trace.groups[groupIndex["\(cell.layer)/\(cell.direction)"]!]
                return [
                    "layer": cell.layer, "direction": cell.direction, "cell": cell.cell,
                    "property": cell.property.rawValue, "correlation": HTMLPage.rounded(Float(cell.correlation)),
                    "correlations": cell.correlations.mapValues { HTMLPage.rounded(Float($0)) },
                    "values": (0..<trace.tokenCount).map { HTMLPage.rounded(group.value(token: $0, cell: cell.cell)) },
                ]
            },
        ]
    }

    static func html(data: [String: Any], checkpoint: String, trace: CellTrace) throws -> String {
        var text = ""
        var n = 0
        for sentence in trace.sentences {
            text += "<p class=\"sent\">"
            for token in sentence {
                text += "<span class=\"tok\" data-i=\"\(n)\">\(HTMLPage.escape(token))</span> "
                n += 1
            }
            text += "</p>\n"
        }
        let body = """
        <h1>Interpretable cells</h1>
        <div class="meta">\(HTMLPage.escape(checkpoint)) · \(trace.tokenCount) tokens in \(trace.sentences.count) sentences · \
        \(trace.stream ? "read as one stream" : "each sentence from a zero state") · cells ranked by |r| with a text property</div>
        <div class="controls"><label>Cell <select id="cell"></select></label>
        <span class="scale"><span class="neg">−</span><span class="bar"></span><span class="pos">+</span></span></div>
        <div id="info"></div>
        <div id="text">
        \(text)</div>
        """
        return try HTMLPage.document(title: "Cells · \(checkpoint)", style: style, body: body, data: data, script: script)
    }

    static let style = """
    .controls { margin: 8px 0; } select { font: inherit; max-width: 100%; }
    .scale { margin-left: 16px; } .bar { display: inline-block; width: 160px; height: 10px; vertical-align: middle;
      background: linear-gradient(to right, rgb(33,102,172), #fff, rgb(214,47,39)); margin: 0 4px; }
    #info { font-size: 12px; color: #444; margin: 6px 0 12px; }
    #info b { color: #000; }
    #text { font-family: ui-monospace, monospace; font-size: 13px; line-height: 1.9; }
    .sent { margin: 0 0 6px; } .tok { padding: 1px 2px; border-radius: 2px; }
    """

    static let script = """
    const D = JSON.parse(document.getElementById('data').textContent);
    const select = document.getElementById('cell'), info = document.getElementById('info');
    const spans = Array.from(document.querySelectorAll('.tok'));
    let group = null;
    D.cells.forEach((c, i) => {
      const key = 'layer ' + c.layer + ' ' + c.direction;
      if (!group || group.label !== key) { group = document.createElement('optgroup'); group.label = key; select.appendChild(group); }
      const o = document.createElement('option');
      o.value = i;
      o.textContent = 'cell ' + c.cell + ': ' + D.properties[c.property] + ' (r = ' + c.correlation.toFixed(2) + ')';
      group.appendChild(o);
    });
    function colour(v) {
      const a = Math.min(Math.abs(v), 1), t = v >= 0 ? [214, 47, 39] : [33, 102, 172];
      return 'rgb(' + t.map(x => Math.round(255 + (x - 255) * a)).join(', ') + ')';
    }
    function paint(i) {
      const c = D.cells[i];
      const scale = Math.max(1e-6, ...c.values.map(Math.abs));
      spans.forEach(s => {
        const v = c.values[+s.dataset.i];
        s.style.backgroundColor = colour(v / scale);
        s.title = 'c = ' + v.toFixed(3);
      });
      const rs = Object.keys(c.correlations).sort((a, b) => Math.abs(c.correlations[b]) - Math.abs(c.correlations[a]));
      info.innerHTML = '';
      const head = document.createElement('b');
      head.textContent = 'layer ' + c.layer + ' ' + c.direction + ', cell ' + c.cell + ': ';
      info.appendChild(head);
      info.appendChild(document.createTextNode(rs.map(k => D.properties[k] + ' ' + c.correlations[k].toFixed(2)).join(' · ') +
        ' · max |c| ' + scale.toFixed(2)));
    }
    select.addEventListener('change', () => paint(+select.value));
    if (D.cells.length) paint(0);
    """
}
