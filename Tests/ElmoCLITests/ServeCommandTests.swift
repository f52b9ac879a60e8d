import ElmoStorage
import Foundation
import XCTest

/// Issue 17: `elmo serve` gives the numbers `elmo embed` gives, refuses every bad request with a 4xx and keeps
/// answering, enforces its key and limits, reports health and metrics, and drains on SIGTERM.
final class ServeCommandTests: XCTestCase {
    override class func tearDown() {
        CLIFixture.release()
        super.tearDown()
    }

    private let sentences = [["the", "cat", "sat", "on", "the", "mat"], ["고양이", "가", "잔다"], ["dogs"],
                             ["a", "bird", "sang", "a", "song", "in", "the", "park", "today"], ["the", "end"], ["we", "like", "cats"]]

    private func write(_ text: String, _ name: String, in folder: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `[[Float]]…` from JSON (any depth) flattened in row-major order.
    private func flatten(_ value: Any) -> [Float] {
        if let number = value as? NSNumber { return [number.floatValue] }
        return (value as? [Any] ?? []).flatMap(flatten)
    }

    private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    private func npyFloats(_ data: Data) throws -> (shape: [Int], values: [Float]) {
        let bytes = [UInt8](data)
        let start = try NpyFormat.headerSize(prefix: Array(bytes.prefix(NpyFormat.prefixLength)), path: "response", member: "npy")
        let header = try NpyFormat.decodeHeader(Array(bytes[..<start]), path: "response", member: "npy")
        let values = bytes[start...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (header.shape, values)
    }

    func testServedEmbeddingsEqualElmoEmbedWhateverTheBatching() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let input = try write(sentences.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n", "s.txt", in: folder)
        let all = (folder as NSString).appendingPathComponent("all.npz")
        XCTAssertEqual(try runElmo(["embed", "--checkpoint", "run", "--input", input, "--output", all, "--format", "npz", "--threads", "1"],
                                   in: fixture.folder).status, 0)
        let offline = try NpzReader(path: all)
        // A long wait, so that the concurrent requests below share batches.
        let server = try ServerProcess(["--checkpoint", "run", "--threads", "1", "--max-wait-ms", "300"], in: fixture.folder)

        var answers = [HTTPTestResponse?](repeating: nil, count: sentences.count)
        let lock = NSLock()
        let sentences = self.sentences
        concurrently(sentences.count) { i in
            let answer = try? server.request("/v1/embed", json: ["sentences": [sentences[i]], "layers": "all"])
            lock.withLock { answers[i] = answer }
        }
        for (i, answer) in answers.enumerated() {
            let response = try XCTUnwrap(answer, "request \(i) got an answer")
            XCTAssertEqual(response.status, 200, response.text)
            let object = try response.json()
            XCTAssertEqual(object["layers"] as? String, "all")
            XCTAssertEqual(object["pooling"] as? String, "none")
            XCTAssertEqual(object["dim"] as? Int, 10)
            XCTAssertTrue((object["model"] as? String)?.hasPrefix("run/") == true, "\(object["model"] ?? "")")
            let embeddings = try XCTUnwrap(object["embeddings"] as? [Any])
            XCTAssertEqual(embeddings.count, 1)
            let expected = try offline.tensor(String(i))
            let served = flatten(embeddings[0])
            XCTAssertEqual(served.count, expected.count, "sentence \(i): [L+1][n][D] values")
            XCTAssertLessThanOrEqual(maxDifference(served, expected.scalars), 1e-6, "sentence \(i)")
        }
        let metrics = try HTTPTestClient.send(port: server.port, method: "GET", path: "/metrics").text
        let batches = try XCTUnwrap(metricValue(metrics, "elmo_batch_requests_count"))
        XCTAssertLessThan(batches, Double(sentences.count), "concurrent requests were batched together: \(metrics)")

        // All sentences in one request, as texts, top layer; then mean pooling as JSON and as .npy.
        let texts = sentences.map { $0.joined(separator: "  ") }
        let top = try server.request("/v1/embed", json: ["texts": texts]).json()
        XCTAssertEqual(top["layers"] as? String, "top")
        for (i, vectors) in try XCTUnwrap(top["embeddings"] as? [Any]).enumerated() {
            let layers = try offline.tensor(String(i))
            let n = layers.shape[1], d = layers.shape[2]
            XCTAssertLessThanOrEqual(maxDifference(flatten(vectors), Array(layers.scalars[(2 * n * d)...])), 1e-6, "top layer of sentence \(i)")
        }
        let pooledPath = (folder as NSString).appendingPathComponent("mean.npy")
        XCTAssertEqual(try runElmo(["embed", "--checkpoint", "run", "--input", input, "--output", pooledPath, "--format", "npy",
                                    "--pooling", "mean", "--layers", "average", "--threads", "1"], in: fixture.folder).status, 0)
        let offlinePooled = try npyFloats(try Data(contentsOf: URL(fileURLWithPath: pooledPath)))
        XCTAssertEqual(offlinePooled.shape, [sentences.count, 10])
        let body = try JSONSerialization.data(withJSONObject: ["sentences": sentences, "layers": "average", "pooling": "mean"])
        let npy = try HTTPTestClient.send(port: server.port, path: "/v1/embed", body: body, headers: ["Accept": "application/x-npy"])
        XCTAssertEqual(npy.status, 200, npy.text)
        XCTAssertEqual(npy.headers["content-type"], "application/x-npy")
        let served = try npyFloats(npy.body)
        XCTAssertEqual(served.shape, [sentences.count, 10])
        // Not bitwise: the server runs the sentences in other groups than `embed`, so matrix products of other shapes.
        XCTAssertEqual(served.values.count, offlinePooled.values.count)
        XCTAssertLessThanOrEqual(maxDifference(served.values, offlinePooled.values), 1e-6, "the .npy answer is the offline matrix")
        let pooledJSON = try server.request("/v1/embed", json: ["sentences": sentences, "layers": "average", "pooling": "mean"]).json()
        XCTAssertEqual(flatten(pooledJSON["embeddings"] as Any), served.values, "JSON numbers round-trip to the .npy answer's floats")

        let stopped = server.stop()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
    }

    func testPredictAndScoreGiveWhatTheCommandsGive() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        try trainTinyClassifier(fixture, in: folder)
        let lines = sentences.map { $0.joined(separator: " ") }
        _ = try write(lines.joined(separator: "\n") + "\n", "in.txt", in: folder)
        let predicted = try runElmo(["predict", "--model", "cls", "--input", "in.txt", "--probabilities", "--threads", "1"], in: folder)
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let scored = try runElmo(["score", "--checkpoint", fixture.path("run"), "in.txt", "--threads", "1"], in: folder)
        XCTAssertEqual(scored.status, 0, scored.stderr)

        let server = try ServerProcess(["--checkpoint", fixture.path("run"), "--model", "cls", "--threads", "1"], in: folder)
        let answer = try server.request("/v1/predict", json: ["texts": lines])
        XCTAssertEqual(answer.status, 200, answer.text)
        let object = try answer.json()
        XCTAssertEqual(object["model"] as? String, "cls")
        XCTAssertEqual(object["kind"] as? String, "classifier")
        let predictions = try XCTUnwrap(object["predictions"] as? [[String: Any]])
        for (prediction, line) in zip(predictions, predicted.stdout.split(separator: "\n")) {
            let fields = line.split(separator: "\t").map(String.init)
            XCTAssertEqual(prediction["label"] as? String, fields[0])
            XCTAssertEqual(String(format: "%.4f", prediction["probability"] as? Double ?? -1), fields[1])
            let probabilities = try XCTUnwrap(prediction["probabilities"] as? [String: Double])
            for field in fields.dropFirst(2) {
                let parts = field.split(separator: "=").map(String.init)
                XCTAssertEqual(String(format: "%.4f", probabilities[parts[0]] ?? -1), parts[1], field)
            }
        }
        XCTAssertEqual(predictions.count, lines.count)
        XCTAssertEqual(try server.request("/v1/predict", json: ["texts": lines, "model": "nope"]).status, 400)

        let scores = try XCTUnwrap(try server.request("/v1/score", json: ["texts": lines]).json()["scores"] as? [[String: Any]])
        let expected = try scored.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(scores.count, expected.count)
        for (served, offline) in zip(scores, expected) {
            XCTAssertEqual(served["tokens"] as? Int, offline["tokens"] as? Int)
            for key in ["forward_logprob", "backward_logprob", "logprob", "perplexity"] {
                let a = try XCTUnwrap(served[key] as? Double), b = try XCTUnwrap(offline[key] as? Double)
                XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), key)
            }
        }
        XCTAssertEqual(server.stop().status, 0)
    }

    private func metricValue(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    func testTwoHundredMalformedRequestsGet4xxAndTheServerKeepsAnswering() throws {
        let fixture = try CLIFixture.get()
        let server = try ServerProcess(["--checkpoint", "run", "--threads", "1", "--max-wait-ms", "0", "--max-body-bytes", "65536"],
                                       in: fixture.folder)
        var bodies: [(String, Data, [String: String])] = []
        func json(_ object: Any) -> Data { try! JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]) }
        let badJSON = ["", "{", "}", "[", "{\"sentences\": [[\"a\"]]", "{'sentences': [['a']]}", "nul", "{\"sentences\": [[\"a\",]]}",
                       "{\"texts\": [\"a\"] \"x\": 1}", "\u{1}", "{\"sentences\": [[\"a\"]]}}", "{\"texts\": [\"a\"], }"]
        for text in badJSON { bodies.append(("bad JSON \(text)", Data(text.utf8), [:])) }
        bodies.append(("60,000 levels of nesting", Data(String(repeating: "[", count: 60_000).utf8), [:]))
        bodies.append(("NaN", Data("{\"sentences\": [[\"a\"]], \"x\": NaN}".utf8), [:]))
        bodies.append(("comment", Data("{\"texts\": [\"a\"] /* c */}".utf8), [:]))
        let wrongTypes: [Any] = [
            [1, 2], "text", 42, NSNull(), ["sentences": "a b"], ["sentences": [["a", 1]]], ["sentences": ["a b"]], ["texts": [["a"]]],
            ["texts": "a b"], ["texts": [1]], ["sentences": [["a"]], "texts": ["a"]], ["nothing": 1], ["sentences": [[NSNull()]]],
            ["sentences": [["a"]], "layers": "bottom"], ["sentences": [["a"]], "layers": 1], ["sentences": [["a"]], "pooling": "sum"],
            ["sentences": [["a"]], "pooling": ["mean"]], ["sentences": [[["a"]]]], ["sentences": [["a b"]]], ["sentences": [[""]]],
            ["sentences": [["a"]], "pooling": NSNull()], ["texts": [true]], ["sentences": [[3.5]]], ["sentences": [:]],
        ]
        for object in wrongTypes { bodies.append(("wrong type \(object)", json(object), [:])) }
        let empty: [Any] = [["sentences": []], ["texts": []], ["sentences": [[]]], ["texts": [""]], ["texts": ["   \t "]],
                            ["sentences": [["a"], []]], ["texts": ["a", "\n"]]]
        for object in empty { bodies.append(("empty \(object)", json(object), [:])) }
        let long = Array(repeating: "a", count: 10_000)
        bodies.append(("10,000 tokens", json(["sentences": [long]]), [:]))
        bodies.append(("10,000 tokens as text", json(["texts": [long.joined(separator: " ")]]), [:]))
        bodies.append(("huge body", Data(repeating: 0x20, count: 200_000), [:]))
        bodies.append(("huge JSON", json(["texts": [String(repeating: "word ", count: 40_000)]]), [:]))
        bodies.append(("lying Content-Length", Data("{\"texts\": [\"a\"]}".utf8), ["Content-Length": "10000000"]))
        for bytes: [UInt8] in [[0xFF, 0xFE], [0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x73, 0x22, 0x3A, 0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D, 0x7D],
                               [0x7B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x3A, 0x31, 0x7D], [0xC0, 0xAF], Array("{\"texts\": [\"\u{1}\"]}".utf8) + [0x80]] {
            bodies.append(("invalid UTF-8 \(bytes)", Data(bytes), [:]))
        }
        bodies.append(("npy without pooling", json(["sentences": [["a"]]]), ["Accept": "application/x-npy"]))
        var k = 0
        while bodies.count < 200 {
            // Mutations of a valid body: cut at every length, so every partial JSON is tried.
            let valid = Array("{\"sentences\": [[\"the\", \"cat\"]], \"layers\": \"all\", \"pooling\": \"max\"}".utf8)
            bodies.append(("cut at \(k)", Data(valid.prefix(k % valid.count)), [:]))
            k += 1
        }
        XCTAssertEqual(bodies.count, 200)
        for (label, body, headers) in bodies {
            let response = try HTTPTestClient.send(port: server.port, path: "/v1/embed", body: body, headers: headers)
            XCTAssertTrue((400..<500).contains(response.status), "\(label): \(response.status) \(response.text.prefix(200))")
            if response.status == 400 || response.status == 413 {
                let object = try response.json()
                XCTAssertNotNil(object["error"] as? String, label)
                XCTAssertTrue(object["field"] != nil || object["limit"] != nil, "\(label) names the field or the limit: \(object)")
            }
        }
        let tooLong = try server.request("/v1/embed", json: ["sentences": [long]]).json()
        XCTAssertEqual(tooLong["limit"] as? String, "max_length")
        let wrongToken = try server.request("/v1/embed", json: ["sentences": [["a", 1]]]).json()
        XCTAssertEqual(wrongToken["field"] as? String, "sentences[0][1]")
        XCTAssertEqual(try HTTPTestClient.send(port: server.port, method: "GET", path: "/v1/embed").status / 100, 4)
        let ok = try server.request("/v1/embed", json: ["texts": ["still here"]])
        XCTAssertEqual(ok.status, 200, ok.text)
        XCTAssertEqual(try HTTPTestClient.send(port: server.port, method: "GET", path: "/health").status, 200)
        let stopped = server.stop()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertFalse(stopped.stderr.contains("\"status\":500"), "no 5xx")
    }

    func testAPIKeyLimitsHealthAndMetrics() throws {
        let fixture = try CLIFixture.get()
        let server = try ServerProcess(["--checkpoint", "run", "--threads", "1", "--api-key", "s3cret", "--max-sentences-per-request", "4",
                                        "--max-tokens-per-request", "50", "--max-queue", "1", "--max-wait-ms", "1500"], in: fixture.folder)
        let body = ["texts": ["the cat sat"]]
        let none = try server.request("/v1/embed", json: body)
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.headers["www-authenticate"], "Bearer")
        XCTAssertEqual(try server.request("/v1/embed", json: body, headers: ["Authorization": "Bearer s3cre"]).status, 401)
        XCTAssertEqual(try server.request("/v1/embed", json: body, headers: ["Authorization": "Bearer s3cret!"]).status, 401)
        XCTAssertEqual(try server.request("/v1/embed", json: body, headers: ["Authorization": "s3cret"]).status, 401)
        let key = ["Authorization": "Bearer s3cret"]
        let many = try server.request("/v1/embed", json: ["texts": Array(repeating: "a", count: 5)], headers: key)
        XCTAssertEqual(many.status, 413)
        XCTAssertEqual(try many.json()["limit"] as? String, "max_sentences_per_request")
        let tokens = try server.request("/v1/embed", json: ["texts": [Array(repeating: "a", count: 51).joined(separator: " ")]], headers: key)
        XCTAssertEqual(tokens.status, 413)
        XCTAssertEqual(try tokens.json()["limit"] as? String, "max_tokens_per_request")

        // --max-queue 1 and a 1.5 s wait: while the first request waits for company, the others are refused.
        var statuses = [Int](repeating: 0, count: 3)
        let lock = NSLock()
        concurrently(3) { i in
            usleep(UInt32(i) * 200_000)
            let status = (try? server.request("/v1/embed", json: body, headers: key).status) ?? -1
            lock.withLock { statuses[i] = status }
        }
        XCTAssertEqual(statuses.filter { $0 == 200 }.count, 1, "\(statuses)")
        XCTAssertEqual(statuses.filter { $0 == 429 }.count, 2, "\(statuses)")
        let refused = try XCTUnwrap(try? server.request("/v1/embed", json: body, headers: key)) // the queue is free again
        XCTAssertEqual(refused.status, 200)

        let health = try HTTPTestClient.send(port: server.port, method: "GET", path: "/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(try health.json()["status"] as? String, "ready")
        let metrics = try HTTPTestClient.send(port: server.port, method: "GET", path: "/metrics")
        XCTAssertEqual(metrics.status, 200)
        for name in ["elmo_requests_total{route=\"/v1/embed\",status=\"401\"} 4", "elmo_request_errors_total", "elmo_batch_sentences_bucket",
                     "elmo_batch_tokens_sum", "elmo_queue_seconds_bucket", "elmo_tokens_per_second", "elmo_tokens_total 6"] {
            XCTAssertTrue(metrics.text.contains(name), "/metrics has \(name):\n\(metrics.text)")
        }
        let stopped = server.stop()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
    }

    func testSIGTERMFinishesTheRequestsInFlightThenExitsZero() throws {
        let fixture = try CLIFixture.get()
        let server = try ServerProcess(["--checkpoint", "run", "--threads", "1", "--max-wait-ms", "1500"], in: fixture.folder)
        var answer: HTTPTestResponse?
        let lock = NSLock()
        var ended: CLIResult?
        concurrently(2) { i in
            if i == 0 {
                let response = try? server.request("/v1/embed", json: ["texts": ["in flight when the signal came"]])
                lock.withLock { answer = response }
            } else {
                usleep(500_000)  // the request now waits in the queue (1.5 s for company)
                let result = server.stop()
                lock.withLock { ended = result }
            }
        }
        let stopped = try XCTUnwrap(ended)
        XCTAssertEqual(answer?.status, 200, "the request in flight was answered: \(stopped.stderr)")
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertFalse(stopped.signaled)
        XCTAssertTrue(stopped.stderr.contains("\"message\":\"stopped\""), stopped.stderr)
        XCTAssertThrowsError(try HTTPTestClient.send(port: server.port, method: "GET", path: "/health"), "nothing listens any more")
    }
}
