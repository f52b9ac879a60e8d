import ElmoText
import XCTest

final class TagSchemeTests: XCTestCase {
    // MARK: - conlleval chunk decoding

    func testSpanDecoderHandFixture() {
        // position:   0        1        2    3        4        5        6        7
        let tags = ["I-PER", "I-PER", "O", "I-LOC", "I-ORG", "B-ORG", "B-ORG", "I-ORG"]
        // I-PER after the sentence start (conlleval: after O) starts PER 0..<2; I-LOC after O starts LOC 3..<4;
        // the type change to I-ORG ends LOC and starts ORG 4..<5; B-ORG ends it and starts 5..<6; B-B adjacent
        // makes 6..<8, which runs to the sentence end.
        XCTAssertEqual(SpanDecoder.spans(tags), [
            Span(type: "PER", start: 0, end: 2), Span(type: "LOC", start: 3, end: 4),
            Span(type: "ORG", start: 4, end: 5), Span(type: "ORG", start: 5, end: 6),
            Span(type: "ORG", start: 6, end: 8),
        ])
    }

    func testSpanDecoderBIOESAndHyphenatedTypes() {
        XCTAssertEqual(SpanDecoder.spans(["S-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "E-LOC", "O", "B-X-Y"]), [
            Span(type: "PER", start: 0, end: 1), Span(type: "PER", start: 1, end: 2),
            Span(type: "LOC", start: 2, end: 5), Span(type: "LOC", start: 5, end: 6),
            Span(type: "X-Y", start: 7, end: 8),
        ])
        XCTAssertEqual(SpanDecoder.spans([]), [])
        XCTAssertEqual(SpanDecoder.spans(["O", "O"]), [])
    }

    // MARK: - Scheme conversion

    let iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "O", "I-MISC"]
    let bio = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "O", "B-MISC"]
    let bioes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "S-ORG", "O", "S-MISC"]

    func testConversionsBetweenAllSchemes() throws {
        let bySchemes: [TagScheme: [String]] = [.iob1: iob1, .bio: bio, .bioes: bioes]
        for from in TagScheme.allCases {
            for to in TagScheme.allCases {
                XCTAssertEqual(try TagScheme.convert(bySchemes[from]!, from: from, to: to), bySchemes[to]!,
                               "\(from) → \(to)")
            }
        }
    }

    func testRoundTripsKeepLongChunks() throws {
        let tags = ["B-ORG", "I-ORG", "I-ORG", "B-ORG", "I-ORG", "O", "B-PER"]
        let asBIOES = try TagScheme.convert(tags, from: .bio, to: .bioes)
        XCTAssertEqual(asBIOES, ["B-ORG", "I-ORG", "E-ORG", "B-ORG", "E-ORG", "O", "S-PER"])
        let asIOB1 = try TagScheme.convert(asBIOES, from: .bioes, to: .iob1)
        XCTAssertEqual(asIOB1, ["I-ORG", "I-ORG", "I-ORG", "B-ORG", "I-ORG", "O", "I-PER"])
        XCTAssertEqual(try TagScheme.convert(asIOB1, from: .iob1, to: .bio), tags)
    }

    func testInvalidTagNamesTheTag() {
        assertThrows(try TagScheme.convert(["O", "X-PER"], from: .bio, to: .bioes),
                     .invalidTag(tag: "X-PER", position: 1, scheme: "bio"), mentions: ["'X-PER'", "position 1"])
        assertThrows(try TagScheme.convert(["S-PER"], from: .bio, to: .bioes),
                     .invalidTag(tag: "S-PER", position: 0, scheme: "bio"), mentions: ["'S-PER'"])
        assertThrows(try TagScheme.convert(["B-"], from: .bioes, to: .bio),
                     .invalidTag(tag: "B-", position: 0, scheme: "bioes"), mentions: ["'B-'"])
    }

    func testConversionReadsIllFormedTransitionsAsConllevalDoes() throws {
        XCTAssertEqual(try TagScheme.convert(["O", "I-PER", "I-LOC", "I-LOC"], from: .bio, to: .bioes),
                       ["O", "S-PER", "B-LOC", "E-LOC"])
        XCTAssertEqual(try TagScheme.convert(["B-PER", "O", "E-LOC"], from: .bioes, to: .bio), ["B-PER", "O", "B-LOC"])
    }

    func testValidateRefusesInvalidTransitions() {
        assertThrows(try TagScheme.bio.validate(["O", "I-PER"]),
                     .invalidTransition(from: "O", to: "I-PER", position: 1, scheme: "bio"), mentions: ["'I-PER'"])
        assertThrows(try TagScheme.bio.validate(["I-PER"]),
                     .invalidTransition(from: nil, to: "I-PER", position: 0, scheme: "bio"), mentions: ["start"])
        assertThrows(try TagScheme.bioes.validate(["B-PER", "I-PER"]),
                     .invalidTransition(from: "I-PER", to: nil, position: 1, scheme: "bioes"), mentions: ["end"])
        assertThrows(try TagScheme.iob1.validate(["O", "B-PER"]),
                     .invalidTransition(from: "O", to: "B-PER", position: 1, scheme: "iob1"), mentions: ["'B-PER'"])
    }

    func testAllowedTransitions() {
        XCTAssertTrue(TagScheme.bio.isAllowedTransition(from: "B-PER", to: "I-PER"))
        XCTAssertTrue(TagScheme.bio.isAllowedTransition(from: "I-PER", to: "B-LOC"))
        XCTAssertFalse(TagScheme.bio.isAllowedTransition(from: "B-PER", to: "I-LOC"))
        XCTAssertFalse(TagScheme.bio.isAllowedTransition(from: "O", to: "I-LOC"))
        XCTAssertTrue(TagScheme.bio.isAllowedStart("B-PER"))
        XCTAssertFalse(TagScheme.bio.isAllowedStart("I-PER"))
        XCTAssertTrue(TagScheme.bio.isAllowedEnd("I-PER"))

        XCTAssertTrue(TagScheme.iob1.isAllowedTransition(from: "O", to: "I-PER"))
        XCTAssertTrue(TagScheme.iob1.isAllowedTransition(from: "I-PER", to: "B-PER"))
        XCTAssertFalse(TagScheme.iob1.isAllowedTransition(from: "I-LOC", to: "B-PER"))

        XCTAssertTrue(TagScheme.bioes.isAllowedTransition(from: "B-PER", to: "E-PER"))
        XCTAssertTrue(TagScheme.bioes.isAllowedTransition(from: "E-PER", to: "S-LOC"))
        XCTAssertTrue(TagScheme.bioes.isAllowedTransition(from: "S-PER", to: "O"))
        XCTAssertFalse(TagScheme.bioes.isAllowedTransition(from: "B-PER", to: "O"))
        XCTAssertFalse(TagScheme.bioes.isAllowedTransition(from: "I-PER", to: "E-LOC"))
        XCTAssertFalse(TagScheme.bioes.isAllowedTransition(from: "S-PER", to: "I-PER"))
        XCTAssertFalse(TagScheme.bioes.isAllowedStart("E-PER"))
        XCTAssertFalse(TagScheme.bioes.isAllowedEnd("B-PER"))
        XCTAssertTrue(TagScheme.bioes.isAllowedEnd("O"))
    }
}
