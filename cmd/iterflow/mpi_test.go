//go:build mpi

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/model"
)

// TestMPIRunsAgree compares the run directories of a data-parallel run
// (mpirun -np 2) and a single-process run with the same global batch and
// seed, given as ITERFLOW_MPI_RUNS="DP_RUN SINGLE_RUN" by make test-mpi
// (mk/mpi.mk); it is skipped without it. The weights must agree to
// max |Δw| ≤ 1e-4 (float32) and the test NLL to 1e-4 nats; the data-parallel
// run's parent directory must hold exactly its one run directory.
func TestMPIRunsAgree(t *testing.T) {
	dirs := strings.Fields(os.Getenv("ITERFLOW_MPI_RUNS"))
	if len(dirs) != 2 {
		t.Skip("set ITERFLOW_MPI_RUNS=\"DP_RUN SINGLE_RUN\" (make test-mpi)")
	}
	ents, err := os.ReadDir(filepath.Dir(dirs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != filepath.Base(dirs[0]) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("%s holds %v, want only the run directory %s", filepath.Dir(dirs[0]), names, filepath.Base(dirs[0]))
	}
	var ms [2]*model.Model
	var nll [2]float64
	for i, d := range dirs {
		if ms[i], err = model.Load(d); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(d, "metrics.json"))
		if err != nil {
			t.Fatal(err)
		}
		var met struct {
			TestNLL float64 `json:"test_nll"`
		}
		if err := json.Unmarshal(b, &met); err != nil {
			t.Fatal(err)
		}
		nll[i] = met.TestNLL
	}
	if len(ms[0].Fields) != len(ms[1].Fields) {
		t.Fatalf("%d blocks vs %d", len(ms[0].Fields), len(ms[1].Fields))
	}
	dw := 0.0
	for k := range ms[0].Fields {
		a, b := ms[0].Fields[k].Params(), ms[1].Fields[k].Params()
		for i := range a {
			dw = max(dw, math.Abs(float64(a[i])-float64(b[i])))
		}
	}
	dn := math.Abs(nll[0] - nll[1])
	t.Logf("2 ranks vs 1 process: max |Δw| %.3g, test NLL %.6f vs %.6f (|Δ| %.3g)", dw, nll[0], nll[1], dn)
	if dw > 1e-4 || dn > 1e-4 || nll[0] == 0 {
		t.Fatalf("max |Δw| %g (≤ 1e-4), |Δ test NLL| %g (≤ 1e-4), NLL %g", dw, dn, nll[0])
	}
}
