#!/usr/bin/env bash
# bench/run.sh (make bench): measures milligold-go side by side with its peers
# and prints one Markdown table on stdout (progress goes to stderr).
#
#  1. go test -bench (five runs each, the median kept): the client's GoldRate against a hand-written call, tokens
#     per expiry period under 64 concurrent callers, each sandbox handler path.
#  2. go run ./bench: wrk against the sandbox, bare net/http handlers and two
#     Prism mocks of openapi.yaml (as users run it and with -v error) in
#     alternating rounds, medians and ranges; `milligold sandbox` and Prism's
#     startup time and idle RSS; the client-limiter quota simulation; the table.
#  3. bench/shared (processes on one Redis), then bench -only quota-real (the
#     client on the real clock behind a 5-150 ms jitter proxy), appended.
#
# Installs what is missing: wrk from Debian's packages, Prism from npm (pinned,
# into .tools/npm, shared with conformance/ci.sh). Reporting only: a missed
# target is marked in the table; the script fails only when a step breaks.
#
# Knobs (environment): BENCH_DURATION (2s a round), BENCH_ROUNDS (7), BENCH_WARMUP (2s), BENCH_THREADS (2),
# BENCH_CONNS (64), BENCH_OUT (also write the table to this file),
# BENCH_PROFILE (a directory: CPU and allocation profiles of the sandbox's first GET round).
set -euo pipefail
cd "$(dirname "$0")/.."

PRISM_VERSION=5.16.0
NPM_PREFIX=.tools/npm
PRISM=$NPM_PREFIX/node_modules/.bin/prism

log() { echo "== bench/run.sh: $*" >&2; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }

command -v go >/dev/null || die "go not found"

if ! command -v wrk >/dev/null; then
	log "installing wrk (Debian package)"
	[ "$(id -u)" = 0 ] || die "wrk is missing and installing it needs root: apt-get install -y wrk"
	{ apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } >&2 ||
		die "apt-get install wrk failed"
fi

prism_version() { [ -x "$PRISM" ] && "$PRISM" --version 2>/dev/null | tail -n1 || true; }
if [ "$(prism_version)" != "$PRISM_VERSION" ]; then
	command -v npm >/dev/null || die "npm not found (needed to install @stoplight/prism-cli)"
	log "installing @stoplight/prism-cli@$PRISM_VERSION into $NPM_PREFIX"
	mkdir -p "$NPM_PREFIX"
	npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error \
		"@stoplight/prism-cli@$PRISM_VERSION" >&2 || die "npm install @stoplight/prism-cli@$PRISM_VERSION failed"
	[ "$(prism_version)" = "$PRISM_VERSION" ] || die "prism --version is '$(prism_version)'; want $PRISM_VERSION"
fi

work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# runbg runs a command in the background so the trap can stop it, and waits.
runbg() {
	"$@" &
	pid=$!
	local rc=0
	wait "$pid" || rc=$?
	pid=
	return "$rc"
}

log "building ./bench and ./cmd/milligold"
go build -o "$work/bench" ./bench || die "go build ./bench failed"
go build -o "$work/milligold" ./cmd/milligold || die "go build ./cmd/milligold failed"

log "go test -bench (client, sandbox handlers)"
pkgs=(.)
[ -d sandbox ] && pkgs+=(./sandbox)
# Five runs of -count=1 rather than one of -count=5, which runs each benchmark
# five times in a row: this way a benchmark and its peer (the client and the
# hand-written call) run back to back in every round and meet the same load.
: >"$work/gobench.txt"
for _ in 1 2 3 4 5; do
	runbg go test -run '^$' -bench '^(BenchmarkGoldRate|BenchmarkTokenPerPeriod64|BenchmarkHandler)$' \
		-benchmem -benchtime=300ms -count=1 -timeout 5m "${pkgs[@]}" >>"$work/gobench.txt" ||
		{ cat "$work/gobench.txt" >&2; die "go test -bench failed"; }
done

args=(-wrk "$(command -v wrk)" -prism "$PRISM" -prism-version "$PRISM_VERSION" -gobench "$work/gobench.txt"
	-milligold "$work/milligold"
	-duration "${BENCH_DURATION:-2s}" -rounds "${BENCH_ROUNDS:-7}" -warmup "${BENCH_WARMUP:-2s}"
	-threads "${BENCH_THREADS:-2}" -conns "${BENCH_CONNS:-64}")
if [ -n "${BENCH_PROFILE:-}" ]; then
	mkdir -p "$BENCH_PROFILE"
	args+=(-cpuprofile "$BENCH_PROFILE/sandbox.cpu.pprof" -memprofile "$BENCH_PROFILE/sandbox.allocs.pprof")
	log "profiles go to $BENCH_PROFILE (read with: go tool pprof -top FILE)"
fi
log "measuring (about two and a half minutes)"
runbg timeout --kill-after=10s 600s "$work/bench" "${args[@]}" >"$work/table.md" || die "bench failed (see above)"

# The shared-quota rows: a separate command (bench/shared) with its own redis-server.
command -v redis-server >/dev/null || { apt-get install -y -qq redis-server || { apt-get update -qq && apt-get install -y -qq redis-server; }; } >&2
log "shared quota: processes on one Redis vs independent clients (about 40 s)"
go build -o "$work/shared" ./bench/shared && runbg "$work/shared" >>"$work/table.md" || die "bench/shared failed"
log "quota on the real clock: the client behind a 5-150 ms jitter proxy, in process and on Redis, adaptive vs fixed margin (about 80 s)"
runbg timeout --kill-after=10s 300s "$work/bench" -only quota-real >>"$work/table.md" || die "bench -only quota-real failed"

cat "$work/table.md"
if [ -n "${BENCH_OUT:-}" ]; then
	cp "$work/table.md" "$BENCH_OUT"
fi
