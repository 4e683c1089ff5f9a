#!/usr/bin/env bash
# Runs every fuzz target in the module for a bounded time and fails if any
# finds a crash. The seed corpora (f.Add and testdata/fuzz) already run in
# `go test`; this explores beyond them.
#
#   FUZZTIME     per target, as go test -fuzztime takes it (default 10s)
#   FUZZ_BUDGET  seconds for all targets together; each target gets
#                min(FUZZTIME, FUZZ_BUDGET/targets), at least 2s (default 300)
#   FUZZ_KEEP=1  copy what the fuzzer found interesting in this run (at most
#                FUZZ_KEEP_MAX per target, default 20) from the build cache into
#                each package's testdata/fuzz/<Target>/, to review and commit
#
# A crash leaves its input in <package>/testdata/fuzz/<Target>/; the script
# prints it, so a CI log carries the reproducer.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-10s}
FUZZ_BUDGET=${FUZZ_BUDGET:-300}

# go test -list prints a package's matching names before its "ok" line.
list=$(go test -list '^Fuzz' ./...) || {
	echo "$list" >&2
	echo "fuzz: go test -list failed" >&2
	exit 1
}
targets=()
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	*) names=() ;;
	esac
done <<<"$list"

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

per=${FUZZTIME%s}
if [[ "$per" =~ ^[0-9]+$ ]]; then
	share=$((FUZZ_BUDGET / ${#targets[@]}))
	((share < per)) && per=$share
	((per < 2)) && per=2
	FUZZTIME=${per}s
fi
echo "fuzz: ${#targets[@]} targets, $FUZZTIME each"

cache=$(go env GOCACHE)/fuzz
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	dir=$(go list -f '{{.Dir}}' "$pkg")
	before=$(ls "$dir/testdata/fuzz/$name" 2>/dev/null | sort || true)
	echo "== $pkg $name"
	for try in 1 2; do
		out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1) && ok=1 || ok=0
		tail -n 25 <<<"$out"
		after=$(ls "$dir/testdata/fuzz/$name" 2>/dev/null | sort || true)
		# Go 1.26's fuzz coordinator can report its own -fuzztime deadline
		# as a failure ("context deadline exceeded", no input written) when
		# a worker is slow to stop: golang/go#75804, fixed in Go 1.27. Run
		# such a target once more; a crash writes its input and fails at
		# once, and the same failure twice fails too.
		if ((ok == 0 && try == 1)) && [[ "$before" == "$after" ]] &&
			grep -q '^    context deadline exceeded$' <<<"$out" &&
			! grep -q -e '^panic:' -e 'Failing input written' <<<"$out"; then
			echo "-- $name: the coordinator's deadline race (golang/go#75804), no input written: once more"
			continue
		fi
		break
	done
	((ok == 1)) || failed+=("$pkg $name")
	for f in $(comm -13 <(echo "$before") <(echo "$after")); do
		echo "-- new input $dir/testdata/fuzz/$name/$f:"
		head -c 2000 "$dir/testdata/fuzz/$name/$f"
		echo
	done
	if [[ "${FUZZ_KEEP:-}" == 1 && -d "$cache/$pkg/$name" ]]; then
		# Only entries from this run: older ones may predate a signature change.
		mkdir -p "$dir/testdata/fuzz/$name"
		find "$cache/$pkg/$name" -type f -newer "$stamp" | head -n "${FUZZ_KEEP_MAX:-20}" |
			xargs -r cp -n -t "$dir/testdata/fuzz/$name/"
	fi
done

if ((${#failed[@]} > 0)); then
	echo "fuzz: FAILED:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets passed"
