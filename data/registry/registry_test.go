package registry

import (
	"errors"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/data/toy"
)

func TestListCompleteAndSorted(t *testing.T) {
	all := List()
	names := Names()
	if !slices.IsSorted(names) {
		t.Fatalf("names not sorted: %v", names)
	}
	want := append(toy.Names(), "red-wine", "white-wine", "parkinsons", "digits", "faithful", "miniboone-fragment",
		"mnist", "fashion-mnist", "cifar10", "power", "gas", "hepmass", "miniboone", "bsds300")
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	hex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, d := range all {
		if d.Description == "" || d.Source == "" || d.Licence == "" || d.Citation == "" || d.Preprocessing == "" {
			t.Errorf("%s: empty description, source, licence, citation or preprocessing", d.Name)
		}
		if !slices.Contains([]string{Kind2D, KindTable, KindImage, KindMAF}, d.Kind) {
			t.Errorf("%s: kind %q", d.Name, d.Kind)
		}
		if d.Train+d.Val+d.Test != d.Rows || d.Train <= 0 || d.Dim <= 0 {
			t.Errorf("%s: splits %d+%d+%d, rows %d, dim %d", d.Name, d.Train, d.Val, d.Test, d.Rows, d.Dim)
		}
		if len(d.Fetch.Downloads) == 0 && d.Fetch.Note == "" {
			t.Errorf("%s: neither a download nor a note on how to get the files", d.Name)
		}
		for _, f := range d.Files {
			if f.SHA256 != "" && !hex.MatchString(f.SHA256) {
				t.Errorf("%s: %s: bad SHA-256 %q", d.Name, f.Path, f.SHA256)
			}
		}
	}
	// List returns fresh copies.
	all[0].Name = "changed"
	if List()[0].Name == "changed" {
		t.Fatal("List shares state between calls")
	}
}

func TestRegistryShapes(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		dim, rows, train, val, test int
	}{
		{"white-wine", 11, 4898, 3918, 490, 490},
		{"red-wine", 11, 1599, 1279, 160, 160},
		{"parkinsons", 14, 5875, 4699, 588, 588},
		{"digits", 61, 1797, 1437, 180, 180},
		{"faithful", 2, 272, 218, 27, 27},
		{"miniboone-fragment", 43, 1523, 1219, 152, 152},
		{"moons", 2, 20000, 16000, 2000, 2000},
		{"mnist", 784, 70000, 54000, 6000, 10000},
		{"fashion-mnist", 784, 70000, 54000, 6000, 10000},
		{"cifar10", 3072, 35000, 22500, 2500, 10000},
		{"miniboone", 43, 36488, 29556, 3284, 3648},
		{"power", 6, 2049280, 1659917, 184435, 204928},
	} {
		d, err := Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dim != tc.dim || d.Rows != tc.rows || d.Train != tc.train || d.Val != tc.val || d.Test != tc.test {
			t.Errorf("%s: dim %d rows %d split %d/%d/%d, want %d %d %d/%d/%d", tc.name, d.Dim, d.Rows, d.Train, d.Val, d.Test,
				tc.dim, tc.rows, tc.train, tc.val, tc.test)
		}
	}
}

