import ElmoText
import XCTest

/// Character ids written out literally, for the ids bilm-tf documents.
///
/// bilm-tf `bilm/data.py`, `UnicodeCharsVocabulary`: bos_char 256, eos_char 257, bow_char 258, eow_char 259,
/// pad_char 260; `_convert_word_to_char_ids` fills `max_word_length` slots with pad, puts bow first, then
/// `word.encode('utf-8', 'ignore')[:max_word_length - 2]`, then eow; `<S>`/`</S>` are [bow, bos|eos, eow, pad…].
/// AllenNLP's `ELMoCharacterMapper` (the ids ELMo's released weights and our CharCNN use) adds 1 to every id so 0
/// can mask padding tokens. So "a" (byte 97) is [259, 98, 260, 261, 261, …]. Each array below was derived by hand
/// from the UTF-8 bytes of the word (W = 50, bilm-tf's max_characters_per_token).
final class CharacterIdsBilmTfTests: XCTestCase {
    private func padded(_ head: [Int32]) -> [Int32] { head + [Int32](repeating: 261, count: 50 - head.count) }

    func testASCIIWordsLiterally() {
        // "a" = 0x61 = 97.
        XCTAssertEqual(CharacterIds.ids(for: "a"), padded([259, 98, 260]))
        // "The" = 84 104 101.
        XCTAssertEqual(CharacterIds.ids(for: "The"), padded([259, 85, 105, 102, 260]))
        // "U.S." = 85 46 83 46.
        XCTAssertEqual(CharacterIds.ids(for: "U.S."), padded([259, 86, 47, 84, 47, 260]))
        XCTAssertEqual(CharacterIds.ids(for: "<S>"), padded([259, 257, 260]))
        XCTAssertEqual(CharacterIds.ids(for: "</S>"), padded([259, 258, 260]))
    }

    func testKoreanWordsLiterally() {
        // "한" = U+D55C = ED 95 9C = 237 149 156.
        XCTAssertEqual(CharacterIds.ids(for: "한"), padded([259, 238, 150, 157, 260]))
        // "서울" = U+C11C U+C6B8 = EC 84 9C, EC 9A B8 = 236 132 156, 236 154 184.
        XCTAssertEqual(CharacterIds.ids(for: "서울"), padded([259, 237, 133, 157, 237, 155, 185, 260]))
        // "고양이" = U+ACE0 U+C591 U+C774 = EA B3 A0, EC 96 91, EC 9D B4.
        XCTAssertEqual(CharacterIds.ids(for: "고양이"),
                       padded([259, 235, 180, 161, 237, 151, 146, 237, 158, 181, 260]))
        // A Korean word of 17 syllables (51 bytes) is cut after 48 bytes, i.e. after 16 syllables, EOW kept.
        let long = String(repeating: "한", count: 17)
        XCTAssertEqual(CharacterIds.ids(for: long), [259] + [Int32](repeating: 0, count: 16).flatMap { _ in [238, 150, 157] } + [260])
    }

    /// The 48-byte limit (W − 2) is a byte count: a 48-byte token fits exactly, a 49th byte is dropped even when it
    /// splits a character (AllenNLP's `word.encode('utf-8')[:48]`; checked against AllenNLP in ElmoEmbeddingsTests).
    func testTokensOfExactly48And49Bytes() {
        let a = [Int32](repeating: 98, count: 48)
        XCTAssertEqual(CharacterIds.ids(for: String(repeating: "a", count: 48)), [259] + a + [260])
        XCTAssertEqual(CharacterIds.ids(for: String(repeating: "a", count: 49)), [259] + a + [260])
        // 47 × "a" + "é" (C3 A9) = 49 bytes: the cut keeps C3 and drops A9.
        XCTAssertEqual(CharacterIds.ids(for: String(repeating: "a", count: 47) + "é"),
                       [259] + [Int32](repeating: 98, count: 47) + [0xC3 + 1, 260])
        // No Unicode normalisation: precomposed "é" and "e" + U+0301 give different ids.
        XCTAssertEqual(CharacterIds.ids(for: "caf\u{E9}"), padded([259, 100, 98, 103, 0xC3 + 1, 0xA9 + 1, 260]))
        XCTAssertEqual(CharacterIds.ids(for: "cafe\u{301}"), padded([259, 100, 98, 103, 102, 0xCC + 1, 0x81 + 1, 260]))
    }
}
