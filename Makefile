# eventproc — daily commands. `make help` lists them.
SHELL := /bin/bash
GO ?= go
BIN := bin/eventproc
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X eventproc/cli.version=$(VERSION)
FUZZTIME ?= 30s
RULES ?= events.d

.PHONY: help build test lint reliability check bench fuzz up down run send-events demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build the static binary into bin/eventproc
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

# The emulators' npm pins and their node_modules live in adapters/awstest.
NODE_MODULES := adapters/awstest/node_modules

$(NODE_MODULES): adapters/awstest/package.json adapters/awstest/package-lock.json
	npm ci --prefix adapters/awstest --no-audit --no-fund
	@touch $(NODE_MODULES)

test: $(NODE_MODULES) ## run every test: unit, golden, shipped suites, binary, emulators end to end, short fuzz
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -run 'CostsNothing' ./engine # allocation counts: meaningless under -race
	$(MAKE) fuzz FUZZTIME=10s

lint: ## gofmt, go vet, staticcheck, deadcode, the import rules, a cyclomatic ceiling (scripts/lint.sh)
	scripts/lint.sh

reliability: $(NODE_MODULES) ## fault injection end to end (crashes, outages, throttling, SQS errors, conflicting producers, redrive, replicas, poison messages), each ending with the ledger
	@mkdir -p .run
	EVENTPROC_RELIABILITY=1 $(GO) test -count=1 -v -timeout 20m -run '^TestReliability' ./e2e 2>&1 | tee .run/reliability.log | grep -v '^ *{"time"'; exit $${PIPESTATUS[0]}

check: ## lint the shipped events.d (load, compile, run its test suites)
	$(GO) run . check --rules $(RULES)

bench: $(NODE_MODULES) build ## run the benchmarks: Go benchmarks (engine, adapters, the drain), then validate over 1M lines
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	python3 scripts/bench-validate.py $(BIN) 100000 1000000

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

up: $(NODE_MODULES) ## start the local SQS and DynamoDB emulators (ports 4566, 4567)
	scripts/emulators.sh up

down: ## stop the emulators that `make up` started
	scripts/emulators.sh down

run: build $(NODE_MODULES) ## start the emulators if needed, provision, run the worker
	scripts/run.sh

send-events: build ## send generated events to the local queue (TYPE=, COUNT=, INVALID=)
	scripts/send-events.sh

demo: build $(NODE_MODULES) ## the whole thing on a fresh clone: emulators, worker, a mix of events, a summary
	scripts/demo.sh

clean: ## remove build outputs
	rm -rf bin .run
