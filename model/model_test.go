package model

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

func testModel(t *testing.T) *Model {
	t.Helper()
	spec := nn.Spec{Dim: 2, Hidden: []int{8, 8}, Act: nn.Tanh, Beta: 1, TimeInput: true}
	rng := rand.New(rand.NewPCG(3, 4))
	m := &Model{Method: "lfm", Spec: spec, Standardizer: &data.Standardizer{Mean: []float64{1, -2}, Std: []float64{2, 0.5}},
		Columns: []string{"a", "b"}, Dequantized: []bool{false, true}}
	for k := 0; k < 2; k++ {
		net, err := nn.NewMLP[float32](spec, rng)
		if err != nil {
			t.Fatal(err)
		}
		m.Fields = append(m.Fields, net)
		m.Blocks = append(m.Blocks, BlockInfo{Kind: "ou", Gamma: 0.1 * float64(k+1)})
	}
	return m
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := testModel(t)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Act != nn.Tanh || got.Blocks[1].Gamma != 0.2 || got.Columns[1] != "b" || !got.Dequantized[1] {
		t.Errorf("loaded %+v", got)
	}
	for k := range m.Fields {
		a, b := m.Fields[k].Params(), got.Fields[k].Params()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("block %d param %d: %g != %g", k, i, a[i], b[i])
			}
		}
	}
}

// LogProb includes the standardization: for a chain of zero fields, the
// density is N((x − μ)/s; 0, I)/Π s.
func TestLogProbIncludesStandardization(t *testing.T) {
	m := testModel(t)
	for _, net := range m.Fields {
		clear(net.Params())
	}
	x := []float64{1, -2, 3, -1.5}
	lp, _, err := m.LogProb(context.Background(), x, 2, flow.Options{Solver: ode.Options{Method: ode.Euler, Steps: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want0 := -math.Log(2*math.Pi) - math.Log(2*0.5)
	y0, y1 := (3.0-1)/2, (-1.5+2)/0.5
	want1 := want0 - 0.5*(y0*y0+y1*y1)
	if math.Abs(lp[0]-want0) > 1e-12 || math.Abs(lp[1]-want1) > 1e-12 {
		t.Errorf("LogProb = %v, want [%g %g]", lp, want0, want1)
	}
	if _, _, err := m.LogProb(context.Background(), x[:3], 2, flow.Options{}); err == nil ||
		err.Error() != "model: got 3 values, want n×d with d = 2 (the model was trained on 2 columns)" {
		t.Errorf("shape error: %v", err)
	}
}

func TestLoadDetectsDamage(t *testing.T) {
	m := testModel(t)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(dir, WeightsFile)
	b, _ := os.ReadFile(w)
	b[len(b)-1] ^= 0xff
	os.WriteFile(w, b, 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("corrupted weights: %v", err)
	}

	dir2 := t.TempDir()
	m.Save(dir2)
	j := filepath.Join(dir2, MetadataFile)
	mb, _ := os.ReadFile(j)
	os.WriteFile(j, []byte(strings.Replace(string(mb), `"format_version": 1`, `"format_version": 7`, 1)), 0o644)
	if _, err := Load(dir2); err == nil || !strings.Contains(err.Error(), "format version 7 is not supported (this iterflow reads version 1)") {
		t.Errorf("version: %v", err)
	}
	os.WriteFile(j, []byte(strings.Replace(string(mb), `"format_version": 1`, `"format_version": 1, "extra": 2`, 1)), 0o644)
	if _, err := Load(dir2); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := Load(filepath.Join(dir2, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing dir: %v", err)
	}
}

func TestSaveLoadLinearBlocks(t *testing.T) {
	m := testModel(t)
	lin := nn.NewLinear[float32](2)
	copy(lin.Params(), []float32{0.1, -0.2, 0.3, 0.4, 1.5, -2.5})
	m.Fields[1] = lin
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if FieldKind(got.Fields[0]) != "mlp" || FieldKind(got.Fields[1]) != "linear" || got.Blocks[1].Field != "linear" {
		t.Fatalf("field kinds %q %q", FieldKind(got.Fields[0]), FieldKind(got.Fields[1]))
	}
	for i, v := range got.Fields[1].Params() {
		if v != lin.Params()[i] {
			t.Errorf("linear param %d = %g, want %g", i, v, lin.Params()[i])
		}
	}
	// The loaded chain gives the same log-densities.
	x := []float64{0.3, -1, 2, 0.5}
	opt := flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 4}}
	a, _, _ := m.LogProb(context.Background(), x, 2, opt)
	b, _, _ := got.LogProb(context.Background(), x, 2, opt)
	if a[0] != b[0] || a[1] != b[1] {
		t.Errorf("LogProb %v after load, %v before", b, a)
	}
}
