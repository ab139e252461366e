# flowlens developer targets. `make demo` and `make test` are the two set-up
# commands README.md names.

# A go command at least as new as go.mod's, fetched from the Go module
# proxy when the machine has none (scripts/ensure-go.sh).
ifeq ($(origin GO),undefined)
GO := $(shell ./scripts/ensure-go.sh)
endif
# The Arrow bulk-load path of the DuckDB store is behind a build tag.
export GOFLAGS := $(GOFLAGS) -tags=duckdb_arrow
BIN      := bin/flowlens
PKGS     := ./...
# Packages that run goroutines get the race detector.
RACE_PKGS := ./source/... ./cli/...
# Fuzz budgets: by default a count of executions per target (about ten
# seconds each on a 2-core machine). A duration can fail a target at its
# deadline with a bare "context deadline exceeded" and no crasher, a race
# in Go 1.26's fuzz coordinator (go.dev/issue/75804, fixed in Go 1.27).
# FUZZTIME=60s runs every target for that long instead.
FUZZTIME ?=
fuzzbudget = -fuzztime $(or $(FUZZTIME),$(1)) -fuzzminimizetime 100x

.PHONY: build demo test vet fuzz bench clean

build:
	$(GO) build -o $(BIN) ./cmd/flowlens

demo: build
	./scripts/demo.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Vet and the short fuzz budget run first, so the output ends with the
# test runner's summary.
test: vet fuzz
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(GO) test -count=1 $(PKGS)

# A short fuzz budget on every parser of untrusted input.
fuzz:
	$(GO) test ./flowlog -run '^$$' -fuzz '^FuzzParseLine$$' $(call fuzzbudget,100000x)
	$(GO) test ./flowlog -run '^$$' -fuzz '^FuzzParseFormat$$' $(call fuzzbudget,300000x)
	$(GO) test ./flowlog -run '^$$' -fuzz '^FuzzFastAgreesWithTwoPass$$' $(call fuzzbudget,250000x)
	$(GO) test ./query/filter -run '^$$' -fuzz '^FuzzCompile$$' $(call fuzzbudget,40000x)
	$(GO) test ./intel -run '^$$' -fuzz '^FuzzParse$$' $(call fuzzbudget,80000x)
	$(GO) test ./enrich/lists -run '^$$' -fuzz '^FuzzParse$$' $(call fuzzbudget,100000x)
	$(GO) test ./flowlog/awsparquet -run '^$$' -fuzz '^FuzzRead$$' $(call fuzzbudget,5000x)
	$(GO) test ./detect -run '^$$' -fuzz '^FuzzParse$$' $(call fuzzbudget,6000x) -parallel 1

bench: build
	./bench/run.sh

clean:
	rm -rf bin bench/out