func TestSplitSizesMatchDataSplit(t *testing.T) {
	for _, n := range []int{10, 27, 272, 1523, 1599, 4898, 5875} {
		for _, f := range [][2]float64{{0.1, 0.1}, {0.15, 0.05}, {0.2, 0}} {
			tab, err := data.NewTable(make([]float64, n), n, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			tr, va, te, err := data.Split(tab, f[0], f[1], 3)
			if err != nil {
				t.Fatal(err)
			}
			a, b, c := SplitSizes(n, f[0], f[1])
			if a != tr.N || b != va.N || c != te.N {
				t.Errorf("n=%d fractions %v: SplitSizes %d/%d/%d, data.Split %d/%d/%d", n, f, a, b, c, tr.N, va.N, te.N)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	d, err := Lookup(" MNIST ")
	if err != nil || d.Name != "mnist" || d.Image != (ImageShape{H: 28, W: 28, C: 1}) {
		t.Fatalf("Lookup(MNIST) = %+v, %v", d.Name, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"mnit", `unknown dataset "mnit" (did you mean: mnist?)`},
		{"wine", `unknown dataset "wine" (did you mean: red-wine, white-wine?)`},
		{"gass", `unknown dataset "gass" (did you mean: gas?)`},
	} {
		if _, err := Lookup(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("Lookup(%q): got %v, want %q", tc.in, err, tc.want)
		}
	}
	_, err = Lookup("qqqqqqqqqq")
	want := `unknown dataset "qqqqqqqqqq" (known: 2spirals, 8gaussians, bsds300, checkerboard, cifar10, circles, digits, faithful, ` +
		`fashion-mnist, gas, gaussian, hepmass, miniboone, miniboone-fragment, mnist, moons, parkinsons, pinwheel, power, ` +
		`red-wine, rose, swissroll, tree, white-wine)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestResolveDirsOrder(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/cache")
	t.Setenv(EnvData, "/env1"+string(filepath.ListSeparator)+string(filepath.ListSeparator)+"/env2")
	for _, tc := range []struct {
		flag string
		want []string
	}{
		{"/flag", []string{"/flag", "/env1", "/env2", "/cache/iterflow"}},
		{"", []string{"/env1", "/env2", "/cache/iterflow"}},
	} {
		if got := ResolveDirs(tc.flag); !slices.Equal(got, tc.want) {
			t.Errorf("ResolveDirs(%q) = %v, want %v", tc.flag, got, tc.want)
		}
	}
	t.Setenv(EnvData, "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	if got := ResolveDirs("/flag"); !slices.Equal(got, []string{"/flag"}) {
		t.Errorf("no env, no cache: got %v, want [/flag]", got)
	}
}

func TestFindOrderAndMissing(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	ds, _ := Lookup("faithful")
	_, err := Find(ds, []string{d1, d2})
	want := `dataset "faithful": file r_datasets/faithful.csv not found; searched: ` + d1 + ", " + d2 +
		`; no canonical download: in R run write.csv(faithful, "faithful.csv", row.names = FALSE) and put the file at r_datasets/faithful.csv`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	var me *MissingError
	if !errors.As(err, &me) || me.File != "r_datasets/faithful.csv" || !slices.Equal(me.Dirs, []string{d1, d2}) ||
		!slices.Equal(me.Searched, []string{filepath.Join(d1, "r_datasets", "faithful.csv"), filepath.Join(d2, "r_datasets", "faithful.csv")}) {
		t.Fatalf("MissingError fields: %+v", me)
	}
	writeFile(t, filepath.Join(d2, "r_datasets", "faithful.csv"), []byte("a,b\n1,2\n"))
	if p, err := Find(ds, []string{d1, d2}); err != nil || p[0] != filepath.Join(d2, "r_datasets", "faithful.csv") {
		t.Fatalf("only in d2: got %v, %v", p, err)
	}
	writeFile(t, filepath.Join(d1, "r_datasets", "faithful.csv"), []byte("a,b\n1,2\n"))
	if p, err := Find(ds, []string{d1, d2}); err != nil || p[0] != filepath.Join(d1, "r_datasets", "faithful.csv") {
		t.Fatalf("in both: got %v, %v, want d1's", p, err)
	}

	mn, _ := Lookup("mnist")
	_, err = Find(mn, []string{d1})
	want = `dataset "mnist": file mnist/train-images-idx3-ubyte.gz not found; searched: ` + d1 + "; run `iterflow datasets fetch mnist`"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	_, err = Find(mn, nil)
	want = `dataset "mnist": file mnist/train-images-idx3-ubyte.gz not found; no data directory (set --data-dir or ITERFLOW_DATA); run ` +
		"`iterflow datasets fetch mnist`"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestFashionMNISTSystemDir(t *testing.T) {
	ds, _ := Lookup("fashion-mnist")
	sys := t.TempDir()
	ds.SystemDirs = []string{sys} // stands in for /usr/share/datasets/fashion-mnist
	for _, f := range ds.Files {
		writeFile(t, filepath.Join(sys, filepath.Base(f.Path)), []byte{0})
	}
	d := t.TempDir()
	paths, err := Find(ds, []string{d})
	if err != nil || paths[3] != filepath.Join(sys, "t10k-labels-idx1-ubyte.gz") {
		t.Fatalf("got %v, %v", paths, err)
	}
	real, _ := Lookup("fashion-mnist")
	if !slices.Equal(real.SystemDirs, []string{"/usr/share/datasets/fashion-mnist"}) {
		t.Fatalf("SystemDirs = %v", real.SystemDirs)
	}
}

func TestCorrelatedColumns(t *testing.T) {
	// Column 1 = 2·column 0 + tiny noise; column 3 = −column 2; column 4 independent.
	n := 50
	x := make([]float64, n*5)
	for i := 0; i < n; i++ {
		a, b, c := float64(i), math.Sin(float64(i)), math.Cos(3*float64(i))
		x[i*5+0] = a
		x[i*5+1] = 2*a + 0.01*math.Sin(7*float64(i))
		x[i*5+2] = b
		x[i*5+3] = -b
		x[i*5+4] = c
	}
	tab, err := data.NewTable(x, n, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := correlatedColumns(tab, 0.98)
	if len(got) != 2 || got[0].col != 0 || got[0].with != 1 || got[1].col != 2 || got[1].with != 3 ||
		math.Abs(got[1].corr+1) > 1e-12 || got[0].corr < 0.98 {
		t.Fatalf("got %+v, want drops of column 0 (with 1) and column 2 (with 3, corr −1)", got)
	}
}

func TestInfoAndSummary(t *testing.T) {
	d, _ := Lookup("faithful")
	if got, want := d.Summary(), "faithful            table d=2     272 rows (218/27/27)"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	info := d.Info()
	for _, s := range []string{
		"split:         train 218, val 27, test 27\n",
		"files:         r_datasets/faithful.csv (sha256 2da9ef67231ab7542d2ec3e5a741a8d53ada92a24103195ce7d1f9b8e36a986d)\n",
		"fetch:         none (no canonical download: in R run",
	} {
		if !strings.Contains(info, s) {
			t.Errorf("Info() lacks %q:\n%s", s, info)
		}
	}
	g, _ := Lookup("gas")
	if !strings.Contains(g.Info(), "fetch:         https://zenodo.org/record/1161203/files/data.tar.gz -> gas/ethylene_CO.pickle (member data/gas/ethylene_CO.pickle)\n") {
		t.Errorf("gas Info():\n%s", g.Info())
	}
}

func TestVerifySHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	writeFile(t, p, []byte("abc"))
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // FIPS 180-2 test vector
	if err := VerifySHA256(p, abc); err != nil {
		t.Fatal(err)
	}
	err := VerifySHA256(p, strings.Repeat("0", 64))
	if want := "verify sha256 " + p + ": got " + abc + ", want " + strings.Repeat("0", 64); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
