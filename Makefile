# dmarcgate. A fresh machine with Go needs nothing else for build, run and test.
GO        ?= go
BIN       := bin/dmarcgate
CONFIG    ?= config.example.toml
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 30s
# Load parameters for `make bench`.
BENCH_N   ?= 20000
BENCH_C   ?= 50
BENCH_SIZE ?= 4096
# Messages of the STARTTLS run (a handshake per message: slower).
BENCH_TLS_N ?= 5000
# Messages of the 1 MB run (what large attachments cost).
BENCH_LARGE_N ?= 1500
# The year of inbound reports `make bench` imports and queries.
BENCH_REPORTS ?= 20000
BENCH_REPORT_ROWS ?= 100
# Rounds of the runs whose medians are the tracked figures (the ratio to
# the direct rate at C=50, what authentication costs at C=20).
BENCH_ROUNDS ?= 5

.PHONY: all build run demo test vet fmt-check lint fuzz fuzz-short bench bench-cluster clean

all: build

# `dmarcgate version` and dmarcgate_build_info say which commit runs.
VERSION   ?= $(shell git describe --always --dirty --tags 2>/dev/null || echo devel)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/dmarcgate

run: build
	./$(BIN) serve --config $(CONFIG)

# The gateway, DNS and a mail store on 127.0.0.1, six messages, their fate.
demo: build
	./$(BIN) demo

# What CI runs: formatting, vet, staticcheck, every test with the race
# detector (shuffled). The fuzz targets' seed corpora run as part of it;
# `make fuzz-short` and `make fuzz` do the fuzzing itself.
test: fmt-check lint
	$(GO) test -race -shuffle=on -timeout 20m ./...

# A few seconds each for the parsers that face the internet first.
FUZZ_SHORT := ./policy:FuzzParseRecord ./policy:FuzzRecordProblems ./auth:FuzzParseFrom ./auth:FuzzSPFSyntax ./auth:FuzzParseAuthResults ./config:FuzzParse ./smtpd:FuzzReceivedHeader ./smtpd:FuzzUnstuffer ./smtpd:FuzzMessageID ./dmarcreport:FuzzReadReport ./dmarcreport:FuzzParseFailureReport ./inbound:FuzzFromReport ./auth/arc:FuzzARCHeader ./auth/arc:FuzzParseTags ./auth/arc:FuzzSealHeader
fuzz-short:
	@for t in $(FUZZ_SHORT); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime 5s $$pkg || exit 1; \
	done

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: vet
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target for FUZZTIME (go test -fuzz runs one target at a time).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Load test: sink alone, then the gateway in front of it (see README).
bench: build
	$(GO) build -o bin/dmarcload ./cmd/dmarcload
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c $(BENCH_C) -size $(BENCH_SIZE) -rounds $(BENCH_ROUNDS)
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c $(BENCH_C) -size $(BENCH_SIZE) -rounds $(BENCH_ROUNDS) -sink-in-process
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c $(BENCH_C) -size $(BENCH_SIZE) -rounds $(BENCH_ROUNDS) -console-cost
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c $(BENCH_C) -size $(BENCH_SIZE) -pipelining
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c $(BENCH_C) -size $(BENCH_SIZE) -pipelining -per-conn 1
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_TLS_N) -c $(BENCH_C) -size $(BENCH_SIZE) -pipelining -per-conn 1 -tls
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_LARGE_N) -c $(BENCH_C) -size 1000000
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c 20 -size $(BENCH_SIZE) -auth-cost -rounds $(BENCH_ROUNDS)
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c 20 -size $(BENCH_SIZE) -arc-cost -rounds $(BENCH_ROUNDS)
	./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c 20 -size $(BENCH_SIZE) -auth -spoofed 50
	$(GO) test -run '^$$' -bench . -benchtime 2s ./resolver ./auth ./policy ./queue ./store ./cmd/dmarcgate
	$(GO) run ./cmd/reportbench -gateway ./$(BIN) -reports $(BENCH_REPORTS) -rows $(BENCH_REPORT_ROWS)
	@$(MAKE) --no-print-directory bench-cluster

# What cluster.postgres costs at C=50, on a throwaway PostgreSQL server
# (Debian's postgresql package; skipped with a line when it is missing).
bench-cluster: build
	$(GO) build -o bin/dmarcload ./cmd/dmarcload
	@env=$$(.ci/postgres-start 2>/dev/null) || { echo "bench: no PostgreSQL (apt-get install postgresql): cluster run skipped"; exit 0; }; \
	export $$env; ./bin/dmarcload -gateway ./$(BIN) -n $(BENCH_N) -c $(BENCH_C) -size $(BENCH_SIZE) -rounds $(BENCH_ROUNDS) \
	  -cluster-cost "$$DMARCGATE_TEST_POSTGRES"; rc=$$?; .ci/postgres-start stop "$$DMARCGATE_TEST_POSTGRES_DIR"; exit $$rc

clean:
	rm -rf bin var
