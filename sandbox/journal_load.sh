#!/usr/bin/env bash
# What the control API and its journal cost under load: wrk against two
# sandboxes side by side, one plain and one with --control and a live
# journal stream open (as the console keeps one), in alternating rounds;
# each keeps its best round. GET /partner/gold/rate with a valid token, the
# rate limit raised out of the way, request logs to /dev/null as in make bench.
#
#   bash sandbox/journal_load.sh      knobs: ROUNDS (3), DURATION (5s), CONNS (64),
#                                     STREAM=0 (no journal stream open)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
command -v wrk >/dev/null || { echo "journal_load.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5s} CONNS=${CONNS:-64}

scratch=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$scratch"
}
trap cleanup EXIT
go build -o "$scratch/milligold" ./cmd/milligold
{ cat sandbox/default.yaml; printf 'rateLimit:\n  requests: 1000000\n  windowSeconds: 1\n'; } >"$scratch/world.yaml"

start() { # start NAME FLAGS... -> BASE_<NAME>, TOKEN_<NAME>
	local name=$1
	shift
	"$scratch/milligold" sandbox --config "$scratch/world.yaml" --addr 127.0.0.1:0 "$@" >"$scratch/$name.banner" 2>/dev/null &
	pids+=($!)
	for _ in $(seq 100); do grep -q serving "$scratch/$name.banner" 2>/dev/null && break; sleep 0.1; done
	sleep 0.2
	local base
	base=$(awk '/serving/ {print $NF}' "$scratch/$name.banner")
	printf -v "BASE_$name" %s "$base"
	printf -v "TOKEN_$name" %s "$(curl -sS "$base/auth/token" --data-urlencode partnerId=cljmwgeu10000g5fvztn2mrvn --data-urlencode partnerSecret=sandbox-secret | jq -r .data.accessToken)"
}
start plain
start control --control
ctl_token=$(awk '$1 == "control" && $2 == "token" {print $3}' "$scratch/control.banner")
if [[ "${STREAM:-1}" != 0 ]]; then
	curl -sSN "${BASE_control%/partner}/_sandbox/api/journal/stream" -H "Authorization: Bearer $ctl_token" >/dev/null &
	pids+=($!)
fi

cat >"$scratch/auth.lua" <<'EOF'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
EOF
best_plain=0 best_control=0 lat_plain="" lat_control=""
run() { # run NAME
	local base token out rps
	base="BASE_$1" token="TOKEN_$1"
	out=$(WRK_TOKEN=${!token} wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$scratch/auth.lua" "${!base}/gold/rate")
	rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
	local lat
	lat=$(awk '$1 == "50%" {p50=$2} $1 == "99%" {p99=$2} END {print p50 " / " p99}' <<<"$out")
	if grep -q 'Non-2xx' <<<"$out"; then echo "journal_load.sh: $1 answered non-2xx under load" >&2; exit 1; fi
	echo "  round: $1 $rps req/s, p50/p99 $lat" >&2
	local b="best_$1"
	if ((rps > ${!b})); then printf -v "best_$1" %s "$rps"; printf -v "lat_$1" %s "$lat"; fi
}
WRK_TOKEN=$TOKEN_plain wrk -t2 -c"$CONNS" -d2s -s "$scratch/auth.lua" "$BASE_plain/gold/rate" >/dev/null
WRK_TOKEN=$TOKEN_control wrk -t2 -c"$CONNS" -d2s -s "$scratch/auth.lua" "$BASE_control/gold/rate" >/dev/null
for _ in $(seq "$ROUNDS"); do run plain; run control; done
journaled=$(curl -sS "${BASE_control%/partner}/_sandbox/api/journal?limit=1" -H "Authorization: Bearer $ctl_token" | jq .last)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "plain sandbox:                 $best_plain req/s, p50/p99 $lat_plain"
echo "--control, journal, stream ${STREAM:-1}: $best_control req/s, p50/p99 $lat_control ($journaled requests journaled)"
awk -v a="$best_control" -v b="$best_plain" 'BEGIN {printf "ratio: %.1f%% of the plain sandbox'"'"'s throughput\n", 100 * a / b}'
