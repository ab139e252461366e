# flowlens developer targets. `make demo` and `make test` are the two set-up
# commands README.md names.

GO       ?= go
# The Arrow bulk-load path of the DuckDB store is behind a build tag.
export GOFLAGS := $(GOFLAGS) -tags=duckdb_arrow
BIN      := bin/flowlens
PKGS     := ./...
# Packages that run goroutines get the race detector.
RACE_PKGS := ./source/... ./cli/...
FUZZTIME ?= 10s

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
	$(GO) test ./flowlog -run '^$$' -fuzz '^FuzzParseLine$$' -fuzztime $(FUZZTIME)
	$(GO) test ./flowlog -run '^$$' -fuzz '^FuzzParseFormat$$' -fuzztime $(FUZZTIME)
	$(GO) test ./flowlog -run '^$$' -fuzz '^FuzzFastAgreesWithTwoPass$$' -fuzztime $(FUZZTIME)
	$(GO) test ./query/filter -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME)
	$(GO) test ./intel -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./enrich/lists -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./flowlog/awsparquet -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME)
	$(GO) test ./detect -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -parallel 1

bench: build
	./bench/run.sh

clean:
	rm -rf bin bench/out
