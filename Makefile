# tunnelscope: `make run` and `make test` are the whole quick start.
SHELL := /bin/bash
GO ?= go
BIN := bin/tunnelscope
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# The DPDK binding is built wherever libdpdk is installed (scripts/deps.sh
# installs it); without it the binary still does everything but `run`.
# Deferred (=, not :=): on a fresh machine libdpdk appears only once the deps
# recipe has run, after make has read this file, and a value fixed at read
# time would build and test that first run without the binding.
HAVE_DPDK = $(shell pkg-config --exists libdpdk 2>/dev/null && echo yes)
TAGS = $(if $(HAVE_DPDK),dpdk,)
# The C half of the binding (dataplane/dpdk/shim), which the dpdk build embeds
# and loads only when `run` starts the EAL: see shim/api.h.
SHIM := dataplane/dpdk/shim/libtsdpdk.so
SHIM_SRC := dataplane/dpdk/shim/shim.c dataplane/dpdk/shim/api.h
SAMPLE := sample/tor.pcap
SHARED ?= ../shared

.PHONY: all deps shim build run test test-go test-dpdk test-race lint bench fuzz model pgo clean

all: build

deps:
	@bash scripts/deps.sh

# Every target that builds with $(TAGS) needs the shim first: go:embed
# refuses a missing file.
shim: deps
	@if [ '$(HAVE_DPDK)' = yes ]; then $(MAKE) --no-print-directory -q $(SHIM) || $(MAKE) --no-print-directory $(SHIM); fi

$(SHIM): $(SHIM_SRC)
	$(CC) -O2 -g -Wall -Wextra -fPIC -shared -fvisibility=hidden -Wno-deprecated-declarations \
	  -Wl,-z,defs -Wl,-z,now $$(pkg-config --cflags libdpdk) -o $@ $< $$(pkg-config --libs libdpdk)

# The live program: the command built with the DPDK binding, and so with
# cgo. bin/tunnelscope is built without cgo, embeds it, and runs it for
# `run` (cmd/tunnelscope/run_livebin.go): a cgo process starts about 1 ms
# later, which every offline command would otherwise pay (2.3% of the
# offline benchmark; docs/performance-log.md, "Session 25"). Run it
# directly to profile a live run with perf, which cannot read the memory
# file bin/tunnelscope runs it from.
LIVE := cmd/tunnelscope/livebin/tunnelscope-live
DPDK_VERSION = $(shell pkg-config --modversion libdpdk 2>/dev/null)

# nethttpomithttp2 leaves HTTP/2 out of net/http: the metrics endpoint is
# plain HTTP/1.1, and every command would otherwise pay the bundled HTTP/2
# code's faults and initialisers before main (0.18 ms, 30 page faults a
# process; docs/performance-log.md, "Session 20").
build: shim
	$(if $(HAVE_DPDK),@mkdir -p $(dir $(LIVE)))
	$(if $(HAVE_DPDK),$(GO) build -tags 'dpdk nethttpomithttp2' -ldflags '$(LDFLAGS)' -o $(LIVE) ./cmd/tunnelscope)
	CGO_ENABLED=0 $(GO) build -tags '$(if $(HAVE_DPDK),livebin )nethttpomithttp2' \
	  -ldflags '$(LDFLAGS)$(if $(HAVE_DPDK), -X main.liveDPDK=$(DPDK_VERSION))' -o $(BIN) ./cmd/tunnelscope

# The main job on the bundled capture: the live appliance on DPDK's net_pcap
# device replays it and prints every flow with its verdict, then a summary.
# (Without DPDK, the same pipeline runs offline: classify.)
run: build
	@if [ '$(HAVE_DPDK)' = yes ]; then \
	  set -x; $(BIN) run -c configs/sample-live.toml --exit-idle 1s -o - --summary bin/run-summary.json && cat bin/run-summary.json; \
	else \
	  set -x; $(BIN) classify -o - $(SAMPLE); \
	fi

test: build test-go test-race lint

# Packages with tests behind the dpdk tag (or cgo) run here; every other
# package runs once, under the race detector, in test-race.
DPDK_PKGS := ./cmd/tunnelscope ./dataplane/dpdk ./dataplane/live

# Without libdpdk the dpdk-tagged tests would not even compile in, and the
# run would pass having tested no live path: deps.sh installs it, so its
# absence here is an error, not a reason to test less. Its own prerequisite
# (shim, which runs deps first) keeps that so under make -j, where test's
# prerequisites run side by side.
#
# TUNNELSCOPE_BIN hands the tests the binary just built, whose pure-Go build
# and embedded live program they check together (cmd/tunnelscope,
# livebin_dpdk_test.go).
test-go: build
	@[ '$(HAVE_DPDK)' = yes ] || { echo "make test: libdpdk not found by pkg-config after scripts/deps.sh; the live tests need it" >&2; exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...
	CGO_ENABLED=0 $(GO) vet -tags livebin ./cmd/tunnelscope
	TUNNELSCOPE_BIN=$(abspath $(BIN)) $(GO) test -tags '$(TAGS)' -count=1 $(DPDK_PKGS)

# The race detector over the pure-Go packages (cgo's lcore threads are out of its reach).
test-race:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /dataplane/dpdk)

# staticcheck is fetched through the Go module proxy like any module and
# run at a pinned version, so it is not a dependency of the module itself;
# both builds are checked, since each leaves code out of the other.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: build
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) run $(STATICCHECK) ./...
	$(if $(HAVE_DPDK),$(GO) run $(STATICCHECK) -tags '$(TAGS)' ./...)
	$(if $(HAVE_DPDK),CGO_ENABLED=0 $(GO) run $(STATICCHECK) -tags livebin ./cmd/tunnelscope)
	@bash scripts/lint.sh

bench: shim
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchmem ./...

# Refresh cmd/tunnelscope/default.pgo, the profile `go build` optimises the
# binary with, from the offline and live benchmark workloads.
pgo: deps
	bash scripts/pgo.sh

# A short fuzz of every parser of untrusted bytes, and of the feature
# update against its reference implementation.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./dataplane/packet/
	$(GO) test -run '^$$' -fuzz FuzzSource -fuzztime 60s ./dataplane/pcapsrc/
	$(GO) test -run '^$$' -fuzz 'FuzzRead$$' -fuzztime 60s ./models/
	$(GO) test -run '^$$' -fuzz FuzzDecodeMatchesJSON -fuzztime 60s ./models/
	$(GO) test -run '^$$' -fuzz FuzzReadDataset -fuzztime 60s ./models/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./control/config/
	$(GO) test -run '^$$' -fuzz FuzzPackets -fuzztime 60s ./features/

# The shipped model: a 16-tree forest, classes balanced, grown on the
# labelled flows of the shared captures (seed 1, so the same data gives the
# same file).
model: build
	@mkdir -p .cache
	$(BIN) extract --labels $(SHARED)/data/flows.csv -o .cache/shared-features.csv $(SHARED)/data/pcap/*
	$(BIN) train -i .cache/shared-features.csv -o configs/model.json --trees 16 --max-depth 12 --seed 1 --balanced
	$(BIN) compile -m configs/model.json -o configs/model.tsm

clean:
	rm -rf bin .cache $(SHIM) $(LIVE)
