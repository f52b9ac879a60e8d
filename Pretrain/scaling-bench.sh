#!/usr/bin/env bash
# Measured scaling of data-parallel `elmo pretrain` (a benchmark, not a test). For ref-tiny (Pretrain/tiny.json,
# 5,000 words) and ref-small (Pretrain/small.json, 10,000 words) it trains a few steps each way:
#   a  one process, --threads 1          b  one process, --threads 2
#   c  mpirun -np 2 on this host, --threads 1 each
#   d  two "hosts" (network namespaces joined by a veth pair), one rank each: unshaped, then tbf-limited to 1 Gbit/s
# and prints one JSON line per run: tokens/s and seconds per step split into compute and communication, read from the
# run's own metrics.jsonl (`compute_s`, `comm_s`: the time inside the gradient all-reduce, waiting for the slower
# rank included, and `cpu_s`: rank 0's CPU time per step, all threads, which on a machine shared with other work
# says what a step needs rather than what it got). The first log interval (warm-up) is left out.
#
# Each config's runs repeat ROUNDS times (default 3), interleaved (a b c d d-1gbit, a b c …) so that drift in a shared
# machine's speed touches every mode alike; after the rounds one summary line per config gives each mode's median
# tokens/s and its ratio to (a)'s median, which is the number to quote (single runs here vary by ±15 %).
#
# Usage (as root for d; OpenMPI's mpirun on PATH):
#   bash Pretrain/scaling-bench.sh CORPUS.txt [STEPS] [CONFIGS]
# CORPUS.txt: one sentence per line, e.g. the Brown corpus (NLTK's `brown`, public domain for research), about 1 M
# tokens. STEPS (default 40) training steps per run; CONFIGS (default "tiny small"). ELMO names the binary (default
# .build/release/elmo); MPI_BIND the one-host binding (default core); ROUNDS the repeats. The namespaces are removed
# on exit.
set -euo pipefail

corpus=${1:?usage: scaling-bench.sh CORPUS.txt [STEPS] [CONFIGS]}
steps=${2:-40}
configs=${3:-tiny small}
rounds=${ROUNDS:-3}
elmo=$(readlink -f "${ELMO:-.build/release/elmo}")
bind=${MPI_BIND:-core}
repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=$(readlink -f "$corpus")
logEvery=5
tokensPerStep=640 # batch_size 32 x unroll_steps 20 in both configs

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/elmo-scaling.XXXXXX)
# Names and addresses of our own, so the benchmark cannot collide with the CI test's namespaces.
host1=elmobench1 host2=elmobench2 address1=10.253.0.1 address2=10.253.0.2 subnet=10.253.0.0/24
cleanup() {
    ip netns del "$host1" 2>/dev/null || true
    ip netns del "$host2" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One JSON line from a run folder's metrics: mean compute and communication seconds per step after the warm-up.
summarize() { # config mode ranks threads run-folder extra-json
    python3 - "$@" <<'PY' | tee -a "$work/runs.jsonl"
import json, sys
config, mode, ranks, threads, folder, extra = sys.argv[1:7]
records = [json.loads(line) for line in open(folder + "/metrics.jsonl")]
train = [r for r in records if r.get("kind") == "train" and "compute_s" in r]
steps, compute, comm, cpu = 0, 0.0, 0.0, 0.0
for previous, r in zip(train, train[1:]):  # the first interval is the warm-up
    n = r["step"] - previous["step"]
    steps += n; compute += r["compute_s"] * n; comm += r["comm_s"] * n; cpu += r.get("cpu_s", 0) * n
compute /= max(steps, 1); comm /= max(steps, 1); cpu /= max(steps, 1)
step = compute + comm
line = {"config": config, "mode": mode, "ranks": int(ranks), "threads": int(threads), "steps": steps,
        "tokens_per_s": round(640 / step, 1) if step else None, "step_s": round(step, 4),
        "compute_s": round(compute, 4), "comm_s": round(comm, 4), "cpu_s": round(cpu, 4)}
line.update(json.loads(extra))
print(json.dumps(line), flush=True)
PY
}

# One line per config from its rounds: each run kind's median tokens/s and that median over (a)'s.
summarizeRounds() { # config
    python3 - "$1" "$work/runs.jsonl" <<'PY'
import json, statistics, sys
config, path = sys.argv[1:3]
runs = [json.loads(line) for line in open(path)]
runs = [r for r in runs if r["config"] == config and r.get("tokens_per_s")]
def kind(r):
    return {"one process": f"a{r['threads']}", "mpirun one host": "c"}.get(r["mode"], "d " + r.get("link", ""))
medians = {}
for r in runs:
    medians.setdefault(kind(r), []).append(r["tokens_per_s"])
rounds = max(len(v) for v in medians.values())
medians = {k: statistics.median(v) for k, v in medians.items()}
base = medians.get("a1")
print(json.dumps({"config": config, "summary": f"median of {rounds} rounds",
                  "median_tokens_per_s": medians,
                  "vs_a": {k: round(v / base, 3) for k, v in medians.items()} if base else None}), flush=True)
PY
}

pretrainArguments() { # config output threads
    echo pretrain --config "$repo/Pretrain/$1.json" --vocab "$work/vocab-$1.txt" --train "$corpus" --output "$2" \
        --max-tokens $((steps * tokensPerStep)) --log-every $logEvery --checkpoint-every 1000000 \
        --threads "$3" --seed 1
}

makeHosts() {
    ip netns add "$host1"
    ip netns add "$host2"
    ip link add ebveth1 type veth peer name ebveth2
    ip link set ebveth1 netns "$host1"
    ip link set ebveth2 netns "$host2"
    ip -n "$host1" addr add "$address1/24" dev ebveth1
    ip -n "$host2" addr add "$address2/24" dev ebveth2
    for h in "$host1:ebveth1" "$host2:ebveth2"; do
        ip -n "${h%%:*}" link set "${h#*:}" up
        ip -n "${h%%:*}" link set lo up
    done
    # mpirun starts the remote rank through this agent instead of ssh: it enters the namespace owning the address.
    cat > "$work/agent.sh" <<A
#!/bin/bash
host="\$1"; shift
case "\$host" in $address1) ns=$host1;; $address2) ns=$host2;; *) ns="\$host";; esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
A
    chmod +x "$work/agent.sh"
}

