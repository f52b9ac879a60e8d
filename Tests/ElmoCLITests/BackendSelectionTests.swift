import Foundation
import XCTest

/// `ELMO_BACKEND` selects the compute backend; a value the program does not know is refused before any work starts.
final class BackendSelectionTests: XCTestCase {
    private func run(backend: String, _ arguments: [String]) throws -> CLIResult {
        let folder = NSTemporaryDirectory()
        let process = Process()
        process.executableURL = try elmoBinary()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["ELMO_BACKEND": backend]) { $1 }
        let err = (folder as NSString).appendingPathComponent(".stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: err) }
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: "",
                         stderr: String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self),
                         signaled: process.terminationReason == .uncaughtSignal)
    }

    func testUnknownBackendIsRefusedNamingTheAcceptedValues() throws {
        let result = try run(backend: "gpu", ["inspect", "missing.npz"])
        assertCleanError(result, ["ELMO_BACKEND is \"gpu\"", "cpu", "reference"])
        XCTAssertEqual(result.status, 64)
    }

    func testKnownBackendsReachTheCommand() throws {
        for backend in ["cpu", "reference"] {
            let result = try run(backend: backend, ["inspect", "missing.npz"])
            assertCleanError(result, ["No file at 'missing.npz'"])
        }
    }
}
