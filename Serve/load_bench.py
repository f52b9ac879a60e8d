"""Load benchmark of `elmo serve`; run through load-bench.sh. Standard library only (http.client, threads).

Each request carries one sentence (round-robin over the file's lines), as an application sending what it has right
now would; tokens/s counts the sentences' tokens over the wall time of a phase. Offline `elmo embed` runs over the
same sentences with the same layer choice (top) and threads, and its own tokens/s is what it reports.
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def post(port, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", "/v1/embed", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def phase(port, sentences, concurrency, seconds):
    """Workers send one-sentence requests back to back for `seconds`; returns latencies, tokens/s and statuses."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    latencies, statuses, tokens = [], {}, [0]
    bodies = [json.dumps({"sentences": [s]}).encode() for s in sentences]

    def worker(k):
        i = k
        while time.monotonic() < stop:
            started = time.monotonic()
            status = post(port, bodies[i % len(bodies)])
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    tokens[0] += len(sentences[i % len(sentences)])
            i += concurrency

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.monotonic() - started
    latencies.sort()

    def quantile(q):
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2) if latencies else None

    return {"concurrency": concurrency, "requests": len(latencies), "p50_ms": quantile(0.5), "p99_ms": quantile(0.99),
            "tokens_per_s": round(tokens[0] / wall, 1), "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elmo", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--long-run", type=float, default=600)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--phase-seconds", type=float, default=20)
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()

    sentences = []
    with open(args.text, encoding="utf-8") as f:
        for line in f:
            tokens = line.split()
            if tokens and len(tokens) <= 1000:
                sentences.append(tokens)
            if len(sentences) == args.lines:
                break
    folder = tempfile.mkdtemp(prefix="elmo-load-bench-")
    input_path = os.path.join(folder, "sentences.txt")
    with open(input_path, "w", encoding="utf-8") as f:
        f.write("\n".join(" ".join(s) for s in sentences) + "\n")

    offline = subprocess.run([args.elmo, "embed", "--checkpoint", args.checkpoint, "--input", input_path, "--output",
                              os.path.join(folder, "offline.hdf5"), "--layers", "top", "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True)
    offline_summary = json.loads(offline.stdout.strip().splitlines()[-1])

    log_path = os.path.join(folder, "serve.log")
    log = open(log_path, "w")
    server = subprocess.Popen([args.elmo, "serve", "--checkpoint", args.checkpoint, "--port", "0", "--threads", str(args.threads),
                               "--max-queue", "1024"], stderr=log, stdout=subprocess.DEVNULL)
    port, deadline = None, time.monotonic() + 300
    while port is None and time.monotonic() < deadline:
        time.sleep(0.05)
        with open(log_path) as f:
            for line in f:
                if '"message":"listening"' in line:
                    port = json.loads(line)["port"]
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)

    short = [s for s in sentences if 5 <= len(s) <= 12][:50] or sentences[:50]
    phase(port, short, 1, 3)  # warm-up
    single = phase(port, short, 1, args.phase_seconds / 2)
    phases = [phase(port, sentences, c, args.phase_seconds) for c in (1, 8, 32)]
    rss_warm = rss_kib(server.pid)
    long_run = phase(port, sentences, 32, args.long_run) if args.long_run > 0 else None
    rss_after = rss_kib(server.pid)
    server.send_signal(signal.SIGTERM)
    exit_code = server.wait(timeout=120)
    log.close()
    five_xx = sum(v for p in phases + ([long_run] if long_run else []) for k, v in p["statuses"].items() if k.startswith("5"))
    offline_rate = offline_summary["tokens_per_s"]
    print(json.dumps({
        "checkpoint": args.checkpoint, "sentences": len(sentences), "tokens": sum(map(len, sentences)), "threads": args.threads,
        "offline_embed_tokens_per_s": round(offline_rate, 1),
        "short_sentence_c1": {"tokens": round(sum(map(len, short)) / len(short), 1), "p50_ms": single["p50_ms"], "p99_ms": single["p99_ms"]},
        "load": [dict(p, ratio_to_offline=round(p["tokens_per_s"] / offline_rate, 3)) for p in phases],
        "long_run": long_run and dict(long_run, seconds=args.long_run),
        "rss_kib_after_warmup": rss_warm, "rss_kib_after_long_run": rss_after,
        "rss_growth": round(rss_after / rss_warm - 1, 4) if rss_warm and rss_after else None,
        "responses_5xx": five_xx, "server_exit_code": exit_code,
    }, indent=1))


if __name__ == "__main__":
    sys.exit(main())