runTwoHosts() { # config output
    # --bind-to none: both "hosts" are this machine, and binding would put each host's one rank on core 0.
    ip netns exec "$host1" mpirun --host "$address1:1,$address2:1" -np 2 --bind-to none \
        --mca plm_rsh_agent "$work/agent.sh" --mca btl tcp,self \
        --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet" \
        -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
        "$elmo" $(pretrainArguments "$1" "$2" 1) > "$2.log" 2>&1
}

echo "{\"uptime\": \"$(uptime | sed 's/.*load/load/')\", \"corpus\": \"$(basename "$corpus")\", \"steps\": $steps}"
if [ "$(id -u)" = 0 ]; then makeHosts; fi
for config in $configs; do
    size=$([ "$config" = tiny ] && echo 5000 || echo 10000)
    name=$([ "$config" = tiny ] && echo ref-tiny || echo ref-small)
    "$elmo" vocab build "$corpus" --output "$work/vocab-$config.txt" --max-size "$size" > /dev/null 2>&1

    for round in $(seq 1 "$rounds"); do
        for threads in 1 2; do
            run=$work/$config-a$threads-$round
            "$elmo" $(pretrainArguments "$config" "$run" "$threads") > "$run.log" 2>&1
            summarize "$name" "one process" 1 "$threads" "$run" "{\"round\": $round}"
        done

        run=$work/$config-c-$round
        mpirun -np 2 --bind-to "$bind" "$elmo" $(pretrainArguments "$config" "$run" 1) > "$run.log" 2>&1
        summarize "$name" "mpirun one host" 2 1 "$run" "{\"bind\": \"$bind\", \"round\": $round}"

        if [ "$(id -u)" = 0 ]; then
            run=$work/$config-d-$round
            runTwoHosts "$config" "$run"
            summarize "$name" "two hosts veth" 2 1 "$run" "{\"link\": \"unshaped\", \"round\": $round}"
            ip netns exec "$host1" tc qdisc add dev ebveth1 root tbf rate 1gbit burst 64kb latency 50ms
            ip netns exec "$host2" tc qdisc add dev ebveth2 root tbf rate 1gbit burst 64kb latency 50ms
            run=$work/$config-d-1gbit-$round
            runTwoHosts "$config" "$run"
            summarize "$name" "two hosts veth" 2 1 "$run" "{\"link\": \"tbf 1gbit\", \"round\": $round}"
            ip netns exec "$host1" tc qdisc del dev ebveth1 root
            ip netns exec "$host2" tc qdisc del dev ebveth2 root
        elif [ "$round" = 1 ]; then
            echo "{\"config\": \"$name\", \"skipped\": \"two namespace hosts need root\"}"
        fi
        rm -rf "$work/$config"-*-"$round"
    done
    summarizeRounds "$name"
done
echo "{\"uptime\": \"$(uptime | sed 's/.*load/load/')\"}"
