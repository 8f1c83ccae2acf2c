package maf

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPreprocessPower(t *testing.T) {
	const n = 37
	raw := make([]float64, n*powerCols)
	for i := 0; i < n; i++ {
		for k := 0; k < powerCols; k++ {
			raw[i*powerCols+k] = float64(100*k + i) // column k of row i identifies both
		}
	}
	x := preprocessPower(slices.Clone(raw), n, NewRandomState(42))
	// Expected order: the permutation RandomState(42) applies to n rows, and
	// then the noise draws: n voltage, n active power, n×3 sub-metering.
	ref := NewRandomState(42)
	perm := make([]float64, n)
	for i := range perm {
		perm[i] = float64(i)
	}
	ref.ShuffleRows(perm, n, 1)
	volt := make([]float64, n)
	for i := range volt {
		volt[i] = 0.01 * ref.Float64()
	}
	gap := make([]float64, n)
	for i := range gap {
		gap[i] = 0.001 * ref.Float64()
	}
	const d = 6
	for i := 0; i < n; i++ {
		src := int(perm[i])
		want := []float64{
			float64(src) + gap[i],      // column 0 (active power)
			float64(200+src) + volt[i], // column 2 (voltage); columns 1 and 3 deleted
			float64(400+src) + ref.Float64(),
			float64(500+src) + ref.Float64(),
			float64(600+src) + ref.Float64(),
			float64(700 + src), // time: no noise
		}
		if got := x[i*d : (i+1)*d]; !slices.Equal(got, want) {
			t.Fatalf("row %d = %v, want %v", i, got, want)
		}
	}
}

func TestPower(t *testing.T) {
	dir := t.TempDir()
	const n = 60
	g := lcg(3)
	raw := make([]float64, n*powerCols)
	for i := range raw {
		raw[i] = 5 * g.next()
	}
	path := filepath.Join(dir, "power", "data.npy")
	writeNPY(t, path, raw, n, powerCols)
	tr, va, te, err := LoadPartial("power", dir)
	if err != nil {
		t.Fatal(err)
	}
	// 60 rows: test 6, validation int(5.4) = 5, train 49.
	if tr.N != 49 || va.N != 5 || te.N != 6 || tr.D != 6 {
		t.Fatalf("splits %d/%d/%d × %d, want 49/5/6 × 6", tr.N, va.N, te.N, tr.D)
	}
	if !slices.Equal(tr.Names, powerNames) {
		t.Errorf("names %v, want %v", tr.Names, powerNames)
	}
	all, _ := concatRows(tr, va)
	checkStandardized(t, all, 54, 6, 0, "train+val")
	// The last test row, un-standardized, is the last preprocessed row.
	x := preprocessPower(slices.Clone(raw), n, NewRandomState(42))
	mean, std := colStats(x, 6, 0, 54, 0)
	for j := 0; j < 6; j++ {
		if got, want := te.X[5*6+j], (x[59*6+j]-mean[j])/std[j]; math.Abs(got-want) > 1e-12 {
			t.Errorf("test row 5 column %d = %g, want %g", j, got, want)
		}
	}
	_, _, _, err = Load("power", dir)
	if want := "maf: power: " + path + " has 60 rows × 8 columns, want 2049280 × 8 (LoadPartial accepts fewer rows)"; err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
	writeNPY(t, path, raw[:n*7], n, 7)
	_, _, _, err = LoadPartial("power", dir)
	if want := "maf: power: " + path + " has 7 columns, want 8"; err == nil || err.Error() != want {
		t.Errorf("7 columns: error %v, want %s", err, want)
	}
}

// gasFixture returns n rows of Time, Meth, Eth, A..E where B ≈ 2A (corr > 0.98),
// D = −C (corr −1: kept, MAF compares the signed correlation) and E ≈ C.
func gasFixture(n int) ([]float64, []string) {
	names := []string{"Time", "Meth", "Eth", "A", "B", "C", "D", "E"}
	g := lcg(11)
	x := make([]float64, 0, n*len(names))
	for i := 0; i < n; i++ {
		a, c := g.next(), g.next()
		x = append(x, float64(i), g.next(), g.next(), a, 2*a+0.01*g.next(), c, -c, c+0.01*g.next())
	}
	return x, names
}

