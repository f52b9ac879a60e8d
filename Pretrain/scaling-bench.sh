#!/usr/bin/env bash
# Measured scaling of data-parallel `elmo pretrain` (a benchmark, not a test). For ref-tiny (Pretrain/tiny.json,
# 5,000 words) and ref-small (Pretrain/small.json, 10,000 words) it trains a few steps each way:
#   a  one process, --threads 1          b  one process, --threads 2
#   c  mpirun -np 2 on this host, --threads 1 each
#   d  two "hosts" (network namespaces joined by a veth pair), one rank each: unshaped, then tbf-limited to 1 Gbit/s
# and, as yardsticks for (c) with no MPI in them: one process training half the batch (B/2 rows, what one rank of
# (c) computes), alone and as two independent processes side by side, each on its own core ("half pair": what (c)
# would reach if MPI cost nothing, so (a) → half pair is the model's own per-step cost at half the rows plus the two
# cores sharing one memory system, and half pair → c is what MPI costs); as root, the half pair once more while a
# paced TCP stream (one step's gradient bytes each way every (c) step) crosses the veth link, unshaped and shaped,
# which shows what the emulated link's traffic itself costs the two cores the ranks compute on,
# and prints one JSON line per run: tokens/s and seconds per step split into compute and communication, read from the
# run's own metrics.jsonl (`compute_s`, `comm_s`: the time inside the gradient all-reduce, waiting for the slower
# rank included, and `cpu_s`: rank 0's CPU time per step, all threads, which on a machine shared with other work
# says what a step needs rather than what it got). The first log interval (warm-up) is left out.
#
# Each config's runs repeat ROUNDS times (default 3), interleaved (a b half pair c d d-1gbit, a b …) so that drift in a
# shared machine's speed touches every mode alike; after the rounds one summary line per config gives each mode's
# median tokens/s and its ratio to (a)'s median, and the median over rounds of each mode's ratio to the same round's
# (a), which follows the machine's drift more closely (single runs here vary by ±15 %).
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
loadPids=""
cleanup() {
    stopLinkLoad
    ip netns del "$host1" 2>/dev/null || true
    ip netns del "$host2" 2>/dev/null || true
    cat "$work/stream.log" 2>/dev/null >&2 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One JSON line from a run folder's metrics: mean compute and communication seconds per step after the warm-up.
# With several run folders (independent processes side by side), tokens/s is their sum and the times their mean.
summarize() { # tokens-per-step config mode ranks threads extra-json run-folder...
    python3 - "$@" <<'PY' | tee -a "$work/runs.jsonl"
import json, sys
tokens, config, mode, ranks, threads, extra = sys.argv[1:7]
def perStep(folder):
    records = [json.loads(line) for line in open(folder + "/metrics.jsonl")]
    train = [r for r in records if r.get("kind") == "train" and "compute_s" in r]
    steps, compute, comm, cpu = 0, 0.0, 0.0, 0.0
    for previous, r in zip(train, train[1:]):  # the first interval is the warm-up
        n = r["step"] - previous["step"]
        steps += n; compute += r["compute_s"] * n; comm += r["comm_s"] * n; cpu += r.get("cpu_s", 0) * n
    return steps, compute / max(steps, 1), comm / max(steps, 1), cpu / max(steps, 1)
runs = [perStep(folder) for folder in sys.argv[7:]]
steps = runs[0][0]
compute, comm, cpu = (sum(r[i] for r in runs) / len(runs) for i in (1, 2, 3))
step = compute + comm
rate = sum(int(tokens) / (r[1] + r[2]) for r in runs if r[1] + r[2] > 0)
line = {"config": config, "mode": mode, "ranks": int(ranks), "threads": int(threads), "steps": steps,
        "tokens_per_s": round(rate, 1) if step else None, "step_s": round(step, 4),
        "compute_s": round(compute, 4), "comm_s": round(comm, 4), "cpu_s": round(cpu, 4)}
line.update(json.loads(extra))
print(json.dumps(line), flush=True)
PY
}

# One line per config from its rounds: each run kind's median tokens/s and that median over (a)'s, and the median
# of each kind's ratio to the (a) run of its own round.
summarizeRounds() { # config
    python3 - "$1" "$work/runs.jsonl" <<'PY'
import json, statistics, sys
config, path = sys.argv[1:3]
runs = [json.loads(line) for line in open(path)]
runs = [r for r in runs if r["config"] == config and r.get("tokens_per_s")]
def kind(r):
    if r["mode"] == "half pair, link load": return "half pair, load " + r["link"]
    return {"one process": f"a{r['threads']}", "half batch": "half", "half pair": "half pair",
            "mpirun one host": "c"}.get(r["mode"], "d " + r.get("link", ""))
rates, perRound = {}, {}
for r in runs:
    rates.setdefault(kind(r), []).append(r["tokens_per_s"])
    perRound.setdefault(r["round"], {})[kind(r)] = r["tokens_per_s"]
rounds = max(len(v) for v in rates.values())
medians = {k: statistics.median(v) for k, v in rates.items()}
base = medians.get("a1")
paired = {}
for kinds in perRound.values():
    for k, v in kinds.items():
        if "a1" in kinds: paired.setdefault(k, []).append(v / kinds["a1"])
print(json.dumps({"config": config, "summary": f"median of {rounds} rounds",
                  "median_tokens_per_s": medians,
                  "vs_a": {k: round(v / base, 3) for k, v in medians.items()} if base else None,
                  "vs_same_round_a": {k: round(statistics.median(v), 3) for k, v in paired.items()}}), flush=True)
PY
}

pretrainArguments() { # config output threads [config-file tokens-per-step]
    echo pretrain --config "${4:-$repo/Pretrain/$1.json}" --vocab "$work/vocab-$1.txt" --train "$corpus" --output "$2" \
        --max-tokens $((steps * ${5:-$tokensPerStep})) --log-every $logEvery --checkpoint-every 1000000 \
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

shapeLink() { # add|del: the 1 Gbit/s token bucket on both ends of the veth pair
    if [ "$1" = add ]; then
        ip netns exec "$host1" tc qdisc add dev ebveth1 root tbf rate 1gbit burst 64kb latency 50ms
        ip netns exec "$host2" tc qdisc add dev ebveth2 root tbf rate 1gbit burst 64kb latency 50ms
    else
        ip netns exec "$host1" tc qdisc del dev ebveth1 root
        ip netns exec "$host2" tc qdisc del dev ebveth2 root
    fi
}

# One step's gradient bytes: 4 per parameter, as `elmo inspect` counts them in the run's checkpoint.
gradientBytes() { # run-folder
    "$elmo" inspect "$1" --json 2>/dev/null | python3 -c 'import json, sys; print(4 * json.load(sys.stdin)["parameters"])'
}
# The seconds per step of the run summarize printed last.
lastStepSeconds() { tail -n 1 "$work/runs.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["step_s"])'; }

# Two independent half-batch trainings side by side, each pinned to its own core; waits for both.
runHalfPair() { # config run-prefix round
    local pids=""
    for core in 0 1; do
        taskset -c $core "$elmo" $(pretrainArguments "$1" "$2$core-$3" 1 "$half" $((tokensPerStep / 2))) > "$2$core-$3.log" 2>&1 &
        pids="$pids $!"
    done
    wait $pids
}

# A paced stream each way between the namespaces: BYTES every PERIOD seconds, read in whole messages (one wake-up
# each, as an all-reduce's receiver is), until stopLinkLoad.
startLinkLoad() { # bytes period
    cat > "$work/stream.py" <<'PY'
import socket, sys, threading, time
mode, address, size, period = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if mode == "listen":
    server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, 5999)); server.listen(1); connection, _ = server.accept()
else:
    for _ in range(100):
        try: connection = socket.create_connection((address, 5999)); break
        except OSError: time.sleep(0.1)
def read():
    buffer = bytearray(size)
    while connection.recv_into(buffer, size, socket.MSG_WAITALL): pass
threading.Thread(target=read, daemon=True).start()
message = bytes(size)
while True:
    started = time.time(); connection.sendall(message)
    time.sleep(max(0, period - (time.time() - started)))
PY
    # Without the traps: a background subshell inherits them, and a killed one would run cleanup.
    (trap - EXIT INT TERM; exec ip netns exec "$host2" python3 "$work/stream.py" listen "$address2" "$1" "$2" 2>> "$work/stream.log") &
    loadPids="$!"
    sleep 0.5
    (trap - EXIT INT TERM; exec ip netns exec "$host1" python3 "$work/stream.py" connect "$address2" "$1" "$2" 2>> "$work/stream.log") &
    loadPids="$loadPids $!"
    sleep 0.5
}
stopLinkLoad() { kill $loadPids 2>/dev/null || true; wait $loadPids 2>/dev/null || true; loadPids=""; }

echo "{\"uptime\": \"$(uptime | sed 's/.*load/load/')\", \"corpus\": \"$(basename "$corpus")\", \"steps\": $steps}"
if [ "$(id -u)" = 0 ]; then makeHosts; fi
for config in $configs; do
    size=$([ "$config" = tiny ] && echo 5000 || echo 10000)
    name=$([ "$config" = tiny ] && echo ref-tiny || echo ref-small)
    "$elmo" vocab build "$corpus" --output "$work/vocab-$config.txt" --max-size "$size" > /dev/null 2>&1
    # The same config with half the batch's rows: what one rank of `mpirun -np 2` trains each step.
    half=$work/$config-half.json
    python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["batch_size"] //= 2; json.dump(c, open(sys.argv[2], "w"))' \
        "$repo/Pretrain/$config.json" "$half"

    for round in $(seq 1 "$rounds"); do
        for threads in 1 2; do
            run=$work/$config-a$threads-$round
            "$elmo" $(pretrainArguments "$config" "$run" "$threads") > "$run.log" 2>&1
            summarize $tokensPerStep "$name" "one process" 1 "$threads" "{\"round\": $round}" "$run"
        done

        run=$work/$config-half-$round
        "$elmo" $(pretrainArguments "$config" "$run" 1 "$half" $((tokensPerStep / 2))) > "$run.log" 2>&1
        summarize $((tokensPerStep / 2)) "$name" "half batch" 1 1 "{\"round\": $round}" "$run"
        runHalfPair "$config" "$work/$config-pair" "$round"
        summarize $((tokensPerStep / 2)) "$name" "half pair" 2 1 "{\"round\": $round}" "$work/$config-pair0-$round" "$work/$config-pair1-$round"

        run=$work/$config-c-$round
        mpirun -np 2 --bind-to "$bind" "$elmo" $(pretrainArguments "$config" "$run" 1) > "$run.log" 2>&1
        summarize $tokensPerStep "$name" "mpirun one host" 2 1 "{\"bind\": \"$bind\", \"round\": $round}" "$run"
        oneHostStep=$(lastStepSeconds)

        if [ "$(id -u)" = 0 ]; then
            run=$work/$config-d-$round
            runTwoHosts "$config" "$run"
            summarize $tokensPerStep "$name" "two hosts veth" 2 1 "{\"link\": \"unshaped\", \"round\": $round}" "$run"
            shapeLink add
            run=$work/$config-d-1gbit-$round
            runTwoHosts "$config" "$run"
            summarize $tokensPerStep "$name" "two hosts veth" 2 1 "{\"link\": \"tbf 1gbit\", \"round\": $round}" "$run"
            shapeLink del
            # What the link itself costs the cores: the half pair again while a paced TCP stream as large as one
            # step's gradients crosses the link each way every (c) step, unshaped and then shaped.
            bytes=$(gradientBytes "$work/$config-a1-$round")
            for link in unshaped "tbf 1gbit"; do
                tag=${link%% *}
                [ "$link" = unshaped ] || shapeLink add
                startLinkLoad "$bytes" "$oneHostStep"
                runHalfPair "$config" "$work/$config-load$tag" "$round"
                stopLinkLoad
                [ "$link" = unshaped ] || shapeLink del
                summarize $((tokensPerStep / 2)) "$name" "half pair, link load" 2 1 "{\"link\": \"$link\", \"round\": $round}" \
                    "$work/$config-load${tag}0-$round" "$work/$config-load${tag}1-$round"
            done
        elif [ "$round" = 1 ]; then
            echo "{\"config\": \"$name\", \"skipped\": \"two namespace hosts need root\"}"
        fi
        rm -rf "$work/$config"-*-"$round"
    done
    summarizeRounds "$name"
done
echo "{\"uptime\": \"$(uptime | sed 's/.*load/load/')\"}"
