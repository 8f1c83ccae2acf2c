# iterflow build, test and demo targets. `make demo` and `make test` do all
# the set-up they need on a fresh Debian machine with Go 1.26.

GO          ?= go
GOBIN       := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
STATICCHECK_VERSION := 2026.2.2
FAST_TAGS   := openblas
VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
# OpenBLAS threads for the fast build (2 measured fastest on the 2-core machines we
# target; override on bigger ones).
export OPENBLAS_NUM_THREADS ?= 2

.DEFAULT_GOAL := all
-include mk/mpi.mk

.PHONY: all build build-pure build-mkl test-mkl openblas demo test test-pure test-fast test-race fuzz-short loadtest bench-scale lint staticcheck crosscheck bench bench-go bench-quick bench-protocol bench-full clean

all: build

## build: the fast binary (cgo, OpenBLAS, vectorized C activations) at bin/iterflow
build: openblas
	CGO_ENABLED=1 $(GO) build -tags $(FAST_TAGS) -ldflags "$(LDFLAGS)" -o bin/iterflow ./cmd/iterflow

## build-pure: the pure-Go binary (no cgo) at bin/iterflow-pure
build-pure:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/iterflow-pure ./cmd/iterflow

## build-mkl: the fast binary with Intel oneMKL instead of OpenBLAS for matrix products, at
## bin/iterflow-mkl (libraries fetched once from PyPI's mkl wheel by benchmarks/setup_mkl.sh into
## $$ITERFLOW_BENCH_CACHE, default ~/.cache/iterflow-bench; the binary finds them by rpath).
## About 1.8x faster matrix products than Debian 12's OpenBLAS on AVX-512 (benchmarks/README.md).
MKL_TAGS := openblas mkl
build-mkl: openblas
	lib=$$(benchmarks/setup_mkl.sh | tail -n 1) && \
	CGO_ENABLED=1 CGO_LDFLAGS="-L$$lib -Wl,-rpath,$$lib" $(GO) build -tags "$(MKL_TAGS)" -ldflags "$(LDFLAGS)" -o bin/iterflow-mkl ./cmd/iterflow

## test-mkl: the network, flow and method tests of the mkl build (crosschecked against pure Go)
test-mkl: openblas
	lib=$$(benchmarks/setup_mkl.sh | tail -n 1) && \
	CGO_ENABLED=1 CGO_LDFLAGS="-L$$lib -Wl,-rpath,$$lib" $(GO) test -count=1 -tags "$(MKL_TAGS)" ./nn ./flow ./interp

## openblas: install Debian's libopenblas-dev when it is missing
openblas:
	@if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then \
		echo "installing libopenblas-dev (needed by the fast build)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libopenblas-dev >/dev/null; \
	fi

## demo: train Local Flow Matching on the built-in digits and write runs/demo
demo: build
	rm -rf runs/demo
	bin/iterflow train --out runs/demo
	@echo "report: runs/demo/report.md"

## test: formatting, vet, staticcheck, then the tests of the pure and the fast build
test: lint test-pure test-fast

test-pure:
	CGO_ENABLED=0 $(GO) test -count=1 ./...

test-fast: openblas
	CGO_ENABLED=1 $(GO) test -count=1 -tags $(FAST_TAGS) ./...

## test-race: the race detector over the server's tests and the short trainer tests
## (resume, divergence, deadlines, pairing ahead; the long LFM accuracy tests take minutes under -race)
RACE_METHOD_TESTS   := Resume|Diverge|Deadline|BlockSeconds|ConfigErrors|FMProblem|PairAhead|ExampleTrainLFM
RACE_PIPELINE_TESTS := Resume|RunRefuses|Divergence
test-race:
	CGO_ENABLED=1 $(GO) test -count=1 -race ./serve/...
	CGO_ENABLED=1 $(GO) test -count=1 -race -run '$(RACE_METHOD_TESTS)' ./method
	CGO_ENABLED=1 $(GO) test -count=1 -race -run '$(RACE_PIPELINE_TESTS)' ./pipeline

