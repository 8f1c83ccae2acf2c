# Data-parallel training with MPI (iterflow issue 8). Included by the Makefile
# (-include mk/mpi.mk). Needs Debian's Open MPI: libopenmpi-dev openmpi-bin.
#
#   make build-mpi   bin/iterflow-mpi: the binary built with -tags mpi
#   make test-mpi    the 2-rank tests: collectives, then a tiny 2D LFM run and
#                    a tiny OT-CFM run (exact OT plan on the global batch,
#                    --ot-batch global) with mpirun -np 2, each against one
#                    process with the same global batch and seed
#                    (max |Δw| ≤ 1e-4, |Δ test NLL| ≤ 1e-4, exactly one run
#                    directory); about 45 s on 2 cores.

MPI_PACKAGES := libopenmpi-dev openmpi-bin
# Root (CI containers) must opt in; --oversubscribe allows more ranks than cores.
MPIRUN       ?= mpirun $(if $(filter 0,$(shell id -u)),--allow-run-as-root) --oversubscribe
MPI_TMP      ?= $(CURDIR)/bin/mpi-test
MPI_TRAIN    := train --quiet --data moons --toy-samples 1000 --hidden 16,16 --blocks 2 \
                --iters 60 --batch-size 64 --samples 200 --seed 5
MPI_TRAIN_OT := train --quiet --method otcfm --ot-batch global --data moons --toy-samples 1000 \
                --hidden 16,16 --iters 60 --batch-size 64 --samples 200 --seed 5

.PHONY: mpi build-mpi test-mpi

## mpi: install Debian's Open MPI when it is missing
mpi:
	@if ! dpkg -s $(MPI_PACKAGES) >/dev/null 2>&1; then \
		echo "installing $(MPI_PACKAGES) (needed by the MPI build)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(MPI_PACKAGES) >/dev/null; \
	fi

## build-mpi: the data-parallel binary at bin/iterflow-mpi (launch with mpirun -np N)
build-mpi: mpi
	CGO_ENABLED=1 $(GO) build -tags mpi -ldflags "$(LDFLAGS)" -o bin/iterflow-mpi ./cmd/iterflow

## test-mpi: the 2-rank MPI tests
test-mpi: build-mpi
	CGO_ENABLED=1 $(GO) test -c -tags mpi -o bin/dist-mpi.test ./dist
	$(MPIRUN) -np 2 bin/dist-mpi.test -test.run MPI -test.v
	rm -rf $(MPI_TMP) && mkdir -p $(MPI_TMP)/dp
	$(MPIRUN) -np 2 bin/iterflow-mpi $(MPI_TRAIN) --out $(MPI_TMP)/dp/run
	bin/iterflow-mpi $(MPI_TRAIN) --out $(MPI_TMP)/single
	ITERFLOW_MPI_RUNS="$(MPI_TMP)/dp/run $(MPI_TMP)/single" CGO_ENABLED=1 \
		$(GO) test -count=1 -tags mpi -run TestMPIRunsAgree -v ./cmd/iterflow
	rm -rf $(MPI_TMP)/ot && mkdir -p $(MPI_TMP)/ot/dp
	$(MPIRUN) -np 2 bin/iterflow-mpi $(MPI_TRAIN_OT) --out $(MPI_TMP)/ot/dp/run
	bin/iterflow-mpi $(MPI_TRAIN_OT) --out $(MPI_TMP)/ot/single
	ITERFLOW_MPI_RUNS="$(MPI_TMP)/ot/dp/run $(MPI_TMP)/ot/single" CGO_ENABLED=1 \
		$(GO) test -count=1 -tags mpi -run TestMPIRunsAgree -v ./cmd/iterflow
