#!/usr/bin/env bash
# Load benchmark of `elmo serve` (not a test): p50/p99 latency and tokens/s at concurrency 1, 8 and 32, next to
# offline `elmo embed` tokens/s on the same sentences, the latency of one short sentence, and the server's RSS after
# warm-up and after a long run; prints one JSON object. Loopback only.
#
#   bash Serve/load-bench.sh CHECKPOINT TEXT_FILE [LONG_RUN_SECONDS (default 600)] [THREADS (default 2)]
#
# Builds `elmo` (release) when ELMO is not set. Uses the first 2,000 non-empty lines of TEXT_FILE. Needs `wrk`
# (Debian: apt-get install wrk) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoint=${1:?usage: load-bench.sh CHECKPOINT TEXT_FILE [LONG_RUN_SECONDS] [THREADS]}
text=${2:?usage: load-bench.sh CHECKPOINT TEXT_FILE [LONG_RUN_SECONDS] [THREADS]}
long_run=${3:-600}
threads=${4:-2}
if [ -z "${ELMO:-}" ]; then
    swift build -c release --product elmo >&2
    ELMO=.build/release/elmo
fi
exec python3 Serve/load_bench.py --elmo "$ELMO" --checkpoint "$checkpoint" --text "$text" --long-run "$long_run" --threads "$threads"
