#!/usr/bin/env bash
# bench/importers.sh [REV]: what a partner's module gets from importing the client.
#
# Makes a fresh module in a temp dir whose go.mod has
#   replace github.com/milligold/milligold-go => <checkout>
# and a ~40-line main that calls milligold.New and GoldRate; runs go mod tidy;
# lists the require lines tidy added; builds the program with and without
# -ldflags='-s -w'; reports the binary's size and whether kin-openapi, the
# oapi-codegen generator or golang.org/x/tools is linked (go version -m, go tool nm).
#
# <checkout> is this working tree, or with REV (a commit, e.g. main) that
# commit's tree exported with git archive, so before/after use one script:
#   bench/importers.sh main      # before
#   bench/importers.sh           # after (the working tree)
#
# Offline by default: GOPROXY=off and GOFLAGS=-mod=mod, with the checkout's go.sum
# copied in, so tidy resolves everything from the module cache (run `go mod
# download` in the checkout once). IMPORTERS_GOPROXY overrides the proxy.
# Exits 1 if a step breaks; it only reports, it does not judge the figures
# (TestClientImportGraph in importers_test.go does).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checkout=$PWD
label="working tree ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ', modified'))"
if [ $# -ge 1 ]; then
	checkout=$tmp/checkout
	mkdir -p "$checkout"
	git archive "$1" | tar -xf - -C "$checkout"
	label="$1 ($(git rev-parse --short "$1"))"
fi

mod=$tmp/importer
mkdir -p "$mod"
cat >"$mod/go.mod" <<EOF
module example.com/importer

go $(awk '/^go / {print $2}' "$checkout/go.mod")

require github.com/milligold/milligold-go v0.0.0

replace github.com/milligold/milligold-go => $checkout
EOF
cp "$checkout/go.sum" "$mod/go.sum"
cat >"$mod/main.go" <<'EOF'
// A partner's smallest program: one client, one call.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	milligold "github.com/milligold/milligold-go"
)

func main() {
	base := flag.String("base-url", "http://127.0.0.1:8080", "API base URL")
	flag.Parse()

	client, err := milligold.New(
		milligold.WithBaseURL(*base),
		milligold.WithCredentials(os.Getenv("MILLIGOLD_PARTNER_ID"), os.Getenv("MILLIGOLD_PARTNER_SECRET")),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rate, err := client.GoldRate(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(os.Stderr, "gold rate: timed out")
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gold rate:", err)
		os.Exit(1)
	}
	fmt.Printf("%+v\n", rate)
}
EOF

export GOFLAGS=-mod=mod GOPROXY=${IMPORTERS_GOPROXY:-off} GOWORK=off
cd "$mod"
go mod tidy || { echo "bench/importers.sh: go mod tidy failed; offline it needs the modules in the cache (go mod download in the checkout, or IMPORTERS_GOPROXY=https://proxy.golang.org once)" >&2; exit 1; }

# Every module path in a require line, with // indirect kept.
requires() { awk '/^require \(/ {b=1; next} b && /^\)/ {b=0; next} b {print} /^require [^(]/ {sub(/^require /, ""); print}' go.mod | sed 's/^[[:space:]]*//'; }
added=$(requires | grep -v '^github.com/milligold/milligold-go ' || true)
n_added=$(printf '%s' "$added" | grep -c . || true)
n_indirect=$(printf '%s' "$added" | grep -c '// indirect' || true)

go build -trimpath -o full .
go build -trimpath -ldflags='-s -w' -o stripped .
size() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.2f MiB", b / 1048576}'; }

linked=$(go version -m full | awk '$1 == "dep" {print $2 " " $3}')
n_linked=$(printf '%s\n' "$linked" | grep -c . || true)
nm_count() { go tool nm full | grep -c "$1" || true; }

echo "# importers: $label, $(go version | awk '{print $3}')"
echo
echo "go mod tidy added $n_added require lines ($n_indirect // indirect), besides milligold-go:"
printf '%s\n' "$added" | sed 's/^/    /'
echo
echo "go.sum lines after tidy: $(wc -l <go.sum)"
echo "packages in the program (go list -deps, not std): $(go list -deps . | grep -c '\.' || true)"
echo
echo "binary: $(size full) bytes ($(mib "$(size full)")); with -ldflags='-s -w': $(size stripped) bytes ($(mib "$(size stripped)"))"
echo
echo "modules linked (go version -m): $n_linked"
printf '%s\n' "$linked" | sed 's/^/    /'
echo
for m in github.com/getkin/kin-openapi github.com/oapi-codegen/oapi-codegen/v2 golang.org/x/tools golang.org/x/mod; do
	if printf '%s\n' "$linked" | grep -q "^$m "; then l=linked; else l="not linked"; fi
	echo "$m: $l, $(nm_count "$m") symbols in go tool nm"
done
