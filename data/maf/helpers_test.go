package maf

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/data"
)

// writeNPY writes x (n×d, row-major) as a version 1.0 little-endian float64 .npy file.
func writeNPY(t *testing.T, path string, x []float64, n, d int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	hdr := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", n, d)
	pad := 64 - (10+len(hdr)+1)%64
	hdr += strings.Repeat(" ", pad) + "\n"
	buf := []byte("\x93NUMPY\x01\x00")
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(hdr)))
	buf = append(buf, hdr...)
	for _, v := range x {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeText writes s to path, creating its directory.
func writeText(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// concatRows stacks tables of equal width.
func concatRows(ts ...*data.Table) ([]float64, int) {
	var x []float64
	n := 0
	for _, t := range ts {
		x = append(x, t.X...)
		n += t.N
	}
	return x, n
}

// checkStandardized asserts column means 0 and standard deviations 1 (with ddof) over x (n×d).
func checkStandardized(t *testing.T, x []float64, n, d, ddof int, what string) {
	t.Helper()
	for j := 0; j < d; j++ {
		var s, ss float64
		for i := 0; i < n; i++ {
			s += x[i*d+j]
		}
		m := s / float64(n)
		for i := 0; i < n; i++ {
			ss += (x[i*d+j] - m) * (x[i*d+j] - m)
		}
		sd := math.Sqrt(ss / float64(n-ddof))
		if math.Abs(m) > 1e-12 || math.Abs(sd-1) > 1e-12 {
			t.Errorf("%s column %d: mean %g, std (ddof %d) %g; want 0, 1", what, j, m, ddof, sd)
		}
	}
}

// lcg is a tiny deterministic generator for fixtures, independent of the code under test.
type lcg uint64

func (g *lcg) next() float64 {
	*g = *g*6364136223846793005 + 1442695040888963407
	return float64(uint64(*g)>>11) / (1 << 53)
}
