import ElmoText
import XCTest

final class ReaderConllTests: XCTestCase {
    func testConllSentencesDocstartAndLastColumn() throws {
        let text = """
            -DOCSTART- -DOCSTART- O

            EU NNP B-ORG
            rejects VBZ O
            German JJ B-MISC


            Peter NNP B-PER
            Blackburn NNP I-PER
            """
        let path = try temporaryFile(text)
        XCTAssertEqual(try ConllReader().read(path: path), [
            TaggedSentence(tokens: ["EU", "rejects", "German"], tags: ["B-ORG", "O", "B-MISC"], line: 3),
            TaggedSentence(tokens: ["Peter", "Blackburn"], tags: ["B-PER", "I-PER"], line: 8),
        ])
        XCTAssertEqual(try ConllReader(tokenColumn: 0, tagColumn: 1).read(path: path).map(\.tags),
                       [["NNP", "VBZ", "JJ"], ["NNP", "NNP"]])
    }

    func testConllTabSeparatedTwoColumns() throws {
        let path = try temporaryFile("The\tat\nJury\tnn-tl\n\nSaid\tvbd\n")
        XCTAssertEqual(try ConllReader().read(path: path), [
            TaggedSentence(tokens: ["The", "Jury"], tags: ["at", "nn-tl"], line: 1),
            TaggedSentence(tokens: ["Said"], tags: ["vbd"], line: 4),
        ])
    }

    func testConllColumnCountMismatchNamesLine() throws {
        let path = try temporaryFile("EU NNP B-ORG\nrejects O\n")
        assertThrows(try ConllReader().read(path: path),
                     .columnCountMismatch(path: path, line: 2, found: 2, expected: 3, layoutLine: 1),
                     mentions: ["\(path):2"])
    }

    /// Issue 15: a word/TAG file read as CoNLL said only "7 columns, but line 1 has 26".
    func testSlashTaggedSentencesReadAsConllSuggestFormatSlash() throws {
        let path = try temporaryFile("The/DT cat/NN sat/VBD on/IN the/DT mat/NN ./.\nA/DT dog/NN ran/VBD ./.\n")
        assertThrows(try ConllReader().read(path: path), .looksSlashTagged(path: path, line: 2), mentions: ["\(path):2", "--format slash"])
    }

    func testConllTagColumnOutOfRange() throws {
        let path = try temporaryFile("\nEU B-ORG\n")
        assertThrows(try ConllReader(tagColumn: 3).read(path: path),
                     .columnOutOfRange(path: path, line: 2, column: 3, columnCount: 2), mentions: ["\(path):2"])
    }

    func testEmptyConllFile() throws {
        let path = try temporaryFile("-DOCSTART- O\n\n\n")
        assertThrows(try ConllReader().read(path: path), .noExamples(path: path), mentions: [path])
    }

    static let conllu = """
        # sent_id = 1
        # text = Don't go.
        1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
        1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
        2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
        3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
        3.1\tgone\tgo\tVERB\tVBN\t_\t_\t_\t3:conj\t_
        4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\tSpaceAfter=No

        # sent_id = 2
        1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_

        """

    func testConlluFormUposAndXpos() throws {
        let path = try temporaryFile(Self.conllu, name: "tiny.conllu")
        XCTAssertEqual(try ConllReader(format: .conllu).read(path: path), [
            TaggedSentence(tokens: ["Do", "n't", "go", "."], tags: ["AUX", "PART", "VERB", "PUNCT"], line: 4),
            TaggedSentence(tokens: ["Yes"], tags: ["INTJ"], line: 11),
        ])
        XCTAssertEqual(try ConllReader(format: .conllu, useXPOS: true).read(path: path).map(\.tags),
                       [["VBP", "RB", "VB", "."], ["UH"]])
    }

    func testConlluMalformedIDNamesLine() throws {
        for badID in ["x", "1-", "2.", "-1", "3"] {
            let path = try temporaryFile("1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n"
                                         + "\(badID)\tB\tb\tNOUN\tNN\t_\t1\tdep\t_\t_\n")
            assertThrows(try ConllReader(format: .conllu).read(path: path),
                         .malformedConlluID(path: path, line: 2, id: badID, expected: 2), mentions: ["\(path):2"])
        }
    }

    func testConlluWrongColumnCountNamesLine() throws {
        let path = try temporaryFile("# c\n1 A a DET DT _ 0 root _ _\n")
        assertThrows(try ConllReader(format: .conllu).read(path: path),
                     .conlluColumnCount(path: path, line: 2, found: 1), mentions: ["\(path):2", "10"])
    }

    func testConlluUnspecifiedXposIsAnError() throws {
        let path = try temporaryFile("1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n")
        assertThrows(try ConllReader(format: .conllu, useXPOS: true).read(path: path),
                     .unspecifiedTag(path: path, line: 1, column: "XPOS"), mentions: ["\(path):1", "XPOS"])
    }
}
