import Foundation
import XCTest

/// A fresh empty folder under the system temporary directory, removed when the test ends.
func makeNpzTestFolder(_ test: XCTestCase) throws -> String {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("npz-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
    return folder
}

/// Runs `python3 -c script arguments…` and returns its stdout; fails the test with stderr when it exits
/// non-zero. Skips the test when python3 or numpy is missing (interop checks need the reference).
func runNumpyScript(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do { try process.run() } catch { throw XCTSkip("python3 is not available: \(error)") }
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let stderr = String(decoding: errData, as: UTF8.self)
    if stderr.contains("No module named 'numpy'") { throw XCTSkip("numpy is not installed for python3") }
    XCTAssertEqual(process.terminationStatus, 0, "python3 failed:\n\(stderr)", file: file, line: line)
    return String(decoding: outData, as: UTF8.self)
}
