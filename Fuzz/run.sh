#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/Package.swift with -sanitize=fuzzer,address and runs each for SECONDS
# (default 60) on a copy of its seed corpus in Fuzz/Corpus/<name>/. Findings (crash-*, leak-*, timeout-*) go to
# Fuzz/.build-fuzz/findings/<name>/; the script ends non-zero if any target found one.
#   bash Fuzz/run.sh [SECONDS] [TARGET...]     e.g. bash Fuzz/run.sh 30 text config
# Linux only (libFuzzer ships with the Swift toolchain there). Not part of .ci/test.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(text tsv csv conll conllu slash config npz npy hdf5)

scratch=.build-fuzz
mkdir -p "$scratch"
swift build -c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -g >"$scratch/build.log" 2>&1 || {
    tail -30 "$scratch/build.log"; echo "fuzz build failed (log: Fuzz/$scratch/build.log)"; exit 2; }
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

failed=0
for name in "${targets[@]}"; do
    corpus="$scratch/corpus/$name" findings="$scratch/findings/$name"
    mkdir -p "$corpus" "$findings"
    cp -n Corpus/"$name"/* "$corpus"/ 2>/dev/null || true
    echo "== fuzz-$name: ${seconds}s"
    # -rss_limit_mb: a reader that tries to allocate without bound counts as a finding too.
    ASAN_OPTIONS=detect_leaks=0 "$bin/fuzz-$name" "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$findings/" -print_final_stats=1 >"$findings.log" 2>&1
    status=$?
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)" "$findings.log" | tail -3
    if [ $status -ne 0 ]; then
        failed=1
        echo "   FOUND (exit $status): $(ls "$findings" | head -5) — see Fuzz/$findings.log"
        grep -m3 -E "ERROR|Fatal error|SUMMARY" "$findings.log" | sed 's/^/   /'
    fi
done
exit $failed
