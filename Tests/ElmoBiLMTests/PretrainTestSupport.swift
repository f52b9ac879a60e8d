import ElmoBiLM
import Foundation
import XCTest

/// The tiny biLM of the pre-training tests: char filters [[1, 4], [2, 4]], 10 chars per token, 2 LSTMP layers of
/// cell 12 and projection 5, batch 2, unroll 4 (each training step takes milliseconds, even in debug builds).
func tinyPretrainOptions(dropout: Float = 0, negatives: Int = 0, optimizer: String = "adagrad") throws -> BiLMOptions {
    let json = """
    {"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
                  "max_characters_per_token": 10},
     "lstm": {"dim": 12, "projection_dim": 5, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
     "dropout": \(dropout), "batch_size": 2, "unroll_steps": 4, "n_negative_samples_batch": \(negatives),
     "all_clip_norm_val": 1, "optimizer": "\(optimizer)"}
    """
    return try BiLMOptions.decode(Data(json.utf8), source: "tiny test options")
}

/// Two shards of 28 + 28 forward pairs (sentence lengths + 1 each), so with batch 2 and unroll 4 an epoch is exactly
/// 7 full steps of 8 tokens (rows of 28 pairs), English and Korean words mixed.
let tinyShardA = """
the cat sat on the mat
a dog ran in the park
the bird sang a song
고양이 가 잔다
cats and dogs play

"""
let tinyShardB = """
the sun is hot today
we like the cat
a mat is on the floor
dogs run and birds fly
the end

"""
let tinyStepsPerEpoch = 7
let tinyTokensPerStep = 8

/// A fresh empty folder under the system temporary directory, removed when the test ends.
func makeTemporaryFolder(_ test: XCTestCase, _ prefix: String = "pretrain-tests") throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
    return folder
}

/// Writes `text` to `folder/name` and returns the path.
@discardableResult
func writeTextFile(_ folder: String, _ name: String, _ text: String) throws -> String {
    let path = (folder as NSString).appendingPathComponent(name)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

/// Settings for a quiet, single-threaded tiny run that stops after `steps` full steps.
func tinySettings(_ options: BiLMOptions, train: [String], output: String, steps: Int) -> PretrainSettings {
    var settings = PretrainSettings(options: options, trainPatterns: train, outputFolder: output)
    settings.maxTokens = steps * tinyTokensPerStep
    settings.threads = 1
    settings.seed = 7
    settings.logEvery = 1_000
    settings.validateEvery = 0
    settings.checkpointEvery = 1_000
    settings.keepLast = 100
    return settings
}

/// Every parameter of two models must be bitwise equal (same names, same shapes, same Float bits).
func assertBitwiseEqualParameters(_ a: BiLanguageModel, _ b: BiLanguageModel, _ message: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
    let pa = a.parameters, pb = b.parameters
    XCTAssertEqual(pa.map(\.name), pb.map(\.name), message, file: file, line: line)
    for (x, y) in zip(pa, pb) {
        XCTAssertEqual(x.shape, y.shape, "\(message): \(x.name)", file: file, line: line)
        let same = x.value.scalars.map(\.bitPattern) == y.value.scalars.map(\.bitPattern)
        XCTAssertTrue(same, "\(message): parameter \(x.name) differs", file: file, line: line)
    }
}

/// The members of a ZIP archive written without a comment, read from its central directory: name, offset and
/// length of the member's (compressed) data, and the offset of its CRC-32 field in the central directory.
struct ZipMemberLayout {
    var name: String
    var dataOffset: Int
    var compressedSize: Int
    var centralCRCOffset: Int
}

func zipMemberLayouts(_ bytes: [UInt8]) -> [ZipMemberLayout] {
    func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
    func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
    let end = bytes.count - 22
    precondition(u32(end) == 0x0605_4B50, "test archives have no ZIP comment")
    var at = u32(end + 16)
    var members: [ZipMemberLayout] = []
    for _ in 0..<u16(end + 10) {
        let nameLength = u16(at + 28), extra = u16(at + 30), comment = u16(at + 32)
        let local = u32(at + 42)
        let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
        members.append(ZipMemberLayout(name: name, dataOffset: local + 30 + u16(local + 26) + u16(local + 28),
                                       compressedSize: u32(at + 20), centralCRCOffset: at + 16))
        at += 46 + nameLength + extra + comment
    }
    return members
}