## fuzz-short: every parser's fuzz target for FUZZTIME each (new crashers land in the
## package's testdata/fuzz and fail the run). data's FuzzReadParquet is left out: crafted
## inputs make parquet-go allocate without bound and the fuzzer dies of out-of-memory
## inside the dependency; run it by hand with
## go test -run '^$$' -fuzz '^FuzzReadParquet$$' -fuzztime 30s ./data
FUZZTIME ?= 3s
FUZZ_TARGETS := data:FuzzReadCSV data:FuzzReadNPY data:FuzzReadNPZ \
	data/registry:FuzzReadIDX data/registry:FuzzReadNPYUint8 data/fetch:FuzzUnpackTar \
	model:FuzzRead checkpoint:FuzzLoadTensors serve:FuzzDecodeJSON serve:FuzzDecodeCSV \
	pipeline:FuzzLoadConfig
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz $$name ($(FUZZTIME)) in ./$$pkg"; \
		CGO_ENABLED=0 $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done

## loadtest: the scoring server under 32 concurrent loopback clients for 60 s (serve.TestLoad)
loadtest:
	ITERFLOW_LOAD_SECONDS=60 $(GO) test -count=1 -run '^TestLoad$$' -v ./serve

## bench-scale: train LFM on 200,000 and 2,000,000 synthetic rows × 6 and record peak RSS and
## time per block in benchmarks/results/scale.{json,md} (several minutes on 2 cores)
bench-scale: openblas
	CGO_ENABLED=1 $(GO) build -tags $(FAST_TAGS) -o bin/scale ./benchmarks/cmd/scale
	bin/scale -rows 200000,2000000 -hidden 32,32 -push-steps 3 -iters 200 -out benchmarks/results

lint: staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags $(FAST_TAGS) ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags $(FAST_TAGS) ./...

staticcheck:
	@[ -x $(STATICCHECK) ] && $(STATICCHECK) -version | grep -q $(STATICCHECK_VERSION) || \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## bench-go: Go benchmarks of the network (training step, exact trace), fast build, with the
## OpenBLAS kernel set chosen for this CPU (see nn.RecommendedBLASCore)
bench-go: openblas
	core=$${OPENBLAS_CORETYPE:-$$(CGO_ENABLED=1 $(GO) run -tags $(FAST_TAGS) ./internal/cmd/blascore)}; \
	echo "OPENBLAS_CORETYPE=$$core OPENBLAS_NUM_THREADS=$$OPENBLAS_NUM_THREADS GOMAXPROCS=$${GOMAXPROCS:-default}"; \
	OPENBLAS_CORETYPE=$$core CGO_ENABLED=1 $(GO) test -tags $(FAST_TAGS) -run '^$$' -bench . -benchtime 20x ./nn

## bench: the quick side-by-side benchmark against the Python peers (torchcfm, flow_matching,
## zuko, scikit-learn; benchmarks/README.md): writes benchmarks/results/quick.md and quick.json.
## The peers' venv is created once outside the repo ($$ITERFLOW_BENCH_CACHE, default
## ~/.cache/iterflow-bench). Data from $$ITERFLOW_SHARED_DATA (default ../shared/data).
## bench-protocol: the issue's protocol, 60 s budgets on the five real tables (results/protocol.*).
## bench-full: the same with 300 s budgets and all datasets (results/full.*).
BENCH_DATA ?= $(or $(ITERFLOW_SHARED_DATA),../shared/data)
bench: bench-quick
## BENCH_BLAS=mkl (the default) builds ifbench on oneMKL, the BLAS PyTorch's CPU wheel uses, so the
## speed rows compare the two libraries' own code on the same matrix-product kernels; BENCH_BLAS=openblas
## builds it on Debian's OpenBLAS (no download).
BENCH_BLAS ?= mkl
bench-quick bench-protocol bench-full: openblas
	if [ "$(BENCH_BLAS)" = mkl ]; then \
		lib=$$(benchmarks/setup_mkl.sh | tail -n 1) && \
		CGO_ENABLED=1 CGO_LDFLAGS="-L$$lib -Wl,-rpath,$$lib" $(GO) build -tags "$(MKL_TAGS)" -ldflags "$(LDFLAGS)" -o bin/ifbench ./benchmarks/cmd/ifbench; \
	else \
		CGO_ENABLED=1 $(GO) build -tags $(FAST_TAGS) -ldflags "$(LDFLAGS)" -o bin/ifbench ./benchmarks/cmd/ifbench; \
	fi
	core=$${OPENBLAS_CORETYPE:-$$(CGO_ENABLED=1 $(GO) run -tags $(FAST_TAGS) ./internal/cmd/blascore)}; \
	venv=$$(benchmarks/setup_venv.sh | tail -n 1) && \
	OPENBLAS_CORETYPE=$$core $$venv/bin/python benchmarks/run.py --mode $(patsubst bench-%,%,$@) --ifbench bin/ifbench --data-dir $(BENCH_DATA)

clean:
	rm -rf bin runs
