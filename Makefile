# Ramp's developer targets. `make help` lists them.

SHELL := /usr/bin/env bash
GO ?= go
# Dev tools (staticcheck, controller-gen) are pinned in hack/tools/go.mod.
TOOL := $(GO) tool -modfile=hack/tools/go.mod
LOCALCLUSTER := $(GO) run ./test/localcluster/cmd
TEST_TIMEOUT ?= 30m
# One version for the CLI, the image, the chart and config/default (a test
# checks that they agree).
VERSION := $(shell cat VERSION)
LDFLAGS := -X github.com/rampcd/ramp/internal/cli.Version=$(VERSION)
# The dashboard's browser test drives Debian's chromium with playwright-core,
# pinned in test/browser/package-lock.json.
BROWSER_DEPS := test/browser/node_modules/.package-lock.json

.DEFAULT_GOAL := help

# `make demo DEMO_FLAGS=--keep` leaves the demo cluster running.

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Generate deepcopy code, CRDs and RBAC from the Go types and markers.
	$(TOOL) controller-gen object paths=./api/...
	$(TOOL) controller-gen crd:generateEmbeddedObjectMeta=true paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(TOOL) controller-gen rbac:roleName=ramp-controller paths=./internal/controller/... paths=./internal/traffic/... paths=./internal/admission/... output:rbac:artifacts:config=config/rbac
	@# The Helm chart carries the same CRDs and ClusterRole (TestChart checks).
	rm -f charts/ramp/crds/*.yaml && cp config/crd/bases/*.yaml charts/ramp/crds/
	cp config/rbac/role.yaml charts/ramp/templates/clusterrole.yaml

.PHONY: build
build: ## Build everything in the main module, and bin/ramp with its version.
	$(GO) build ./...
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ramp ./cmd/ramp

.PHONY: image
image: ## Build the controller's OCI image (linux/amd64, linux/arm64) into dist/image, without Docker; prints its digest.
	$(GO) run ./hack/release image -o dist/image

.PHONY: release
release: ## Build every release artifact into dist/: CLI archives, SBOMs, image, CRDs, install.yaml, chart, krew manifest, checksums.
	$(GO) run ./hack/release release -o dist

.PHONY: cluster-binaries
cluster-binaries: ## Build the local cluster's binaries (cached by version; about 13 min cold).
	$(LOCALCLUSTER) build

.PHONY: test
test: browser-packages $(BROWSER_DEPS) ## Run all tests against one local cluster (built on first use), then the fuzzers briefly.
	$(LOCALCLUSTER) exec -- $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@$(MAKE) --no-print-directory fuzz

$(BROWSER_DEPS): test/browser/package-lock.json | browser-packages
	npm ci --prefix test/browser --no-audit --no-fund

# Debian's chromium, node and npm: installed when missing and allowed,
# else named.
.PHONY: browser-packages
browser-packages:
	@hack/ensure-browser

.PHONY: screenshots
screenshots: browser-packages $(BROWSER_DEPS) ## Retake the dashboard's screenshots in docs/images (its browser test, about a minute).
	RAMP_SCREENSHOTS=docs/images $(LOCALCLUSTER) exec -- $(GO) test -count=1 -run '^TestDashboard$$' ./test/e2e

# The large runs (shards, holding 10,000 Rollouts, the 30-minute soak) are
# bench-large, so that each target fits in an hour. One section alone:
#   $(LOCALCLUSTER) exec -- go test -run '^$$' -bench 'BenchmarkShards$$' -benchtime 1x ./test/bench
LARGE_BENCH := BenchmarkShards|BenchmarkHold|BenchmarkSoak

.PHONY: bench
bench: ## Measure shifts, rollbacks, 1,000 Rollouts, analysis load and failed requests on a lagging data plane: bench/REPORT.md (about 50 minutes).
	$(LOCALCLUSTER) exec -- $(GO) test -count=1 -timeout 120m -run '^$$' -bench . -skip '^($(LARGE_BENCH))$$' -benchtime 1x ./test/bench

.PHONY: bench-large
bench-large: ## Measure 3,000 Rollouts on three shards, 10,000 held at rest, and a 30-minute soak: bench/REPORT.md (about 70 minutes).
	$(LOCALCLUSTER) exec -- $(GO) test -count=1 -timeout 150m -run '^$$' -bench '^($(LARGE_BENCH))$$' -benchtime 1x ./test/bench

# Each fuzz target, as package:function. Their starting inputs (f.Add, and
# testdata/fuzz for inputs that once failed) also run in every go test.
# New inputs are minimized for 2s at most (the default minute would eat a
# short run). Each run starts from those starting inputs: the corpus Go caches
# grows with every run, and gathering its coverage counts against
# -fuzztime (at about 400 inputs it took 13 of 15 s, and the run failed at
# its deadline).
FUZZ_TARGETS := ./internal/traffic:FuzzParseWeight ./internal/traffic:FuzzSplit \
	./internal/analysis:FuzzConditions ./internal/analysis:FuzzThreshold ./internal/analysis:FuzzRender \
	./internal/hooks:FuzzJSONBody ./internal/deployfile:FuzzDeployFile ./internal/convert:FuzzCondition
FUZZTIME ?= 15s

.PHONY: fuzz
fuzz: ## Fuzz the parsers, weight math, CEL conditions, templating and the translation of Argo's conditions, FUZZTIME each (default 15s).
	@$(GO) clean -fuzzcache
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg || exit 1; \
	done

.PHONY: lint
lint: ## gofmt, go vet and staticcheck.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOL) staticcheck ./...

.PHONY: verify
verify: generate lint ## Fail if generated files are stale or the tree is dirty.
	@git diff --exit-code || (echo "generated files are out of date: run make generate and commit" && exit 1)

.PHONY: cluster-up
cluster-up: ## Start a local cluster in the background and print its kubeconfig.
	$(LOCALCLUSTER) up

.PHONY: cluster-down
cluster-down: ## Stop the cluster started by cluster-up.
	$(LOCALCLUSTER) down

.PHONY: demo
demo: ## The main job: a local cluster, Ramp's controller, two canaries (one promoted, one rolled back).
	$(GO) run ./test/demo $(DEMO_FLAGS)
