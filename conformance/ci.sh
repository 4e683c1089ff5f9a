#!/usr/bin/env bash
# conformance/ci.sh: the independent contract check CI runs.
#
#  1. Spectral (OpenAPI ruleset, .spectral.yaml) lints openapi.yaml; any
#     error fails the run.
#  2. Stoplight Prism mocks openapi.yaml, static and dynamic: every
#     documented (operation, status) pair must answer the envelope with
#     success true on 2xx and false on errors, 429's X-Rate-Limit-* headers
#     must be integers within the spec's minimums, and numbers that cannot be
#     negative must not be, so tools that read only the spec answer
#     faithfully.
#  3. Stoplight Prism, as a validating proxy in front of the sandbox, watches
#     `milligold conformance` run through it, every case included (the 500s
#     by fault injection; the rate limit on the real 20 s window, so this
#     step takes about a minute); any violation Prism reports fails the run.
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
# CONFORMANCE_UPSTREAM=URL puts Prism in front of another API instead of a
# local sandbox (credentials from MILLIGOLD_PARTNER_ID and
# MILLIGOLD_PARTNER_SECRET; no fault cases).
#
# Needs go, node, npm, curl and jq. The npm tools are pinned and installed into
# .tools/npm (gitignored) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PRISM_VERSION=5.16.0
SPECTRAL_VERSION=6.16.3
NPM_PREFIX=.tools/npm
BIN=$NPM_PREFIX/node_modules/.bin

log() { echo "== conformance/ci.sh: $*"; }
fail() { echo "conformance/ci.sh: $*" >&2; exit 1; }

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
	fail "no free port"
}

# wait_until CHECK SECONDS PID LOG: runs CHECK until it succeeds; fails with
# LOG when process PID exits first or SECONDS pass.
wait_until() {
	local deadline=$((SECONDS + $2))
	until eval "$1"; do
		if ! kill -0 "$3" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			cat "$4" >&2
			fail "gave up waiting for: $1"
		fi
		sleep 0.2
	done
}

mock_port=$(free_port)
log "prism mock openapi.yaml on 127.0.0.1:$mock_port"
"$BIN/prism" mock openapi.yaml --host 127.0.0.1 --port "$mock_port" >"$work/mock.log" 2>&1 &
pids+=($!)
wait_until "grep -q 'Prism is listening' '$work/mock.log'" 60 "${pids[-1]}" "$work/mock.log"

# mock_check METHOD PATH STATUS JQ: asks the mock for STATUS, statically
# (the spec's examples) and dynamically (made up from the schemas), and fails
# unless the answer has that status and its body satisfies JQ.
mock_check() {
	local method=$1 path=$2 code=$3 want=$4 prefer status name min value
	local args=(-sS -D "$work/mock.h" -o "$work/mock.b" -X "$method" -H "Authorization: Bearer mock")
	if [ "$method" = POST ]; then
		args+=(-H 'Content-Type: application/x-www-form-urlencoded' --data 'partnerId=p&partnerSecret=s')
	fi
	for prefer in "code=$code" "code=$code, dynamic=true"; do
		curl "${args[@]}" -H "Prefer: $prefer" "http://127.0.0.1:$mock_port$path" || fail "mock $method $path ($prefer): curl failed"
		status=$(head -n1 "$work/mock.h" | cut -d' ' -f2)
		[ "$status" = "$code" ] || fail "mock $method $path ($prefer): status $status; want $code"
		jq -e "$want" "$work/mock.b" >/dev/null ||
			fail "mock $method $path ($prefer): body $(cat "$work/mock.b") fails $want"
		[ "$code" = 429 ] || continue
		for name in X-Rate-Limit-Limit:1 X-Rate-Limit-Remaining:0 X-Rate-Limit-Reset:0; do
			min=${name#*:} name=${name%:*}
			value=$(grep -i "^$name:" "$work/mock.h" | cut -d' ' -f2 | tr -d '\r')
			[[ "$value" =~ ^[0-9]+$ ]] && [ "$value" -ge "$min" ] ||
				fail "mock $method $path ($prefer): $name is '$value'; want an integer of at least $min"
		done
	done
}
error='.success == false and (.error | type) == "string" and (.errorCode | type) == "string"'
mock_check POST /auth/token 200 '.success == true and .data.expiresIn >= 1 and .data.createdAt >= 0'
mock_check GET /gold/rate 200 '.success == true and ([.data.rate, .data.cgstRate, .data.sgstRate] | all(. >= 0))'
mock_check GET /user/info/1234567890 200 '.success == true and .data.goldBalance >= 0'
for code in 400 401 429 500; do mock_check POST /auth/token "$code" "$error"; done
for code in 401 429 500; do mock_check GET /gold/rate "$code" "$error"; done
for code in 400 401 404 429 500; do mock_check GET /user/info/1234567890 "$code" "$error"; done
log "prism mock: every documented answer has the right envelope and sane headers"

log "building milligold"
go build -o "$work/milligold" ./cmd/milligold

upstream=${CONFORMANCE_UPSTREAM:-}
suite_flags=(--include-rate-limit)
if [ -z "$upstream" ]; then
	port=$(free_port)
	# The embedded default world, with fault injection for the 500 cases.
	{ cat sandbox/default.yaml; echo "faults: true"; } >"$work/sandbox.yaml"
	log "sandbox on 127.0.0.1:$port (fault injection on)"
	"$work/milligold" sandbox --addr "127.0.0.1:$port" --config "$work/sandbox.yaml" >"$work/sandbox.log" 2>&1 &
	pids+=($!)
	wait_until "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null" 30 "${pids[-1]}" "$work/sandbox.log"
	upstream="http://127.0.0.1:$port/partner"
	suite_flags+=(--include-faults)
	# The embedded default's partner; its secret is a well-known test value
	# that opens only a local sandbox.
	export MILLIGOLD_PARTNER_ID=cljmwgeu10000g5fvztn2mrvn MILLIGOLD_PARTNER_SECRET=sandbox-secret
fi

prism_port=$(free_port)
log "prism proxy on 127.0.0.1:$prism_port -> $upstream"
"$BIN/prism" proxy openapi.yaml "$upstream" --host 127.0.0.1 --port "$prism_port" >"$work/prism.log" 2>&1 &
pids+=($!)
wait_until "grep -q 'Prism is listening' '$work/prism.log'" 60 "${pids[-1]}" "$work/prism.log"

log "milligold conformance ${suite_flags[*]} through prism"
status=0
"$work/milligold" conformance --base-url "http://127.0.0.1:$prism_port" "${suite_flags[@]}" || status=$?

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
