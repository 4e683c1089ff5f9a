#!/usr/bin/env bash
# Fails if a partner secret or an access token shows up in the test suite's
# output: every t.Log line, every log line a test lets through to stderr, every
# printed error, passing tests included.
#
#   bash .ci/secrets.sh            runs go test -json -short -count=1 ./... and scans it
#   bash .ci/secrets.sh FILE...    scans saved output instead (go test -json or -v)
#   SECRETS_VERBOSE=1              also lists the values searched for
#
# What counts as a secret:
#   - the test fixtures: string literals bound to a name containing "secret"
#     (secret := "...", PartnerSecret: "...", partnerSecret=...) in the module's
#     Go files, and "secret"/"partnerSecret" values in YAML files (the
#     sandbox's configs); literals bound to a name containing "token" in test
#     files that look like one (12+ characters, no spaces, no slashes);
#   - anything JWT-shaped (eyJ....eyJ....), which is what the sandbox issues;
#   - a bearer credential longer than 16 characters.
# A line may name a secret's field, never carry its value.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# 1. The fixtures. Names with "secret" anywhere in Go (the sandbox's default
# secret is a library constant); names with "token" in tests only (library
# code binds them to operation and field names).
{
	# Generated code holds wire names (SecretFormField = "partnerSecret"), never a fixture.
	git ls-files -co --exclude-standard '*.go' ':!:*.gen.go' |
		xargs grep -hoP '(?i)\w*secret\w*"?[ \t]*(:=|=|:)[ \t]*"\K[^"\s]{6,}(?=")' || true
	git ls-files -co --exclude-standard '*_test.go' |
		xargs grep -hoP '(?i)partnerSecret=\K[A-Za-z0-9._~%-]{6,}' || true
	git ls-files -co --exclude-standard '*_test.go' |
		xargs grep -hoP '(?i)\w*token\w*"?[ \t]*(:=|=|:)[ \t]*"\K[^"\s/]{12,}(?=")' || true
	git ls-files -co --exclude-standard '*.yaml' '*.yml' '*testdata/*.json' |
		xargs -r grep -hoP '(?i)^[ \t-]*"?(partner)?secret"?[ \t]*:[ \t]*"?\K[^"\s,}]{6,}' || true
} | grep -vE '^[A-Z0-9_]+$|://|^[-_.]+$|[`+{}]' | sort -u >"$scratch/fixtures"

if [[ "${SECRETS_VERBOSE:-}" == 1 ]]; then
	echo "secrets: searching for:"
	sed 's/^/  /' "$scratch/fixtures"
fi

# 2. The output.
if (($# > 0)); then
	cat "$@" >"$scratch/raw"
else
	echo "secrets: go test -json -short -count=1 ./..."
	go test -json -short -count=1 ./... >"$scratch/raw" || {
		echo "secrets: note: go test failed; scanning its output anyway" >&2
	}
fi
# Keep the output text of -json events; pass plain lines through as they are.
jq -Rr 'fromjson? // {Action:"output", Output: ., Package:"", Test:""}
	| select(.Action == "output")
	| "\(.Package // "") \(.Test // "")\t\(.Output | rtrimstr("\n"))"' \
	"$scratch/raw" >"$scratch/lines"

# 3. The search. Literal fixtures with grep -F, shapes with -P.
: >"$scratch/hits"
if [[ -s "$scratch/fixtures" ]]; then
	grep -nF -f "$scratch/fixtures" "$scratch/lines" >>"$scratch/hits" || true
fi
grep -nP 'eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*' "$scratch/lines" >>"$scratch/hits" || true
grep -nP '(?i)bearer\s+(?!\[)[A-Za-z0-9._~+/=-]{17,}' "$scratch/lines" >>"$scratch/hits" || true

lines=$(wc -l <"$scratch/lines")
fixtures=$(wc -l <"$scratch/fixtures")
if [[ -s "$scratch/hits" ]]; then
	echo "secrets: FAILED: secrets or tokens in the test output (values masked):" >&2
	sort -u -t: -k1,1n "$scratch/hits" |
		sed -E -e 's/eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/[JWT]/g' \
			-e 's/([Bb][Ee][Aa][Rr][Ee][Rr][[:space:]]+)[A-Za-z0-9._~+\/=-]{17,}/\1[TOKEN]/g' |
		awk -v f="$scratch/fixtures" 'BEGIN { while ((getline s < f) > 0) fx[s] = 1 }
			{ for (s in fx) { while ((i = index($0, s)) > 0) $0 = substr($0, 1, i-1) "[SECRET]" substr($0, i+length(s)) } print "  " $0 }' >&2
	exit 1
fi
echo "secrets: clean: $lines output lines, $fixtures fixture values, JWT and bearer shapes"
