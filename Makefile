# milligold-go: the targets a new user, a maintainer and CI run.
SHELL := /bin/bash
GO    ?= go

.PHONY: sandbox test generate check-generate vet fmt-check vulncheck fuzz secrets contract bench ci

## sandbox: run the local milliGOLD sandbox on its embedded default (127.0.0.1:8080)
sandbox:
	$(GO) run ./cmd/milligold sandbox

## test: the whole test suite with the race detector
test:
	$(GO) test -race -count=1 ./...

## generate: regenerate gen/ from openapi.yaml (oapi-codegen, then milligold-gen)
generate:
	$(GO) generate .

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

## vulncheck: govulncheck ./... against a pinned vulnerability database fetched through the module proxy
vulncheck:
	bash .ci/vulncheck.sh

## fuzz: every fuzz target for a bounded time (FUZZTIME per target, FUZZ_BUDGET in total)
fuzz:
	bash .ci/fuzz.sh

## secrets: fail if a secret or token appears anywhere in the test suite's output
secrets:
	bash .ci/secrets.sh

## contract: Spectral lint of openapi.yaml, then the conformance suite through a Prism validating proxy in front of the sandbox
contract:
	bash conformance/ci.sh

## bench: sandbox vs Prism vs bare net/http (wrk), client quota simulation and overhead; prints a Markdown table
bench:
	bash bench/run.sh

## ci: what .ci/run runs
ci: test check-generate vet fmt-check vulncheck secrets fuzz contract
