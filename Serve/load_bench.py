"""Load benchmark of `elmo serve`; run through load-bench.sh. The load comes from `wrk` (Debian's package) with
embed.lua, so the client takes little of the CPU the server runs on.

Each request carries one sentence (in turn over the file's lines), as an application sending what it has right
now would; tokens/s counts the tokens of the answered sentences over the wall time of a phase. Offline `elmo embed` runs over the
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
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def phase(elmo_port, bodies_path, concurrency, seconds):
    """wrk with `concurrency` connections (one request at a time each) for `seconds`; its script's JSON summary."""
    out = subprocess.run(["wrk", "-t", str(min(concurrency, 2)), "-c", str(concurrency), "-d", f"{seconds}s", "--timeout", "60s",
                          "-s", os.path.join(os.path.dirname(__file__), "embed.lua"), f"http://127.0.0.1:{elmo_port}/v1/embed",
                          "--", bodies_path], check=True, capture_output=True, text=True).stdout
    summary = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    return dict(concurrency=concurrency, **summary)


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

    def offline_rate():
        """`elmo embed` over the same sentences; its own tokens/s."""
        out = subprocess.run([args.elmo, "embed", "--checkpoint", args.checkpoint, "--input", input_path, "--output",
                              os.path.join(folder, "offline.hdf5"), "--layers", "top", "--threads", str(args.threads), "--overwrite"],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])["tokens_per_s"]

    # Offline runs right before and right after the load phases: the machine is shared and its speed drifts, so
    # each ratio is taken against the mean of the two, and both are reported.
    offline_before = offline_rate()

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

    def bodies(name, chosen):
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as f:
            for s in chosen:
                f.write(f"{len(s)}\t{json.dumps({'sentences': [s]})}\n")
        return path

    all_bodies = bodies("bodies.txt", sentences)
    short = [s for s in sentences if 5 <= len(s) <= 12][:50] or sentences[:50]
    short_bodies = bodies("short.txt", short)
    phase(port, short_bodies, 1, 3)  # warm-up
    single = phase(port, short_bodies, 1, int(args.phase_seconds / 2))
    phases = [phase(port, all_bodies, c, int(args.phase_seconds)) for c in (1, 8, 32)]
    rss_warm = rss_kib(server.pid)
    offline_after = offline_rate()
    long_run = phase(port, all_bodies, 32, int(args.long_run)) if args.long_run > 0 else None
    rss_after = rss_kib(server.pid)
    server.send_signal(signal.SIGTERM)
    exit_code = server.wait(timeout=120)
    log.close()
    five_xx = sum(p["responses_5xx"] for p in phases + ([long_run] if long_run else []))
    offline = (offline_before + offline_after) / 2
    print(json.dumps({
        "checkpoint": args.checkpoint, "sentences": len(sentences), "tokens": sum(map(len, sentences)), "threads": args.threads,
        "offline_embed_tokens_per_s": round(offline, 1),
        "offline_embed_tokens_per_s_before_after": [round(offline_before, 1), round(offline_after, 1)],
        "short_sentence_c1": {"tokens": round(sum(map(len, short)) / len(short), 1), "p50_ms": single["p50_ms"], "p99_ms": single["p99_ms"]},
        "load": [dict(p, ratio_to_offline=round(p["tokens_per_s"] / offline, 3)) for p in phases],
        "long_run": long_run and dict(long_run, seconds=args.long_run),
        "rss_kib_after_warmup": rss_warm, "rss_kib_after_long_run": rss_after,
        "rss_growth": round(rss_after / rss_warm - 1, 4) if rss_warm and rss_after else None,
        "responses_5xx": five_xx, "server_exit_code": exit_code,
    }, indent=1))


if __name__ == "__main__":
    sys.exit(main())
