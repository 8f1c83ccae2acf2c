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

.PHONY: all build build-pure openblas demo test test-pure test-fast lint staticcheck crosscheck bench bench-go bench-quick bench-full clean

all: build

## build: the fast binary (cgo, OpenBLAS, vectorized C activations) at bin/iterflow
build: openblas
	CGO_ENABLED=1 $(GO) build -tags $(FAST_TAGS) -ldflags "$(LDFLAGS)" -o bin/iterflow ./cmd/iterflow

## build-pure: the pure-Go binary (no cgo) at bin/iterflow-pure
build-pure:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/iterflow-pure ./cmd/iterflow

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
## bench-full: the same with 300 s budgets and all datasets (results/full.*).
BENCH_DATA ?= $(or $(ITERFLOW_SHARED_DATA),../shared/data)
bench: bench-quick
bench-quick bench-full: openblas
	CGO_ENABLED=1 $(GO) build -tags $(FAST_TAGS) -ldflags "$(LDFLAGS)" -o bin/ifbench ./benchmarks/cmd/ifbench
	venv=$$(benchmarks/setup_venv.sh | tail -n 1) && \
	$$venv/bin/python benchmarks/run.py --mode $(patsubst bench-%,%,$@) --ifbench bin/ifbench --data-dir $(BENCH_DATA)

clean:
	rm -rf bin runs