func tableCSV(x []float64, names []string) string {
	var b strings.Builder
	b.WriteString(strings.Join(names, ",") + "\n")
	d := len(names)
	for i := 0; i < len(x); i += d {
		for j := 0; j < d; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.17g", x[i+j])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestGas(t *testing.T) {
	const n = 200
	x, names := gasFixture(n)
	csvDir, npyDir := t.TempDir(), t.TempDir()
	writeText(t, filepath.Join(csvDir, "gas", "ethylene_CO.csv"), tableCSV(x, names))
	writeNPY(t, filepath.Join(npyDir, "gas", "ethylene_CO.npy"), x, n, len(names))
	writeText(t, filepath.Join(npyDir, "gas", "ethylene_CO.columns"), strings.Join(names, "\n")+"\n")
	var first []float64
	for _, dir := range []string{csvDir, npyDir} {
		tr, va, te, err := LoadPartial("gas", dir)
		if err != nil {
			t.Fatal(err)
		}
		// Counts (> 0.98, self included): A 2, B 2, C 2, D 1, E 2 → drop A;
		// then B 1, C 2, D 1, E 2 → drop C; then B, D, E all 1.
		if want := []string{"B", "D", "E"}; !slices.Equal(tr.Names, want) {
			t.Fatalf("kept columns %v, want %v", tr.Names, want)
		}
		// 200 rows: test 20, validation 18, train 162, no shuffle.
		if tr.N != 162 || va.N != 18 || te.N != 20 {
			t.Fatalf("splits %d/%d/%d, want 162/18/20", tr.N, va.N, te.N)
		}
		all, m := concatRows(tr, va, te)
		checkStandardized(t, all, m, 3, 1, "whole set")
		// Row 0 of train is row 0 of the file, standardized (pandas std, ddof 1).
		var s, ss float64
		for i := 0; i < n; i++ {
			s += x[i*8+4]
		}
		mu := s / n
		for i := 0; i < n; i++ {
			ss += (x[i*8+4] - mu) * (x[i*8+4] - mu)
		}
		if got, want := tr.X[0], (x[4]-mu)/math.Sqrt(ss/(n-1)); math.Abs(got-want) > 1e-12 {
			t.Errorf("train[0][B] = %g, want %g", got, want)
		}
		if first == nil {
			first = all
		} else if !slices.Equal(first, all) {
			t.Error("CSV and NPY+columns give different results")
		}
	}
	_, _, _, err := Load("gas", csvDir)
	want := "maf: gas: " + filepath.Join(csvDir, "gas", "ethylene_CO.csv") + " has 200 rows, want 1052065 (LoadPartial accepts fewer rows)"
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
}

func TestGasDropByName(t *testing.T) {
	// Two columns named S: the first correlates with T, the second does not.
	// MAF drops by name, so both S columns go.
	const n = 100
	g := lcg(5)
	names := []string{"Time", "Meth", "Eth", "S", "S", "T", "U"}
	var x []float64
	for i := 0; i < n; i++ {
		a := g.next()
		x = append(x, float64(i), 0, 0, a, g.next(), a+0.001*g.next(), g.next())
	}
	dir := t.TempDir()
	writeText(t, filepath.Join(dir, "gas", "ethylene_CO.csv"), tableCSV(x, names))
	tr, _, _, err := LoadPartial("gas", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"T", "U"}; !slices.Equal(tr.Names, want) {
		t.Fatalf("kept %v, want %v", tr.Names, want)
	}
	// Without Meth the file is not the MAF layout.
	writeText(t, filepath.Join(dir, "gas", "ethylene_CO.csv"), tableCSV(x, []string{"Time", "M", "Eth", "S", "S", "T", "U"}))
	_, _, _, err = LoadPartial("gas", dir)
	if err == nil || !strings.Contains(err.Error(), `no column named "Meth" (columns: Time, M, Eth, S, S, T, U)`) {
		t.Errorf("error %v", err)
	}
}

func TestGasMissing(t *testing.T) {
	dir := t.TempDir()
	_, _, _, err := Load("gas", dir)
	var mf *MissingFileError
	if !errors.As(err, &mf) {
		t.Fatalf("error %v is not a *MissingFileError", err)
	}
	want := "maf: gas: file gas/ethylene_CO.csv not found in directory " + dir +
		"; run `iterflow datasets fetch gas` to download the MAF data bundle; the bundle's gas/ethylene_CO.pickle is a pandas pickle Go cannot read: convert it, in " +
		dir + ", with " + GasConversionCommand
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
	x, names := gasFixture(20)
	writeNPY(t, filepath.Join(dir, "gas", "ethylene_CO.npy"), x, 20, len(names))
	_, _, _, err = LoadPartial("gas", dir)
	if err == nil || !strings.Contains(err.Error(), "ethylene_CO.columns, which is missing") {
		t.Errorf("npy without names: error %v", err)
	}
}

// hepmassFixture writes train and test CSVs: columns label, f0..f3, mass.
// f1's smallest value occurs 6 times (dropped); f2 repeats a non-minimal value
// 12 times but its minimum once (kept: MAF counts only the smallest value);
// mass takes 3 values (dropped). The test file has one extra trailing column.
func hepmassFixture(t *testing.T, dir string, nTrain, nTest int, extra bool) (tr, te [][]float64) {
	g := lcg(19)
	mk := func(n int, test bool) [][]float64 {
		var rows [][]float64
		for i := 0; i < n; i++ {
			f1 := g.next()
			if i%2 == 0 && i < 12 {
				f1 = -3 // 6 label-1 rows at the minimum
			}
			f2 := g.next()
			if i < 24 && i%2 == 0 && i > 0 {
				f2 = 0.5
			}
			if i == 0 {
				f2 = -7
			}
			row := []float64{float64(1 - i%2), g.next(), f1, f2, g.next(), float64(500 * (1 + i%3))}
			if test && extra {
				row = append(row, 42)
			}
			rows = append(rows, row)
		}
		return rows
	}
	tr, te = mk(nTrain, false), mk(nTest, true)
	write := func(name string, rows [][]float64, hdr string) {
		var b strings.Builder
		b.WriteString(hdr + "\n")
		for _, r := range rows {
			for j, v := range r {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%.17g", v)
			}
			b.WriteByte('\n')
		}
		writeText(t, filepath.Join(dir, "hepmass", name), b.String())
	}
	write("1000_train.csv", tr, "# label,f0,f1,f2,f3,mass")
	hdr := "# label,f0,f1,f2,f3,mass"
	if extra {
		hdr += ",x"
	}
	write("1000_test.csv", te, hdr)
	return tr, te
}

func TestHepmass(t *testing.T) {
	for _, extra := range []bool{true, false} {
		dir := t.TempDir()
		rawTr, rawTe := hepmassFixture(t, dir, 100, 40, extra)
		tr, va, te, err := LoadPartial("hepmass", dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"f0", "f2", "f3"}; !slices.Equal(tr.Names, want) {
			t.Fatalf("kept %v, want %v", tr.Names, want)
		}
		// 50 label-1 train rows: validation = last 5; 20 label-1 test rows.
		if tr.N != 45 || va.N != 5 || te.N != 20 {
			t.Fatalf("splits %d/%d/%d, want 45/5/20", tr.N, va.N, te.N)
		}
		all, m := concatRows(tr, va)
		checkStandardized(t, all, m, 3, 1, "label-1 train")
		// Test row 0 is test-file row 0 (label 1), standardized by the train f2 statistics.
		var sig []float64
		for _, r := range rawTr {
			if r[0] == 1 {
				sig = append(sig, r[3])
			}
		}
		var s, ss float64
		for _, v := range sig {
			s += v
		}
		mu := s / float64(len(sig))
		for _, v := range sig {
			ss += (v - mu) * (v - mu)
		}
		sd := math.Sqrt(ss / float64(len(sig)-1))
		if got, want := te.X[1], (rawTe[0][3]-mu)/sd; math.Abs(got-want) > 1e-12 {
			t.Errorf("extra=%v: test[0][f2] = %g, want %g", extra, got, want)
		}
		if got, want := va.X[3*4+1], (sig[49]-mu)/sd; math.Abs(got-want) > 1e-12 {
			t.Errorf("extra=%v: val[4][f2] = %g, want %g", extra, got, want)
		}
	}
	dir := t.TempDir()
	hepmassFixture(t, dir, 100, 40, true)
	_, _, _, err := Load("hepmass", dir)
	want := "maf: hepmass: " + filepath.Join(dir, "hepmass", "1000_train.csv") + " has 50 rows with label 1, want 350136 (LoadPartial accepts fewer rows)"
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
}
