import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange over a plain loopback socket (`Connection: close`), for the server tests: it sends the
/// exact bytes given (invalid UTF-8, lying headers, huge bodies) and reads the whole answer.
struct HTTPTestResponse {
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw NSError(domain: "HTTPTestClient", code: 1, userInfo: [NSLocalizedDescriptionKey: "not a JSON object: \(text.prefix(300))"])
        }
        return object
    }
}

enum HTTPTestClient {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func send(port: Int, method: String = "POST", path: String, body: Data = Data(),
                     headers: [String: String] = [:], timeout: Int = 60) throws -> HTTPTestResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port): errno \(errno)") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        var fields = headers
        if fields["Content-Length"] == nil { fields["Content-Length"] = String(body.count) }
        if fields["Content-Type"] == nil && !body.isEmpty { fields["Content-Type"] = "application/json" }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        // The server may answer (413) and close before reading a huge body: a failed write is not an error here.
        _ = sendAll(fd, Data(head.utf8) + body)
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Until the server closes, or the body its Content-Length announces is complete (a server may keep a
        // connection open to drain a request body it refused).
        while !complete(received) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
        }
        return try parse(received)
    }

    private static func sendAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    private static func complete(_ data: Data) -> Bool {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { return false }
        return data.count - end.upperBound >= length
    }

    private static func parse(_ data: Data) throws -> HTTPTestResponse {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else {
            throw Failure(description: "no HTTP answer (\(data.count) bytes: \(String(decoding: data.prefix(200), as: UTF8.self)))")
        }
        let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(data[end.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try dechunk(body) }
        return HTTPTestResponse(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ data: Data) throws -> Data {
        var out = Data(), rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure(description: "bad chunk size") }
            if size == 0 { break }
            let start = lineEnd.upperBound
            out.append(rest[start..<(start + size)])
            rest = rest[(start + size + 2)...]
        }
        return out
    }
}

/// Runs `body(0..<count)` on `count` threads at once (not a pool's few), and returns when all have finished.
func concurrently(_ count: Int, _ body: @escaping (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(i)
            group.leave()
        }
    }
    group.wait()
}

/// An `elmo serve` process on a free loopback port, stopped (SIGTERM) when the test ends.
final class ServerProcess {
    let started: (process: Process, stdout: String, stderr: String)
    let port: Int

    init(_ arguments: [String], in folder: String) throws {
        started = try startElmo(["serve", "--port", "0"] + arguments, in: folder)
        let deadline = Date().addingTimeInterval(120)
        var port: Int?
        while port == nil && Date() < deadline && started.process.isRunning {
            let log = String(decoding: FileManager.default.contents(atPath: started.stderr) ?? Data(), as: UTF8.self)
            for line in log.split(separator: "\n") where line.contains("\"message\":\"listening\"") {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                port = object?["port"] as? Int
            }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            let log = String(decoding: FileManager.default.contents(atPath: started.stderr) ?? Data(), as: UTF8.self)
            started.process.terminate()
            throw HTTPTestClient.Failure(description: "the server did not start listening: \(log)")
        }
        self.port = port
        while Date() < deadline {
            if (try? HTTPTestClient.send(port: port, method: "GET", path: "/health").status) == 200 { return }
            usleep(20_000)
        }
        throw HTTPTestClient.Failure(description: "/health never answered 200")
    }

    func request(_ path: String, json object: Any, headers: [String: String] = [:]) throws -> HTTPTestResponse {
        try HTTPTestClient.send(port: port, path: path, body: try JSONSerialization.data(withJSONObject: object), headers: headers)
    }

    /// SIGTERM, then what the process printed and how it ended.
    func stop() -> CLIResult {
        if started.process.isRunning { kill(started.process.processIdentifier, SIGTERM) }
        return finishElmo(started)
    }

    deinit { if started.process.isRunning { started.process.terminate() } }
}
