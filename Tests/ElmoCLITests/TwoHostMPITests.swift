import Foundation
import XCTest

/// Two "hosts" on one machine: each a network namespace, joined by a veth pair, with `mpirun` starting the second
/// rank through an rsh agent that enters the other namespace (instead of ssh). Only the namespaces' own addresses
/// exist inside them, so the ranks can talk over the veth link and nothing else.
final class TwoNamespaceHosts {
    /// A private /24 that nothing else in the project uses; each namespace has its own network stack, so two test
    /// runs at once do not collide on it.
    static let subnet = "10.213.77.0/24"
    let ip: String
    let names: [String]
    let links: [String]
    let addresses = ["10.213.77.1", "10.213.77.2"]

    /// Names carry the pid, so a leftover of another run is never touched or reused (interface names: ≤ 15 bytes).
    init(ip: String) {
        self.ip = ip
        let pid = getpid()
        names = ["elmo-\(pid)-a", "elmo-\(pid)-b"]
        links = ["elv\(pid)a", "elv\(pid)b"]
    }

    func create() throws {
        try run(["netns", "add", names[0]])
        try run(["netns", "add", names[1]])
        try run(["link", "add", links[0], "type", "veth", "peer", "name", links[1]])
        for host in 0..<2 {
            try run(["link", "set", links[host], "netns", names[host]])
            try run(["-n", names[host], "addr", "add", "\(addresses[host])/24", "dev", links[host]])
            try run(["-n", names[host], "link", "set", links[host], "up"])
            try run(["-n", names[host], "link", "set", "lo", "up"])
        }
    }

    /// Deletes both namespaces (the veth pair goes with them); safe to call when `create` stopped half-way.
    func remove() {
        for name in names { _ = try? run(["netns", "del", name], mayFail: true) }
    }

    /// Whether `name` is still a namespace (for the test that teardown removed them).
    func exists(_ name: String) -> Bool {
        ((try? run(["netns", "list"])) ?? "").split(separator: "\n").contains { $0.split(separator: " ").first.map(String.init) == name }
    }

