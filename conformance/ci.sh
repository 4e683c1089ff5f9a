#!/usr/bin/env bash
# conformance/ci.sh: the independent contract check CI runs.
#
#  1. Spectral (OpenAPI ruleset, .spectral.yaml) lints openapi.yaml; any
#     error fails the run.
#  2. Stoplight Prism, as a validating proxy in front of the sandbox, watches
#     `milligold conformance` run through it; any violation Prism reports
#     fails the run.
#
# Prism runs without --errors on purpose: with it, Prism answers requests it
# finds invalid itself (422, or 401 problem+json) instead of forwarding them,
# so the suite's negative cases (no bearer token, a JSON token request) would
# test Prism, not the sandbox. Without it Prism forwards everything and
# reports each violation in the sl-violations response header and in its log.
# The suite records the header's violations (leaving out the request
# violations its negative cases make on purpose), and this script fails on
# any response violation in Prism's log as well.
#
# Needs go, node and npm. The npm tools are pinned and installed into
# .tools/npm (gitignored) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PRISM_VERSION=5.16.0
SPECTRAL_VERSION=6.16.3
NPM_PREFIX=.tools/npm
BIN=$NPM_PREFIX/node_modules/.bin
PARTNER_ID=${PARTNER_ID:-test-partner}
PARTNER_SECRET=${PARTNER_SECRET:-test-secret}

log() { echo "== conformance/ci.sh: $*"; }

# version prints a tool's version, or nothing when it is missing.
version() { [ -x "$BIN/$1" ] && "$BIN/$1" --version 2>/dev/null | tail -n1 || true; }

if [ "$(version prism)" != "$PRISM_VERSION" ] || [ "$(version spectral)" != "$SPECTRAL_VERSION" ]; then
	log "installing @stoplight/prism-cli@$PRISM_VERSION @stoplight/spectral-cli@$SPECTRAL_VERSION into $NPM_PREFIX"
	mkdir -p "$NPM_PREFIX"
	npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error \
		"@stoplight/prism-cli@$PRISM_VERSION" "@stoplight/spectral-cli@$SPECTRAL_VERSION"
fi

log "spectral lint openapi.yaml (fails on errors)"
"$BIN/spectral" lint openapi.yaml --ruleset .spectral.yaml --fail-severity error

work=$(mktemp -d)
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# free_port prints a loopback port nothing listens on.
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "conformance/ci.sh: no free port" >&2
	return 1
}

# wait_for waits until grep finds $2 in file $1, or fails after $3 seconds,
# or as soon as process $4 has exited.
wait_for() {
	local deadline=$((SECONDS + $3))
	until grep -q "$2" "$1" 2>/dev/null; do
		if ! kill -0 "$4" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			echo "conformance/ci.sh: gave up waiting for '$2' in $1:" >&2
			cat "$1" >&2
			return 1
		fi
		sleep 0.2
	done
}

log "building milligold"
go build -o "$work/milligold" ./cmd/milligold

sandbox_port=$(free_port)
cat >"$work/sandbox.yaml" <<EOF
faults: true
EOF
log "sandbox on 127.0.0.1:$sandbox_port (fault injection on)"
"$work/milligold" sandbox --addr "127.0.0.1:$sandbox_port" --config "$work/sandbox.yaml" >"$work/sandbox.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 30))
until (exec 3<>"/dev/tcp/127.0.0.1/$sandbox_port") 2>/dev/null; do
	if ! kill -0 "${pids[0]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
		echo "conformance/ci.sh: the sandbox did not start:" >&2
		cat "$work/sandbox.log" >&2
		exit 1
	fi
	sleep 0.2
done

prism_port=$(free_port)
log "prism proxy on 127.0.0.1:$prism_port -> http://127.0.0.1:$sandbox_port/partner"
"$BIN/prism" proxy openapi.yaml "http://127.0.0.1:$sandbox_port/partner" \
	--host 127.0.0.1 --port "$prism_port" >"$work/prism.log" 2>&1 &
pids+=($!)
wait_for "$work/prism.log" "Prism is listening" 60 "${pids[1]}"

log "milligold conformance through prism"
status=0
MILLIGOLD_PARTNER_ID=$PARTNER_ID MILLIGOLD_PARTNER_SECRET=$PARTNER_SECRET \
	"$work/milligold" conformance --base-url "http://127.0.0.1:$prism_port" --include-faults || status=$?

forwarded=$(grep -c "Forwarding" "$work/prism.log" || true)
response_violations=$(grep "Violation: response" "$work/prism.log" || true)
log "prism forwarded $forwarded requests"
if [ "$forwarded" -eq 0 ]; then
	echo "conformance/ci.sh: no request went through prism" >&2
	status=1
fi
if [ -n "$response_violations" ]; then
	echo "conformance/ci.sh: prism reports response violations:" >&2
	echo "$response_violations" >&2
	status=1
fi
if [ "$status" -ne 0 ]; then
	echo "conformance/ci.sh: FAILED; prism's log:" >&2
	cat "$work/prism.log" >&2
	exit "$status"
fi
log "passed"
