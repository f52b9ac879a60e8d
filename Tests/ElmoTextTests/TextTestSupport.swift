import Foundation
import XCTest

/// A fresh temporary folder per test, removed at the end of the test.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("elmo-text-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// Writes `bytes` to `directory/name` and returns the path.
@discardableResult
func writeFile(_ directory: String, _ name: String, bytes: [UInt8]) throws -> String {
    let path = (directory as NSString).appendingPathComponent(name)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

@discardableResult
func writeFile(_ directory: String, _ name: String, _ text: String) throws -> String {
    try writeFile(directory, name, bytes: Array(text.utf8))
}

/// Compresses `path` with gzip(1) into `path.gz` (the original is kept) and returns the new path.
func gzipFile(_ path: String) throws -> String {
    let gzip = Process()
    gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gzip.arguments = ["-k", "-f", path]
    try gzip.run()
    gzip.waitUntilExit()
    XCTAssertEqual(gzip.terminationStatus, 0, "gzip \(path)")
    return path + ".gz"
}
