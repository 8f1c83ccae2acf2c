package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/iterflow/iterflow/data"
)

// The synthetic table reads back through the library's NPY reader with the
// right shape, is the same for the same seed, and has the spread of a
// mixture (per-column variance above the smallest component's).
func TestWriteMixtureNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	for _, p := range []string{p1, p2} {
		if err := writeMixtureNPY(p, 1000, 6, 7); err != nil {
			t.Fatal(err)
		}
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) {
		t.Error("two tables with the same seed differ")
	}
	if len(b1)%64 != 0 || len(b1) != 128+1000*6*8 {
		t.Errorf("file of %d bytes, want a 128-byte header and 48,000 bytes of data", len(b1))
	}
	f, err := os.Open(p1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, err := data.ReadNPY(f)
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 1000 || tab.D != 6 {
		t.Fatalf("shape %d×%d, want 1000×6", tab.N, tab.D)
	}
	for j := 0; j < 6; j++ {
		var m, v float64
		for i := 0; i < tab.N; i++ {
			m += tab.X[i*6+j]
		}
		m /= float64(tab.N)
		for i := 0; i < tab.N; i++ {
			v += (tab.X[i*6+j] - m) * (tab.X[i*6+j] - m)
		}
		v /= float64(tab.N - 1)
		if !(v > 0.09) || math.IsInf(v, 0) {
			t.Errorf("column %d: variance %v, want above 0.3² (the smallest diagonal of L)", j, v)
		}
	}
}

func TestParseIntsErrors(t *testing.T) {
	if v, err := parseInts("200000, 2000000", "rows"); err != nil || len(v) != 2 || v[1] != 2000000 {
		t.Errorf("parseInts = %v, %v", v, err)
	}
	for _, s := range []string{"", "0", "1,x", "-5"} {
		_, err := parseInts(s, "rows")
		if err == nil {
			t.Errorf("parseInts(%q) gave no error", s)
		}
	}
	_, err := parseInts("1,x", "rows")
	if want := `-rows: "x" is not a positive integer`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestPeakRSS(t *testing.T) {
	got := peakRSS()
	if runtime.GOOS != "linux" {
		if got != -1 {
			t.Errorf("peakRSS = %d off Linux, want -1", got)
		}
		return
	}
	if got < 1<<20 || got > 1<<40 {
		t.Errorf("peakRSS = %d bytes, want a plausible VmHWM", got)
	}
}
