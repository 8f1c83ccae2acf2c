package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/data"
)

// writeMNISTFixture writes nTrain and nTest 28×28 images into dir/mnist:
// image i of the train file has pixel 0 = i and label i%10; pixel k = (i+k)%256.
func writeMNISTFixture(t *testing.T, dir string, nTrain, nTest int) {
	t.Helper()
	write := func(prefix string, n, off int) {
		pix := make([]byte, n*784)
		lab := make([]byte, n)
		for i := 0; i < n; i++ {
			for k := 0; k < 784; k++ {
				pix[i*784+k] = byte(off + i + k)
			}
			lab[i] = byte(i % 10)
		}
		writeFile(t, filepath.Join(dir, "mnist", prefix+"-images-idx3-ubyte.gz"), gzipBytes(t, idxBytes([]int{n, 28, 28}, pix)))
		writeFile(t, filepath.Join(dir, "mnist", prefix+"-labels-idx1-ubyte.gz"), gzipBytes(t, idxBytes([]int{n}, lab)))
	}
	write("train", nTrain, 0)
	write("t10k", nTest, 100)
}

func TestLoadMNISTFixture(t *testing.T) {
	dir := t.TempDir()
	writeMNISTFixture(t, dir, 20, 7)
	l, err := Load(context.Background(), "mnist", Options{Dirs: []string{dir}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.N != 18 || l.Val.N != 2 || l.Test.N != 7 || l.Train.D != 784 || len(l.Names) != 784 || l.Names[29] != "pixel_1_1" {
		t.Fatalf("shapes %d/%d/%d×%d, names[29] %q", l.Train.N, l.Val.N, l.Test.N, l.Train.D, l.Names[29])
	}
	if countTrue(l.Integer) != 784 || l.Image != (ImageShape{28, 28, 1}) {
		t.Fatalf("integer flags %d, image %v", countTrue(l.Integer), l.Image)
	}
	// Same rows, in the same order, as data.Split of the whole train file.
	x := make([]float64, 20*784)
	for i := 0; i < 20; i++ {
		for k := 0; k < 784; k++ {
			x[i*784+k] = float64(byte(i + k))
		}
	}
	full, _ := data.NewTable(x, 20, 784, nil)
	tr, va, _, err := data.Split(full, 0.1, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.X, l.Train.X) || !slices.Equal(va.X, l.Val.X) {
		t.Fatal("train/val rows differ from data.Split(train file, 0.1, 0, seed)")
	}
	for k, lab := range l.TrainLabels {
		if want := int(l.Train.X[k*784]) % 10; lab != want {
			t.Fatalf("train row %d: label %d, want %d", k, lab, want)
		}
	}
	for i := 0; i < 7; i++ { // test file in file order
		if got := l.Test.X[i*784+1]; got != float64(100+i+1) || l.TestLabels[i] != i%10 {
			t.Fatalf("test row %d: pixel 1 = %v label %d", i, got, l.TestLabels[i])
		}
	}
}

func TestLoadMaxRows(t *testing.T) {
	dir := t.TempDir()
	writeMNISTFixture(t, dir, 40, 30)
	opt := Options{Dirs: []string{dir}, Seed: 9, MaxRows: 10}
	l, err := Load(context.Background(), "mnist", opt)
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.N != 9 || l.Val.N != 1 || l.Test.N != 10 {
		t.Fatalf("split %d/%d/%d, want 9/1/10", l.Train.N, l.Val.N, l.Test.N)
	}
	seen := map[float64]bool{}
	for _, tab := range []*data.Table{l.Train, l.Val} {
		for i := 0; i < tab.N; i++ {
			id := tab.X[i*784]
			if seen[id] || id >= 40 || int(id)%10 != labelOf(l, tab, i) {
				t.Fatalf("row with pixel 0 = %v repeated, out of range or with a wrong label", id)
			}
			seen[id] = true
		}
	}
	for i := 1; i < l.Test.N; i++ { // test subset kept in file order
		if l.Test.X[i*784] <= l.Test.X[(i-1)*784] {
			t.Fatal("test subset not in file order")
		}
	}
	again, _ := Load(context.Background(), "mnist", opt)
	if !slices.Equal(again.Train.X, l.Train.X) || !slices.Equal(again.Test.X, l.Test.X) {
		t.Fatal("same seed gave different subsets")
	}
	opt.Seed = 10
	other, _ := Load(context.Background(), "mnist", opt)
	if slices.Equal(other.Test.X, l.Test.X) {
		t.Fatal("another seed gave the same test subset")
	}
}

func labelOf(l *Loaded, tab *data.Table, i int) int {
	if tab == l.Train {
		return l.TrainLabels[i]
	}
	return l.ValLabels[i]
}

func TestLoadImageErrors(t *testing.T) {
	dir := t.TempDir()
	writeMNISTFixture(t, dir, 20, 7)
	// Labels that disagree with the images.
	writeFile(t, filepath.Join(dir, "mnist", "t10k-labels-idx1-ubyte.gz"), gzipBytes(t, idxBytes([]int{6}, seq(6))))
	_, err := Load(context.Background(), "mnist", Options{Dirs: []string{dir}})
	want := fmt.Sprintf("load dataset mnist: %s has 7 images but %s has 6 labels",
		filepath.Join(dir, "mnist", "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "mnist", "t10k-labels-idx1-ubyte.gz"))
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// Wrong image size.
	p := filepath.Join(dir, "mnist", "t10k-images-idx3-ubyte.gz")
	writeFile(t, p, gzipBytes(t, idxBytes([]int{7, 8, 8}, seq(7*64))))
	_, err = Load(context.Background(), "mnist", Options{Dirs: []string{dir}})
	want = "load dataset mnist: " + p + ": image shape [8 8], want [28 28]"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// A missing file comes back as a *MissingError naming the fetch command.
	_, err = Load(context.Background(), "fashion-mnist", Options{Dirs: []string{dir}})
	var me *MissingError
	if !errors.As(err, &me) || !strings.HasSuffix(err.Error(), "run `iterflow datasets fetch fashion-mnist`") ||
		!slices.Contains(me.Dirs, "/usr/share/datasets/fashion-mnist") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadCIFARFixture(t *testing.T) {
	dir := t.TempDir()
	const n, item = 10, 32 * 32 * 3
	pix := make([]byte, n*item)
	for i := 0; i < n; i++ {
		for p := 0; p < 1024; p++ {
			for c := 0; c < 3; c++ {
				pix[i*item+p*3+c] = byte(i*10 + c + p%7*30) // HWC
			}
		}
	}
	lab := seq(n)
	for _, name := range []string{"train25k", "test"} {
		writeFile(t, filepath.Join(dir, "cifar10", name+"_x.npy.xz"), xzBytes(t, npyBytes([]int{n, 32, 32, 3}, pix)))
		writeFile(t, filepath.Join(dir, "cifar10", name+"_y.npy"), npyBytes([]int{n}, lab))
	}
	l, err := Load(context.Background(), "cifar10", Options{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.N != 9 || l.Val.N != 1 || l.Test.N != 10 || l.Test.D != 3072 || l.Names[1024] != "green_0_0" {
		t.Fatalf("shapes %d/%d/%d×%d names[1024] %q", l.Train.N, l.Val.N, l.Test.N, l.Test.D, l.Names[1024])
	}
	for i := 0; i < n; i++ { // CHW: column c·1024 + p holds channel c of pixel p
		for _, p := range []int{0, 5, 1023} {
			for c := 0; c < 3; c++ {
				if got, want := l.Test.X[i*item+c*1024+p], float64(byte(i*10+c+p%7*30)); got != want {
					t.Fatalf("image %d channel %d pixel %d: %v, want %v", i, c, p, got, want)
				}
			}
		}
		if l.TestLabels[i] != int(lab[i]) {
			t.Fatalf("label %d: %d", i, l.TestLabels[i])
		}
	}
}

func TestLoadWineFixture(t *testing.T) {
	// The headerless comma-separated offline copy and the UCI file (header, ';')
	// load to the same table.
	var plain, uci strings.Builder
	uci.WriteString(`"` + strings.Join(wineColumns, `";"`) + "\"\n")
	for i := 0; i < 30; i++ {
		row := make([]string, 12)
		for j := range row {
			row[j] = fmt.Sprint(float64(i*(j+1)%17) + 0.5*float64(j%2))
		}
		row[5] = fmt.Sprint(i % 7) // integer-valued column
		row[11] = fmt.Sprint(3 + i%5)
		plain.WriteString(strings.Join(row, ",") + "\n")
		uci.WriteString(strings.Join(row, ";") + "\n")
	}
	var got []*Loaded
	for _, content := range []string{plain.String(), uci.String()} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "uci_small", "winequality-white.csv"), []byte(content))
		l, err := Load(context.Background(), "white-wine", Options{Dirs: []string{dir}, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	for _, l := range got {
		if l.Train.N != 24 || l.Val.N != 3 || l.Test.N != 3 || l.Train.D != 11 {
			t.Fatalf("split %d/%d/%d×%d, want 24/3/3×11", l.Train.N, l.Val.N, l.Test.N, l.Train.D)
		}
		if !slices.Equal(l.Names, wineColumns[:11]) {
			t.Fatalf("names %v", l.Names)
		}
		if len(l.Dropped) != 1 || l.Dropped[0] != (DroppedColumn{11, "quality", "discrete label (quality score 0-10)"}) {
			t.Fatalf("dropped %+v", l.Dropped)
		}
		if !l.Integer[5] || l.Integer[1] {
			t.Fatalf("integer flags %v", l.Integer)
		}
	}
	if !slices.Equal(got[0].Train.X, got[1].Train.X) {
		t.Fatal("the two layouts load differently")
	}
}

func TestLoad2DAndDigits(t *testing.T) {
	l, err := Load(context.Background(), "moons", Options{Dirs: []string{}, N2D: 200, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.N != 160 || l.Val.N != 20 || l.Test.N != 20 || l.Train.D != 2 || !slices.Equal(l.Names, []string{"x", "y"}) {
		t.Fatalf("moons: %d/%d/%d×%d %v", l.Train.N, l.Val.N, l.Test.N, l.Train.D, l.Names)
	}
	again, _ := Load(context.Background(), "moons", Options{Dirs: []string{}, N2D: 200, Seed: 4})
	other, _ := Load(context.Background(), "moons", Options{Dirs: []string{}, N2D: 200, Seed: 5})
	if !slices.Equal(again.Train.X, l.Train.X) || slices.Equal(other.Train.X, l.Train.X) {
		t.Fatal("2D points are not a function of the seed")
	}
	d, err := Load(context.Background(), "digits", Options{Dirs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 1437 || d.Val.N != 180 || d.Test.N != 180 || d.Train.D != 61 || countTrue(d.Integer) != 61 {
		t.Fatalf("digits: %d/%d/%d×%d, %d integer", d.Train.N, d.Val.N, d.Test.N, d.Train.D, countTrue(d.Integer))
	}
	var dropped []string
	for _, c := range d.Dropped {
		dropped = append(dropped, c.Name+": "+c.Reason)
	}
	want := []string{"pixel_0_0: constant (value 0)", "pixel_4_0: constant (value 0)", "pixel_4_7: constant (value 0)"}
	if !slices.Equal(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
}

func TestLoadMAFHook(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "miniboone", "data.npy"), []byte{0})
	_, err := Load(context.Background(), "miniboone", Options{Dirs: []string{dir}})
	want := "load dataset miniboone: MAF loader not wired (set Options.MAFLoader, e.g. to maf.Load from package data/maf)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	var gotName, gotDir string
	tab, _ := data.NewTable([]float64{1, 2}, 1, 2, nil)
	l, err := Load(context.Background(), "miniboone", Options{Dirs: []string{dir}, MAFLoader: func(name, d string) (*data.Table, *data.Table, *data.Table, error) {
		gotName, gotDir = name, d
		return tab, tab, tab, nil
	}})
	if err != nil || gotName != "miniboone" || gotDir != dir || l.Train != tab {
		t.Fatalf("hook got (%q, %q), err %v; want (miniboone, %q)", gotName, gotDir, err, dir)
	}
	_, err = Load(context.Background(), "power", Options{Dirs: []string{dir}})
	var me *MissingError
	if !errors.As(err, &me) || !strings.HasSuffix(err.Error(), "run `iterflow datasets fetch power`") {
		t.Fatalf("power: got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(context.Background(), "mnits", Options{})
	if err == nil || err.Error() != `load dataset: unknown dataset "mnits" (did you mean: mnist?)` {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, "moons", Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v", err)
	}
	_, err = Load(context.Background(), "moons", Options{Dirs: []string{}, ValFrac: 0.6, TestFrac: 0.5})
	if err == nil || err.Error() != "load dataset moons: split: valFrac + testFrac = 1.1, want < 1" {
		t.Fatalf("got %v", err)
	}
	_, err = Load(context.Background(), "moons", Options{Dirs: []string{}, MaxRows: -1})
	if err == nil || err.Error() != "load dataset moons: MaxRows = -1 and N2D = 0, want ≥ 0" {
		t.Fatalf("got %v", err)
	}
}