    /// The rsh agent `mpirun` calls as `agent HOST COMMAND…`: runs COMMAND in the namespace owning HOST, logging
    /// which, and refuses any other host (so nothing can be started outside the two namespaces).
    func writeAgent(in folder: String) throws -> (script: String, log: String) {
        let script = (folder as NSString).appendingPathComponent("agent.sh")
        let log = (folder as NSString).appendingPathComponent("agent.log")
        let text = """
            #!/bin/sh
            host="$1"; shift
            case "$host" in
                \(addresses[0])) ns=\(names[0]);;
                \(addresses[1])) ns=\(names[1]);;
                *) echo "agent: unknown host $host" >&2; exit 1;;
            esac
            echo "$host $ns" >> '\(log)'
            exec '\(ip)' netns exec "$ns" /bin/sh -c "$*"

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: script))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        return (script, log)
    }

    /// The bytes sent and received so far on host `host`'s end of the veth pair.
    func trafficBytes(host: Int) throws -> (sent: Int, received: Int) {
        let json = try run(["-n", names[host], "-s", "-j", "link", "show", "dev", links[host]])
        let links = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let stats = try XCTUnwrap(links.first?["stats64"] as? [String: Any], json)
        let tx = try XCTUnwrap(stats["tx"] as? [String: Any]), rx = try XCTUnwrap(stats["rx"] as? [String: Any])
        return (try XCTUnwrap(tx["bytes"] as? Int), try XCTUnwrap(rx["bytes"] as? Int))
    }

    /// `ip -n NAME -o ARGS…` lines, e.g. the addresses or routes inside a namespace.
    func lines(host: Int, _ arguments: [String]) throws -> [String] {
        try run(["-n", names[host], "-o"] + arguments).split(separator: "\n").map(String.init)
    }

    @discardableResult
    private func run(_ arguments: [String], mayFail: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 && !mayFail {
            throw XCTSkip("`ip \(arguments.joined(separator: " "))` failed (\(String(decoding: error, as: UTF8.self))); "
                          + "network namespaces need root and a kernel that allows them")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Issue 13 item 6: `mpirun` with one rank in each of two network namespaces pre-trains with the same loss at every
/// step as one process, talking only over the namespaces' veth link, and the namespaces are gone afterwards.
final class TwoHostMPITests: XCTestCase {
    /// `ip` from iproute2 (in /usr/sbin, which a non-root PATH may lack), or a skip naming the package.
    private func ipPath() throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let found = (path + ["/usr/sbin", "/sbin", "/usr/bin"]).map { "\($0)/ip" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let found else { throw XCTSkip("`ip` is not installed (Debian package iproute2; `bash .ci/install-deps` installs it).") }
        return found
    }

    func testRanksInTwoNamespacesGiveTheLossOfOneProcessOverTheVethLinkOnly() throws {
        let mpirun = try mpirunPath()
        let ip = try ipPath()
        guard geteuid() == 0 else { throw XCTSkip("needs root (network namespaces and veth pairs); CI runs as root") }
        let folder = try makeCLITestFolder(self)
        // Dropout on (0.1): its masks are keyed by global row, so both ranks draw what one process draws.
        try writeMPIInputs(folder, batchSize: 2)
        let arguments = ["pretrain", "--config", "tiny.json", "--train", "a.txt", "b.txt", "--epochs", "2",
                         "--log-every", "1", "--checkpoint-every", "100", "--threads", "1", "--seed", "3", "--output"]
        let single = try runElmo(arguments + ["one"], in: folder)
        XCTAssertEqual(single.status, 0, single.stderr)

        let hosts = TwoNamespaceHosts(ip: ip)
        // Registered before anything exists, so a failure anywhere below still removes what was made.
        addTeardownBlock {
            hosts.remove()
            for name in hosts.names { XCTAssertFalse(hosts.exists(name), "namespace \(name) was removed") }
        }
        try hosts.create()
        let agent = try hosts.writeAgent(in: folder)
        // Nothing but the link's own /24 is reachable from inside: no default route, no other address.
        for host in 0..<2 {
            XCTAssertEqual(try hosts.lines(host: host, ["-4", "route"]).map { $0.split(separator: " ").first.map(String.init) },
                           [TwoNamespaceHosts.subnet])
            XCTAssertEqual(Set(try hosts.lines(host: host, ["-4", "addr"]).compactMap { $0.split(separator: " ").dropFirst(3).first }),
                           ["127.0.0.1/8", "\(hosts.addresses[host])/24"])
        }
        let before = try hosts.trafficBytes(host: 0)

        var exported = ["OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"]
        if ProcessInfo.processInfo.environment["ELMO_BACKEND"] != nil { exported.append("ELMO_BACKEND") }
        let mpirunArguments = [
            "netns", "exec", hosts.names[0], mpirun, "--host", "\(hosts.addresses[0]):1,\(hosts.addresses[1]):1", "-np", "2",
            "--mca", "plm_rsh_agent", agent.script, "--mca", "btl", "tcp,self",  // tcp,self: no shared memory between ranks
            "--mca", "btl_tcp_if_include", TwoNamespaceHosts.subnet, "--mca", "oob_tcp_if_include", TwoNamespaceHosts.subnet,
            "--bind-to", "none",  // each "host" would otherwise pin its rank to the same core 0
            "-wdir", folder,
        ] + exported.flatMap { ["-x", $0] } + [try elmoBinary().path] + arguments + ["two"]
        let started = try startProcess(URL(fileURLWithPath: ip), mpirunArguments, environment: mpiEnvironment, in: folder)
        let deadline = Date().addingTimeInterval(300)
        while started.process.isRunning && Date() < deadline { usleep(100_000) }
        let timedOut = started.process.isRunning
        if timedOut { started.process.terminate() }
        let two = finishElmo(started)
        XCTAssertFalse(timedOut, "mpirun across the namespaces ended within 300 s: \(two.stderr)")
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stderr.contains("ranks 2"), two.stderr)

        // The second rank was started by the agent inside the second namespace.
        let started_ = (try? String(contentsOfFile: agent.log, encoding: .utf8)) ?? ""
        XCTAssertEqual(started_.split(separator: "\n"), ["\(hosts.addresses[1]) \(hosts.names[1])"])

        let one = try stepLosses("one", in: folder)
        XCTAssertEqual(one.count, 14, "7 steps per epoch, 2 epochs, every step logged")
        assertSameLosses(one, try stepLosses("two", in: folder), "two namespace hosts")

        // Every step's all-reduce crossed the veth link: each direction carries at least every gradient once per step.
        let inspected = try runElmo(["inspect", "one", "--json"], in: folder)
        let parameters = try XCTUnwrap(try inspected.json()["parameters"] as? Int, inspected.stdout)
        let after = try hosts.trafficBytes(host: 0)
        let gradientBytes = one.count * parameters * MemoryLayout<Float>.size
        XCTAssertGreaterThanOrEqual(after.sent - before.sent, gradientBytes, "bytes sent over the veth link")
        XCTAssertGreaterThanOrEqual(after.received - before.received, gradientBytes, "bytes received over the veth link")
    }
}
