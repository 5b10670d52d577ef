# Rampart developer tasks. `make help` lists them.
GO ?= go

.PHONY: help build test test-integration fuzz bench lint update-golden sample

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build bin/rampart
	$(GO) build -o bin/rampart ./cmd/rampart

test: ## run all tests (the README's command; DB tests skip when no database runs)
	$(GO) test ./...

test-integration: ## run all tests as CI does: MariaDB/PostgreSQL tests must run, not skip
	CI=true $(GO) test ./...

fuzz: ## fuzz each parser for 30 s
	$(GO) test ./internal/ossec/alertslog -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./internal/ossec/alertsjson -run '^$$' -fuzz FuzzParse -fuzztime 30s

bench: ## every performance figure beside its reference (see bench/README.md; needs root, MariaDB)
	bench/run.sh
	bench/nft.sh
	bench/ipset.sh
	bench/hostsdeny.sh

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

update-golden: ## rewrite every golden file after a deliberate change (then review git diff)
	$(GO) test $$($(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | awk '$$1 !~ /goldentest$$/ && $$0 ~ /internal\/goldentest/ {print $$1}') -update

sample: ## regenerate examples/ from the generator
	$(GO) run ./cmd/rampart sample --out examples
