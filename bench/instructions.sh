#!/usr/bin/env bash
# bench/instructions.sh: instructions per request of each sandbox handler path
# (BenchmarkHandler in sandbox/), counted by valgrind's callgrind. Unlike
# ns/op, the count hardly moves with other work on the machine, so two
# revisions can be compared on a busy shared machine. Each path runs 200 and
# 1200 iterations; the difference divided by 1000 cancels the set-up.
#
# Usage: bench/instructions.sh [PATH...]   (default: every path)
# Needs valgrind (apt-get install -y valgrind). Go runs under callgrind with
# cgo off, async preemption off and one P (callgrind trips over Go's
# preemption signals otherwise) and RDTSCP off (this valgrind stops with
# SIGILL on the instruction, which the runtime's contended locks use on
# CPUs that have it); garbage collection is counted.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "bench/instructions.sh: valgrind not found (apt-get install -y valgrind)" >&2; exit 1; }
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(token goldRate user notFound rateLimited)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go test -c -o "$work/sandbox.test" ./sandbox

count() { # path iterations -> instructions collected
	GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
		"$work/sandbox.test" -test.run '^$' -test.bench "^BenchmarkHandler/$1\$" -test.benchtime "$2x" -test.count 1 \
		>"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
	awk '/Collected :/ {print $4}' "$work/log"
}

for p in "${paths[@]}"; do
	lo=$(count "$p" 200)
	hi=$(count "$p" 1200)
	echo "BenchmarkHandler/$p $(((hi - lo) / 1000)) instructions/op"
done
