package registry

import (
	"bufio"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/data"
)

// sharedDir returns $ITERFLOW_SHARED_DATA (the offline data bundle) or skips.
func sharedDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("ITERFLOW_SHARED_DATA")
	if d == "" {
		t.Skip("ITERFLOW_SHARED_DATA not set: set it to the offline data bundle (../shared/data) to run the real-data tests")
	}
	return d
}

func TestSharedSHA256Sums(t *testing.T) {
	dir := sharedDir(t)
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[strings.TrimPrefix(fields[1], "./")] = fields[0]
		}
	}
	checked := 0
	for _, d := range List() {
		for _, file := range d.Files {
			if file.SHA256 == "" {
				continue
			}
			checked++
			if sums[file.Path] != file.SHA256 {
				t.Errorf("%s: %s: registry SHA-256 %s, SHA256SUMS %q", d.Name, file.Path, file.SHA256, sums[file.Path])
			}
		}
	}
	if checked != 17 {
		t.Errorf("checked %d hashes, want 17", checked)
	}
}

func TestSharedTables(t *testing.T) {
	dir := sharedDir(t)
	for _, tc := range []struct {
		name                string
		train, val, test, d int
		integer             []string // names of the integer-valued columns
		dropped             []string
	}{
		{"red-wine", 1279, 160, 160, 11, nil, []string{"quality"}},
		{"white-wine", 3918, 490, 490, 11, nil, []string{"quality"}},
		{"parkinsons", 4699, 588, 588, 14, nil,
			[]string{"subject#", "age", "sex", "test_time", "Jitter(%)", "Jitter:RAP", "Shimmer", "Shimmer:APQ3"}},
		{"faithful", 218, 27, 27, 2, []string{"waiting"}, nil},
		{"miniboone-fragment", 1219, 152, 152, 43, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Load(context.Background(), tc.name, Options{Dirs: []string{dir}, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			ds := l.Dataset
			if l.Train.N != tc.train || l.Val.N != tc.val || l.Test.N != tc.test || l.Train.D != tc.d ||
				l.Train.N != ds.Train || l.Val.N != ds.Val || l.Test.N != ds.Test || l.Train.D != ds.Dim {
				t.Fatalf("split %d/%d/%d×%d; registry %d/%d/%d×%d; want %d/%d/%d×%d", l.Train.N, l.Val.N, l.Test.N, l.Train.D,
					ds.Train, ds.Val, ds.Test, ds.Dim, tc.train, tc.val, tc.test, tc.d)
			}
			var ints, dropped []string
			for j, b := range l.Integer {
				if b {
					ints = append(ints, l.Names[j])
				}
			}
			for _, c := range l.Dropped {
				dropped = append(dropped, c.Name)
			}
			if !slices.Equal(ints, tc.integer) || !slices.Equal(dropped, tc.dropped) {
				t.Fatalf("integer columns %v (want %v), dropped %v (want %v)", ints, tc.integer, dropped, tc.dropped)
			}
		})
	}
}

// pixelMean returns the mean of the tables' values divided by 255.
func pixelMean(tabs ...*data.Table) float64 {
	s, n := 0.0, 0
	for _, t := range tabs {
		for _, v := range t.X {
			s += v
		}
		n += len(t.X)
	}
	return s / float64(n) / 255
}

func TestSharedMNIST(t *testing.T) {
	dir := sharedDir(t)
	l, err := Load(context.Background(), "mnist", Options{Dirs: []string{dir}, MaxRows: 5000, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.N != 4500 || l.Val.N != 500 || l.Test.N != 5000 {
		t.Fatalf("split %d/%d/%d, want 4500/500/5000", l.Train.N, l.Val.N, l.Test.N)
	}
	// README: train pixels/255 have mean 0.1307 (all 60000); a 5000-image subset is within ~0.001.
	if m := pixelMean(l.Train, l.Val); math.Abs(m-0.1307) > 0.003 {
		t.Fatalf("train subset pixel mean %.4f, want 0.1307 ± 0.003", m)
	}
	_, lab, err := readIDXFile(context.Background(), filepath.Join(dir, "mnist", "t10k-labels-idx1-ubyte.gz"), nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 10)
	for _, v := range lab {
		counts[v]++
	}
	if want := []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}; !slices.Equal(counts, want) {
		t.Fatalf("test label counts %v, want %v", counts, want)
	}
}

func TestSharedFashionMNIST(t *testing.T) {
	dir := sharedDir(t)
	l, err := Load(context.Background(), "fashion-mnist", Options{Dirs: []string{dir}, MaxRows: 10000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.N != 9000 || l.Val.N != 1000 || l.Test.N != 10000 {
		t.Fatalf("split %d/%d/%d, want 9000/1000/10000", l.Train.N, l.Val.N, l.Test.N)
	}
	counts := make([]int, 10)
	for _, v := range l.TestLabels {
		counts[v]++
	}
	if !slices.Equal(counts, []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}) {
		t.Fatalf("test label counts %v, want 1000 each", counts)
	}
	if m := pixelMean(l.Train, l.Val); math.Abs(m-0.2860) > 0.003 {
		t.Fatalf("train subset pixel mean %.4f, want 0.2860 ± 0.003", m)
	}
}

// TestSharedCIFARTest decodes the whole CIFAR-10 test file (22 MB of xz, about
// 4 s of CPU with the pure-Go decoder) and checks the README's channel means.
func TestSharedCIFARTest(t *testing.T) {
	dir := sharedDir(t)
	if testing.Short() {
		t.Skip("decodes 30 MB of xz")
	}
	ds, _ := Lookup("cifar10")
	paths, err := Find(ds, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	f, err := readImagePair(context.Background(), paths[2], paths[3], ds.Image, true, Options{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, f.n)
	for i := range all {
		all[i] = i
	}
	tab, labels, err := imageTable(f, all, ds.Image, true, pixelNames(ds.Image))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 10000 || tab.D != 3072 {
		t.Fatalf("test set %d×%d", tab.N, tab.D)
	}
	want := []float64{0.4942, 0.4851, 0.4504} // README: test mean per channel (R, G, B)
	for c := 0; c < 3; c++ {
		s := 0.0
		for i := 0; i < tab.N; i++ {
			for _, v := range tab.X[i*3072+c*1024 : i*3072+(c+1)*1024] {
				s += v
			}
		}
		if m := s / float64(tab.N*1024) / 255; math.Abs(m-want[c]) > 6e-5 {
			t.Errorf("channel %d mean %.5f, want %.4f", c, m, want[c])
		}
	}
	counts := make([]int, 10)
	for _, v := range labels {
		counts[v]++
	}
	if !slices.Equal(counts, []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}) {
		t.Fatalf("label counts %v", counts)
	}
}

func BenchmarkReadCIFARTest(b *testing.B) {
	dir := sharedDir(b)
	p := filepath.Join(dir, "cifar10", "test_x.npy.xz")
	for b.Loop() {
		if _, _, err := readNPYUint8File(context.Background(), p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadMNIST5000(b *testing.B) {
	dir := sharedDir(b)
	for b.Loop() {
		if _, err := Load(context.Background(), "mnist", Options{Dirs: []string{dir}, MaxRows: 5000}); err != nil {
			b.Fatal(err)
		}
	}
}
