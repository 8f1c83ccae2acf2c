package main

import (
	"bufio"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// TestScoreStreamBoundedHeap scores a 10⁶-row CSV under a zero linear field
// (the identity flow, log p = log N(x; 0, I) exactly) and checks the values,
// the count and that the heap in use stays far below what loading the file
// (10⁶ × 4 float64 = 32 MB, plus copies) would take.
func TestScoreStreamBoundedHeap(t *testing.T) {
	const n, d = 1_000_000, 4
	path := filepath.Join(t.TempDir(), "big.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("a,b,c,d\n")
	var b []byte
	for i := 0; i < n; i++ {
		b = b[:0]
		for j := 0; j < d; j++ {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64((i+j)%7-3), 10)
		}
		b = append(b, '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	m := &model.Model{
		Method:       "test",
		Spec:         nn.Spec{Dim: d, Hidden: []int{1}},
		Blocks:       []model.BlockInfo{{Kind: "free", Field: "linear"}},
		Fields:       []model.Field{nn.NewLinear[float32](d)},
		Standardizer: &data.Standardizer{Mean: make([]float64, d), Std: []float64{1, 1, 1, 1}},
	}
	rd, err := data.NewRowReader(path, data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	chunks, rows := 0, 0
	c := -0.5 * d * math.Log(2*math.Pi)
	bad := 0
	emit := func(lp []float64) error {
		for k, v := range lp {
			i := rows + k
			var s float64
			for j := 0; j < d; j++ {
				x := float64((i+j)%7 - 3)
				s += x * x
			}
			if v != c-0.5*s {
				bad++
			}
		}
		rows += len(lp)
		chunks++
		if chunks%4 == 0 {
			runtime.GC() // count live memory, not garbage awaiting collection
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		return nil
	}
	opt := flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 1}, Trace: flow.Exact, BatchSize: 4096}
	sum, err := scoreStream(context.Background(), rd, []int{0, 1, 2, 3}, m, opt, streamChunk(4096), emit, nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	if sum.n != n || rows != n || bad != 0 {
		t.Errorf("scored %d rows (emitted %d), %d wrong log p; want %d, all exact", sum.n, rows, bad, n)
	}
	const bound = 12 << 20 // loading the file whole would hold > 40 MB
	t.Logf("heap in use: base %.1f MB, peak %.1f MB over %d chunks", float64(base)/(1<<20), float64(peak)/(1<<20), chunks)
	if peak > base+bound {
		t.Errorf("heap in use grew by %.1f MB, want < %d MB (streaming)", float64(peak-base)/(1<<20), bound>>20)
	}
}
