package main

import (
	"bufio"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
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
	sum, err := scoreStream(context.Background(), rd, []int{0, 1, 2, 3}, m, opt, streamChunk(4096), emit, nil, -1, false)
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

// TestScoreStreamOnErrorNaN scores rows under a linear field that doubles
// the state (dx/dt = 2x over t in [0, 1]): rows 2 and 5 of 7 are 1e308,
// whose state overflows float64 (e²·1e308), so their solve fails. By
// default the stream stops naming row 2; with keepGoing they get NaN, the
// other rows their closed form log N(e²x; 0, I) + d·2 (the log-det of the
// linear map e^{2t}), and the summary counts 2 failed rows, the first row 2.
func TestScoreStreamOnErrorNaN(t *testing.T) {
	const n, d = 7, 2
	path := filepath.Join(t.TempDir(), "rows.csv")
	text := "a,b\n0.1,0.2\n-0.3,0.4\n1e308,0\n0.5,-0.6\n0.7,0.8\n0,1e308\n-0.9,0.1\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	lin := nn.NewLinear[float32](d)
	p := lin.Params()
	clear(p)
	// A (d×d, row-major) then b: A = 2I.
	p[0], p[3] = 2, 2
	m := &model.Model{
		Method:       "test",
		Spec:         nn.Spec{Dim: d, Hidden: []int{1}},
		Blocks:       []model.BlockInfo{{Kind: "free", Field: "linear"}},
		Fields:       []model.Field{lin},
		Standardizer: &data.Standardizer{Mean: make([]float64, d), Std: []float64{1, 1}},
	}
	opt := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-10, ATol: 1e-10}, Trace: flow.Exact, BatchSize: 4}
	score := func(keepGoing bool) ([]float64, scoreSummary, error) {
		rd, err := data.NewRowReader(path, data.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		var got []float64
		sum, err := scoreStream(context.Background(), rd, []int{0, 1}, m, opt, 4, func(lp []float64) error {
			got = append(got, lp...)
			return nil
		}, nil, -1, keepGoing)
		return got, sum, err
	}
	if _, _, err := score(false); err == nil || !strings.HasPrefix(err.Error(), "row 2 (counting from 0): ") {
		t.Fatalf("default: error %v, want one naming row 2", err)
	}
	got, sum, err := score(true)
	if err != nil {
		t.Fatal(err)
	}
	rows := [][2]float64{{0.1, 0.2}, {-0.3, 0.4}, {}, {0.5, -0.6}, {0.7, 0.8}, {}, {-0.9, 0.1}}
	if len(got) != n || sum.n != 5 || sum.failed != 2 || sum.firstFailed != 2 {
		t.Fatalf("got %d values, summary n %d failed %d first %d; want 7, 5, 2, 2", len(got), sum.n, sum.failed, sum.firstFailed)
	}
	e2 := math.Exp(2)
	for i, r := range rows {
		if i == 2 || i == 5 {
			if !math.IsNaN(got[i]) {
				t.Errorf("row %d: %v, want NaN", i, got[i])
			}
			continue
		}
		z0, z1 := e2*r[0], e2*r[1]
		want := -math.Log(2*math.Pi) - 0.5*(z0*z0+z1*z1) + 2*d
		if math.Abs(got[i]-want) > 1e-6 {
			t.Errorf("row %d: log p %.9f, want %.9f", i, got[i], want)
		}
	}
}

// A NaN in the scored file stops logprob with an error that names the cell
// and says what the user of the command can do, without the output
// file's "-o:" prefix, and leaves no output file.
func TestLogprobNaNInputAdvice(t *testing.T) {
	dir, rd, _ := trainTiny(t)
	in := filepath.Join(dir, "nan.csv")
	if err := os.WriteFile(in, []byte("a,c\n1,2\n3,NaN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "lp.csv")
	_, _, err := run(t, "logprob", rd, in, "-o", outPath, "-q")
	want := `load ` + in + `: line 3, column 2 ("c") is NaN; logprob scores finite rows only: remove or impute such rows first (--on-error nan covers failed solves, not NaN or Inf in the input)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if _, err := os.Stat(outPath); !os.IsNotExist(err) {
		t.Errorf("output file left behind: %v", err)
	}
	// To stdout, an input that fails before any row is scored writes nothing
	// (not even the header).
	stdout, _, err := run(t, "logprob", rd, in, "-o", "-", "-q")
	if err == nil || err.Error() != want || stdout != "" {
		t.Errorf("-o -: error %v, stdout %q; want the same error and no output", err, stdout)
	}
}
