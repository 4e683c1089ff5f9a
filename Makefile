# milligold-go: the targets a new user, a maintainer and CI run.
SHELL := /bin/bash
GO    ?= go

.PHONY: help sandbox test acceptance soak test-shared generate plan check-generate vet fmt-check vulncheck fuzz secrets contract bench ci console-test redis-server
.DEFAULT_GOAL := help

## help: list these targets (the default)
help:
	@echo "make TARGET, one of:"
	@awk '/^## [a-z-]+: / { sub(/^## /, ""); i = index($$0, ": "); printf "  %-15s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2) }' $(MAKEFILE_LIST)
	@echo "Go: go.mod's toolchain ($$(awk '/^toolchain/ {print $$2}' go.mod)) is downloaded on first use when GOTOOLCHAIN=auto."

## sandbox: run the local milliGOLD sandbox on its embedded default (127.0.0.1:8080); holds the terminal until Ctrl-C
sandbox:
	$(GO) run ./cmd/milligold sandbox

## test: the whole test suite with the race detector, but the soak (needs no running sandbox)
test: redis-server
	$(GO) test -race -count=1 -skip '^TestSoak$$' ./...

# The Redis tests run a real redis-server: install Debian's when it is missing.
redis-server:
	@command -v redis-server >/dev/null || { echo "make: installing redis-server (Debian package) for the Redis tests"; \
		{ apt-get update -qq && apt-get install -y -qq redis-server; } || \
		{ echo "make: could not install redis-server; install it (apt-get install redis-server) and rerun" >&2; exit 1; }; }

## soak: the sandbox under sustained load from hundreds of partners (about a minute; CI runs it)
soak:
	$(GO) test -race -count=1 -run '^TestSoak$$' -v ./sandbox/

## test-shared: the multi-process tests of the shared token, rate limit and cache (real redis-server, ~2 minutes)
test-shared: redis-server
	$(GO) test -race -count=1 -tags quota -v ./internal/quotatest/

## acceptance: a copy of the module gains three operations in openapi.yaml, regenerates, builds, serves, calls and contract-tests them (~45 s)
acceptance:
	$(GO) test -count=1 -tags acceptance -v ./internal/acceptance/

## generate: regenerate gen/ from openapi.yaml (milligold-gen apply: oapi-codegen, then its own)
generate:
	$(GO) generate .

## plan: show what make generate would change in gen/: a summary of operations and policy, then the diff (writes nothing)
# Built, then run: `go run` would add "exit status 2" to a plan with changes.
# Exit 0 whether or not gen/ is in sync (the last line says which), 1 on an error.
plan:
	@set -uo pipefail; bin=$$(mktemp -d); trap 'rm -rf "$$bin"' EXIT; \
	$(GO) build -o "$$bin/milligold-gen" ./cmd/milligold-gen || exit 1; \
	"$$bin/milligold-gen" plan; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 2 ]

## check-generate: regenerate twice into a scratch copy; fail if gen/ differs or generation is not deterministic
check-generate:
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	tar --exclude=./.git --exclude=./node_modules --exclude=./.tools -cf - . | tar -xf - -C "$$tmp"; \
	(cd "$$tmp" && $(GO) generate . && cp -a gen gen.first && $(GO) generate . ) ; \
	diff -ru "$$tmp/gen.first" "$$tmp/gen" || { echo "check-generate: generation is not deterministic" >&2; exit 1; }; \
	diff -ru gen "$$tmp/gen" || { echo "check-generate: gen/ is stale; run 'make generate' and commit" >&2; exit 1; }; \
	echo "check-generate: gen/ matches openapi.yaml"

## vet: go vet
vet:
	$(GO) vet ./...

## fmt-check: fail on unformatted Go files
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## vulncheck: govulncheck ./... against a pinned vulnerability database (needs jq); checks with go.mod's toolchain, warns if yours is older
vulncheck:
	bash .ci/vulncheck.sh

## fuzz: every fuzz target for a bounded time (FUZZTIME per target, FUZZ_BUDGET in total)
fuzz:
	bash .ci/fuzz.sh

## secrets: fail if a secret or token appears anywhere in the test suite's output
secrets:
	bash .ci/secrets.sh

## contract: (needs node and npm) Spectral lint of openapi.yaml, then the conformance suite through a Prism validating proxy in front of the sandbox
contract:
	bash conformance/ci.sh

## console-test: the sandbox's console in chromium (chromedp; fails without chromium) and the curl-only control API test
console-test:
	$(GO) vet -tags browser ./sandbox/
	$(GO) test -tags browser -race -count=1 -run 'TestConsoleInBrowser' ./sandbox/
	bash sandbox/control_test.sh

## bench: (needs node, npm, wrk and redis-server, installed when missing) sandbox vs Prism vs bare net/http (wrk), client quota (simulated, and real-clock behind a jitter proxy) and overhead; prints a Markdown table
bench:
	bash bench/run.sh

## ci: what .ci/run runs
ci: test soak test-shared check-generate vet fmt-check vulncheck secrets fuzz contract console-test
