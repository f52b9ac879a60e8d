import ElmoText
import XCTest

final class CharacterIdsTests: XCTestCase {
    /// `[BOW, bytes..., EOW, pad...]` before the +1 shift, padded to `w`.
    private func expected(_ body: [Int32], w: Int = 50) -> [Int32] {
        let ids = [258] + body + [259] + [Int32](repeating: 260, count: w - body.count - 2)
        return ids.map { $0 + 1 }
    }

    func testASCIIWord() {
        XCTAssertEqual(CharacterIds.ids(for: "Hi!"), expected([72, 105, 33]))
        XCTAssertEqual(CharacterIds.ids(for: "Hi!").count, 50)
        XCTAssertEqual(CharacterIds.ids(for: "ab", maxCharacters: 5), [259, 98, 99, 260, 261])
    }

    func testKoreanUsesUTF8Bytes() {
        // 한 = ED 95 9C, 국 = EA B5 AD, 어 = EC 96 B4.
        XCTAssertEqual(CharacterIds.ids(for: "한국어"), expected([0xED, 0x95, 0x9C, 0xEA, 0xB5, 0xAD, 0xEC, 0x96, 0xB4]))
    }

    func testLongTokenIsCutToWMinusTwoBytesKeepingBoundaries() {
        let long = String(repeating: "x", count: 60)
        let ids = CharacterIds.ids(for: long)
        XCTAssertEqual(ids.count, 50)
        XCTAssertEqual(ids[0], 259)
        XCTAssertEqual(Array(ids[1...48]), [Int32](repeating: Int32(UInt8(ascii: "x")) + 1, count: 48))
        XCTAssertEqual(ids[49], 260)
        // The cut may split a multi-byte character, as in the reference (bytes, not characters, are cut).
        XCTAssertEqual(CharacterIds.ids(for: "한국어", maxCharacters: 6), [258, 0xED, 0x95, 0x9C, 0xEA, 259].map { $0 + 1 })
        // Exactly W-2 bytes: no padding, nothing cut.
        XCTAssertEqual(CharacterIds.ids(for: "abc", maxCharacters: 5), [259, 98, 99, 100, 260])
    }

    func testSentenceMarkers() {
        XCTAssertEqual(CharacterIds.ids(for: "<S>"), expected([256]))
        XCTAssertEqual(CharacterIds.ids(for: "</S>"), expected([257]))
        XCTAssertEqual(CharacterIds.ids(for: "<UNK>"), expected([60, 85, 78, 75, 62]), "<UNK> is spelled out")
        XCTAssertEqual(CharacterIds.vocabularySize, 262)
        XCTAssertEqual(CharacterIds.ids(for: "</S>", maxCharacters: 4).max(), Int32(CharacterIds.vocabularySize - 1))
    }

    func testAppendConcatenatesTokens() {
        var out: [Int32] = [7]
        CharacterIds.append("a", maxCharacters: 8, to: &out)
        CharacterIds.append("<S>", maxCharacters: 8, to: &out)
        XCTAssertEqual(out, [7] + CharacterIds.ids(for: "a", maxCharacters: 8) + CharacterIds.ids(for: "<S>", maxCharacters: 8))
    }
}
