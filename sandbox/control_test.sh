#!/usr/bin/env bash
# The sandbox's control API from a test suite that is not Go: curl and jq
# only. Starts `milligold sandbox --control` on a free loopback port, then
# drives token expiry, a forced 429 and a forced 500 through the control API
# and reads each back from the journal. The README's walkthrough is the same.
#
#   bash sandbox/control_test.sh        (make console-test runs it)
#
# No secret or token is printed: failures show statuses and errorCodes.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
for cmd in curl jq; do
	command -v "$cmd" >/dev/null || { echo "control_test.sh: $cmd is missing" >&2; exit 1; }
done

scratch=$(mktemp -d)
pid=
cleanup() {
	[[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$scratch"
}
trap cleanup EXIT

go build -o "$scratch/milligold" ./cmd/milligold
"$scratch/milligold" sandbox --control --addr 127.0.0.1:0 >"$scratch/banner" 2>"$scratch/log" &
pid=$!
for _ in $(seq 100); do
	grep -q '^  console ' "$scratch/banner" 2>/dev/null && break
	sleep 0.1
done
BASE=$(awk '/serving/ {print $NF}' "$scratch/banner")
CONTROL="${BASE%/partner}/_sandbox/api"
CONTROL_TOKEN=$(awk '$1 == "control" && $2 == "token" {print $3}' "$scratch/banner")
[[ -n "$BASE" && -n "$CONTROL_TOKEN" ]] || { echo "control_test.sh: no banner" >&2; cat "$scratch/log" >&2; exit 1; }
PARTNER_ID=cljmwgeu10000g5fvztn2mrvn # the embedded default's partner
PARTNER_SECRET=sandbox-secret       # its well-known test secret

passed=0 failed=0
check() { # check NAME GOT WANT
	if [[ "$2" == "$3" ]]; then
		passed=$((passed + 1))
		echo "ok   $1"
	else
		failed=$((failed + 1))
		echo "FAIL $1: got $2, want $3"
	fi
}
control() { # control METHOD PATH [JSON]
	curl -sS -X "$1" "$CONTROL/$2" -H "Authorization: Bearer $CONTROL_TOKEN" ${3:+-H 'Content-Type: application/json' --data "$3"}
}
token() {
	curl -sS "$BASE/auth/token" --data-urlencode "partnerId=$PARTNER_ID" --data-urlencode "partnerSecret=$PARTNER_SECRET" | jq -r .data.accessToken
}
gold_rate() { # gold_rate TOKEN -> status; the body goes to $scratch/body, headers to $scratch/headers
	curl -sS -o "$scratch/body" -D "$scratch/headers" -w '%{http_code}' "$BASE/gold/rate" -H "Authorization: Bearer $1"
}

# Off by default: without --control, the control API is a 404.
check "control API needs its token" "$(curl -sS -o /dev/null -w '%{http_code}' "$CONTROL/clock")" 401

# 1. Token expiry: advance the sandbox's clock past the token's lifetime.
TOKEN=$(token)
check "gold rate with a fresh token" "$(gold_rate "$TOKEN")" 200
lifetime=$(control GET journal?operation=createAccessToken | jq -r '.entries[-1].response.body | fromjson | .data.expiresIn')
check "journal shows the token's lifetime" "$lifetime" 3600
control POST clock/advance "{\"seconds\": $lifetime}" >/dev/null
check "gold rate once the token expired" "$(gold_rate "$TOKEN")" 401
code=$(jq -r .errorCode "$scratch/body")
check "journal finds the 401 by its errorCode" "$(control GET "journal?errorCode=$code" | jq -r '.entries[0] | "\(.status) \(.operation) \(.error)"')" "401 getGoldRate invalid or expired access token"

# 2. A forced 429, with the three rate-limit headers.
TOKEN=$(token)
control POST faults '{"operation": "getGoldRate", "status": 429}' >/dev/null
check "forced 429" "$(gold_rate "$TOKEN")" 429
check "429 carries X-Rate-Limit-Reset" "$(grep -ci '^X-Rate-Limit-Reset: [0-9]' "$scratch/headers")" 1
code=$(jq -r .errorCode "$scratch/body")
check "journal shows the forced 429" "$(control GET "journal?errorCode=$code" | jq -r '.entries[0] | "\(.status) \(.control)"')" "429 fault 1: status 429"
check "the next call is served again" "$(gold_rate "$TOKEN")" 200

# 3. A forced 500 for the next two calls, then the journal filtered by status.
control POST faults '{"operation": "getGoldRate", "status": 500, "count": 2}' >/dev/null
check "forced 500, first" "$(gold_rate "$TOKEN")" 500
check "forced 500, second" "$(gold_rate "$TOKEN")" 500
check "then 200" "$(gold_rate "$TOKEN")" 200
check "journal has both 500s" "$(control GET 'journal?status=500&operation=getGoldRate' | jq '.entries | length')" 2

# Prefer, as Prism reads it.
check "Prefer: code=429" "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/gold/rate" -H "Authorization: Bearer $TOKEN" -H 'Prefer: code=429')" 429

# The journal never shows a secret or a token.
journal=$(control GET 'journal?limit=1000')
leaks=0
grep -qF "$PARTNER_SECRET" <<<"$journal" && leaks=$((leaks + 1))
grep -qF "$TOKEN" <<<"$journal" && leaks=$((leaks + 1))
check "journal redacts the secret and tokens" "$leaks" 0

# Reset: windows close and every token issued so far is revoked.
check "reset revokes the live token" "$(control POST reset | jq .tokensRevoked)" 1
check "the old token after a reset" "$(gold_rate "$TOKEN")" 401

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
