import Foundation
import XCTest

/// The HTML pages (`visualize cells`, `neighbors --html`, `report`) made from the shared tiny run, checked as files
/// (self-contained: no external reference) and, where Debian's `chromium` is installed, in headless Chromium:
/// the page renders (its script ran to the end, the screenshot is not blank), every token element is coloured,
/// there are no console errors and no request leaves the file.
final class PagesBrowserTests: XCTestCase {
    override class func tearDown() { CLIFixture.release() }

    /// Text with quotes, brackets, numbers and capitals, so every property varies.
    static let cellText = """
    The cat said `` hello '' to the dog ( twice ) .
    In 1999 a dog ran 3 miles in the park .
    the bird sang `` a song '' and [ then ] left .
    """

    struct Page {
        var name: String
        var path: String
        /// Token elements (`class="tok…"`) in the file.
        var tokenElements: Int
        /// Of those, the ones the page's script must colour (an inline background colour after it ran).
        var colouredTokens: Int
    }

    /// Makes the four pages in `folder`; returns them with the number of coloured token elements each must have.
    private func makePages(_ fixture: CLIFixture, in folder: String) throws -> [Page] {
        try Data(Self.cellText.utf8).write(to: URL(fileURLWithPath: "\(folder)/cells.txt"))
        let cellTokens = Self.cellText.split(whereSeparator: \.isWhitespace).count
        var result = try runElmo(["visualize", "cells", "--checkpoint", fixture.path("run"), "--input", "cells.txt", "--output", "cells.html",
                                  "--cells", "3", "--threads", "1"], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        result = try runElmo(["neighbors", "--checkpoint", fixture.path("run"), "--index", fixture.path("b.txt"), "--query", "the cat sat",
                              "--word", "1", "--k", "4", "--html", "neighbors.html", "--threads", "1"], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.split(separator: "\n").count, 4, result.stdout)
        result = try runElmo(["report", fixture.path("run"), "--output", "report.html"], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        let tsv = (0..<12).map { i in i % 2 == 0 ? "pos\tthe cat sat on the mat \(i)" : "neg\ta dog ran in the park \(i)" }.joined(separator: "\n") + "\n"
        try Data(tsv.utf8).write(to: URL(fileURLWithPath: "\(folder)/train.tsv"))
        result = try runElmo(["finetune", "classifier", "--checkpoint", fixture.path("run"), "--train", "train.tsv", "--dev", "train.tsv",
                              "--output", "cls", "--epochs", "2", "--hidden", "4", "--encoder", "gru", "--threads", "1"], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        result = try runElmo(["report", "cls", "--output", "task-report.html", "--data", "train.tsv"], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        return [Page(name: "cells", path: "\(folder)/cells.html", tokenElements: cellTokens, colouredTokens: cellTokens),
                Page(name: "neighbors", path: "\(folder)/neighbors.html", tokenElements: 5, colouredTokens: 4),  // + the query's
                Page(name: "report", path: "\(folder)/report.html", tokenElements: 0, colouredTokens: 0),
                Page(name: "task-report", path: "\(folder)/task-report.html", tokenElements: 0, colouredTokens: 0)]
    }

    /// Every page is one file: no src/href to anything (the only URL is the SVG namespace), a CSP forbidding requests.
    func testPagesAreSelfContained() throws {
        let fixture = try CLIFixture.get()
        XCTAssertEqual(fixture.pretrain.status, 0, fixture.pretrain.stderr)
        let folder = try makeCLITestFolder(self)
        for page in try makePages(fixture, in: folder) {
            let html = try String(contentsOfFile: page.path, encoding: .utf8)
            XCTAssertTrue(html.contains("Content-Security-Policy\" content=\"default-src 'none'"), page.name)
            for pattern in ["src=", "href=", "@import", "url("] { XCTAssertFalse(html.contains(pattern), "\(page.name) contains \(pattern)") }
            XCTAssertFalse(html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("://"), "\(page.name) names a URL")
            XCTAssertEqual(html.components(separatedBy: "class=\"tok").count - 1, page.tokenElements, "\(page.name) token elements")
        }
        let report = try String(contentsOfFile: "\(folder)/report.html", encoding: .utf8)
        XCTAssertGreaterThanOrEqual(report.components(separatedBy: "class=\"series\"").count - 1, 4, "pre-training curves")
        let taskReport = try String(contentsOfFile: "\(folder)/task-report.html", encoding: .utf8)
        XCTAssertTrue(taskReport.contains("Confusion matrix"), "task report has a confusion matrix")
    }

    /// Help names the options the issue spells; bad arguments are clean errors naming the input and the fix.
    func testHelpAndBadArguments() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        for (command, options) in [(["visualize", "cells"], ["--checkpoint", "--input", "--output", "--cells", "--json", "--stream"]),
                                   (["neighbors"], ["--checkpoint", "--index", "--query", "--word", "--layer", "--k", "--save-index",
                                                    "--load-index", "--html"]),
                                   (["report"], ["<run-folder>", "--output", "--data"])] {
            let result = try runElmo(command + ["--help"], in: folder)
            XCTAssertEqual(result.status, 0, result.stderr)
            for option in options { XCTAssertTrue(result.stdout.contains(option), "\(command) --help lacks \(option)") }
        }
        var result = try runElmo(["neighbors", "--checkpoint", fixture.path("run"), "--index", fixture.path("b.txt"), "--query", "the cat",
                                  "--word", "2"], in: folder)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--word 2 is outside the query, which has 2 tokens"), result.stderr)
        result = try runElmo(["neighbors", "--checkpoint", fixture.path("run"), "--index", fixture.path("b.txt"), "--query", "the cat",
                              "--word", "0", "--layer", "7"], in: folder)
        assertCleanError(result, ["--layer 7", "0...2", "mix"])
        result = try runElmo(["neighbors", "--checkpoint", fixture.path("run"), "--load-index", fixture.path("a.txt"), "--query", "the cat",
                              "--word", "0"], in: folder)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertFalse(result.signaled, result.stderr)
        assertCleanError(try runElmo(["report", folder, "--output", "r.html"], in: folder), [folder, "no metrics.jsonl"])
        assertCleanError(try runElmo(["report", fixture.path("run"), "--output", "r.html", "--data", "x.tsv"], in: folder),
                         ["--data", "pre-training run"])
    }

    /// Chromium from Debian's `chromium` package (or CHROMIUM=/path); skipped, naming the package, when absent.
    static func chromium() throws -> String {
        var candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        if let given = ProcessInfo.processInfo.environment["CHROMIUM"] { candidates.insert(given, at: 0) }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("Headless Chromium not found (looked at \(candidates)): install Debian's `chromium` package "
                          + "(apt-get install chromium; `bash .ci/install-deps --browser` does it) to run the browser checks.")
        }
        return found
    }

    /// Runs Chromium headless on a local page with every host unresolvable (a request could not leave the machine),
    /// console messages on stderr. Returns (stdout, stderr).
    static func runChromium(_ binary: String, _ arguments: [String], page: String, profile: String) throws -> (String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
                             "--user-data-dir=\(profile)", "--hide-scrollbars"] + arguments + [URL(fileURLWithPath: page).absoluteString]
        // stderr to a file, so that neither pipe can fill up while the other is read.
        let log = "\(profile).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: stdout, as: UTF8.self), (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Decodes the PNG (python3's zlib; no imaging library needed) and returns the share of pixels that differ
    /// from the top-left pixel and the number of distinct colours.
    static func pngStatistics(_ path: String) throws -> (nonBackground: Double, colours: Int) {
        let script = """
        import struct, sys, zlib
        data = open(sys.argv[1], 'rb').read()
        assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'not a PNG'
        pos, idat = 8, b''
        while pos < len(data):
            n, kind = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
            if kind == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
            if kind == b'IDAT': idat += body
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
        raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
        for y in range(h):
            f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
                if f == 1: line[i] = (line[i] + a) & 255
                elif f == 2: line[i] = (line[i] + b) & 255
                elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            rows.append(bytes(line)); prev = line
        pixels = [r[i:i + 3] for r in rows for i in range(0, stride, bpp)]
        print(sum(p != pixels[0] for p in pixels) / len(pixels), len(set(pixels)))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let parts = text.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard process.terminationStatus == 0, parts.count == 2, let share = Double(parts[0]), let colours = Int(parts[1]) else {
            throw NSError(domain: "PNG", code: 1, userInfo: [NSLocalizedDescriptionKey: "could not decode \(path): \(text)"])
        }
        return (share, colours)
    }

    func testPagesRenderInHeadlessChromium() throws {
        let browser = try Self.chromium()
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let screenshots = ProcessInfo.processInfo.environment["ELMO_PAGE_SCREENSHOTS"]
        for page in try makePages(fixture, in: folder) {
            let profile = "\(folder)/profile-\(page.name)"
            let (dom, log) = try Self.runChromium(browser, ["--dump-dom", "--virtual-time-budget=3000"], page: page.path, profile: profile)
            XCTAssertTrue(dom.contains("data-rendered=\"ok\""), "\(page.name): the page's script did not run to its end:\n\(log.suffix(2000))")
            let coloured = dom.components(separatedBy: "class=\"tok").dropFirst().filter { $0.prefix(200).contains("background-color: rgb(") }.count
            XCTAssertEqual(coloured, page.colouredTokens, "\(page.name): coloured token elements")
            let consoleErrors = log.split(separator: "\n").filter {
                $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("Refused to") || $0.contains("ERR_NAME_NOT_RESOLVED")
            }
            XCTAssertEqual(consoleErrors, [], "\(page.name): console errors or blocked requests")
            let png = "\(folder)/\(page.name).png"
            _ = try Self.runChromium(browser, ["--screenshot=\(png)", "--window-size=900,640", "--virtual-time-budget=3000"],
                                     page: page.path, profile: profile)
            XCTAssertTrue(FileManager.default.fileExists(atPath: png), "\(page.name): no screenshot")
            let stats = try Self.pngStatistics(png)
            XCTAssertGreaterThan(stats.nonBackground, 0.01, "\(page.name): the screenshot is blank")
            XCTAssertGreaterThan(stats.colours, 8, "\(page.name): the screenshot has almost no colours")
            if let screenshots { try? FileManager.default.copyItem(atPath: png, toPath: "\(screenshots)/\(page.name).png") }
        }
    }
}
