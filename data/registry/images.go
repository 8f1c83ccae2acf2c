package registry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/iterflow/iterflow/data"
)

// subset returns a selector keeping a seeded random subset of max items in
// increasing order (all items when max ≤ 0 or max ≥ n), and records in *seen
// the item count of the file it was applied to. The subset is drawn with
// Floyd's algorithm (O(max) memory, whatever n a header declares) and depends
// only on (n, max, seed, stream), so an image file and its label file agree.
func subset(max int, seed, stream uint64, seen *int) selector {
	return func(n int) []int {
		*seen = n
		if max <= 0 || max >= n {
			return nil
		}
		rng := rand.New(rand.NewPCG(seed, stream))
		chosen := make(map[int]bool, max)
		keep := make([]int, 0, max)
		for j := n - max; j < n; j++ {
			k := rng.IntN(j + 1)
			if chosen[k] {
				k = j
			}
			chosen[k] = true
			keep = append(keep, k)
		}
		slices.Sort(keep)
		return keep
	}
}

// imageFile is one image file and its labels, as read.
type imageFile struct {
	pix    []byte // n×item, stored layout
	labels []byte // n
	n      int
}

// readImagePair reads images and labels (paths ip, lp) keeping the same seeded
// subset of both, and checks their shapes against sh.
func readImagePair(ctx context.Context, ip, lp string, sh ImageShape, npy bool, opt Options, stream uint64) (imageFile, error) {
	var nImg, nLab int
	read := readIDXFile
	want := []int{sh.H, sh.W}
	if npy {
		read = readNPYUint8File
		want = []int{sh.H, sh.W, sh.C}
	}
	dims, pix, err := read(ctx, ip, subset(opt.MaxRows, opt.Seed, stream, &nImg))
	if err != nil {
		return imageFile{}, err
	}
	if !slices.Equal(dims[1:], want) {
		return imageFile{}, fmt.Errorf("%s: image shape %v, want %v", ip, dims[1:], want)
	}
	ldims, lab, err := read(ctx, lp, subset(opt.MaxRows, opt.Seed, stream, &nLab))
	if err != nil {
		return imageFile{}, err
	}
	if len(ldims) != 1 {
		return imageFile{}, fmt.Errorf("%s: label shape %v, want (n,)", lp, ldims)
	}
	if nImg != nLab {
		return imageFile{}, fmt.Errorf("%s has %d images but %s has %d labels", ip, nImg, lp, nLab)
	}
	return imageFile{pix: pix, labels: lab, n: dims[0]}, nil
}

func loadImages(ctx context.Context, out *Loaded, opt Options) error {
	ds := out.Dataset
	sh := ds.Image
	if !(opt.ValFrac >= 0 && opt.ValFrac < 1) {
		return fmt.Errorf("ValFrac = %v, want a value in [0, 1)", opt.ValFrac)
	}
	npy := ds.Name == "cifar10"
	p := out.Paths // train images, train labels, test images, test labels
	trainFile, err := readImagePair(ctx, p[0], p[1], sh, npy, opt, 1)
	if err != nil {
		return err
	}
	testFile, err := readImagePair(ctx, p[2], p[3], sh, npy, opt, 2)
	if err != nil {
		return err
	}
	if opt.MaxRows > 0 {
		out.Steps = append(out.Steps, fmt.Sprintf("kept a seeded subset of at most %d items of each file (PCG seed %d, streams 1 and 2)", opt.MaxRows, opt.Seed))
	}
	n := trainFile.n
	nVal := int(math.Round(opt.ValFrac * float64(n)))
	if opt.ValFrac > 0 && nVal == 0 {
		return fmt.Errorf("ValFrac = %v of %d training images rounds to an empty validation set", opt.ValFrac, n)
	}
	if nVal >= n {
		return fmt.Errorf("%d training images leave no training rows after %d validation rows", n, nVal)
	}
	// The same permutation and order as data.Split(t, ValFrac, 0, Seed).
	perm := rand.New(rand.NewPCG(opt.Seed, 0)).Perm(n)
	names := pixelNames(sh)
	out.Image = sh
	out.Names = names
	out.Integer = make([]bool, len(names))
	for j := range out.Integer {
		out.Integer[j] = true
	}
	if out.Val, out.ValLabels, err = imageTable(trainFile, perm[:nVal], sh, npy, names); err != nil {
		return err
	}
	if out.Train, out.TrainLabels, err = imageTable(trainFile, perm[nVal:], sh, npy, names); err != nil {
		return err
	}
	all := make([]int, testFile.n)
	for i := range all {
		all[i] = i
	}
	if out.Test, out.TestLabels, err = imageTable(testFile, all, sh, npy, names); err != nil {
		return err
	}
	layout := "row-major pixels"
	if npy {
		layout = "stored HWC reordered to CHW"
	}
	out.Steps = append(out.Steps,
		fmt.Sprintf("pixels 0..255 as float64, %s; all %d columns integer (dequantize)", layout, len(names)),
		fmt.Sprintf("validation = %d seeded rows of the training file (as data.Split, seed %d, val %.3g); test = the %d rows of the test file",
			nVal, opt.Seed, opt.ValFrac, testFile.n))
	return nil
}

// imageTable converts the rows idx of f into an n×(C·H·W) float64 table in
// channel-major order and returns it with the rows' labels.
func imageTable(f imageFile, idx []int, sh ImageShape, hwc bool, names []string) (*data.Table, []int, error) {
	item := sh.H * sh.W * sh.C
	x := make([]float64, len(idx)*item)
	lab := make([]int, len(idx))
	hw := sh.H * sh.W
	for k, i := range idx {
		src := f.pix[i*item : (i+1)*item]
		dst := x[k*item : (k+1)*item]
		if hwc && sh.C > 1 {
			for p := 0; p < hw; p++ {
				for c := 0; c < sh.C; c++ {
					dst[c*hw+p] = float64(src[p*sh.C+c])
				}
			}
		} else {
			for j, v := range src {
				dst[j] = float64(v)
			}
		}
		lab[k] = int(f.labels[i])
	}
	t, err := data.NewTable(x, len(idx), item, names)
	return t, lab, err
}

// pixelNames names the C·H·W columns: "pixel_r_c" for one channel (as
// data.Digits), "red_r_c", "green_r_c", "blue_r_c" for RGB, "ch<k>_r_c"
// otherwise.
func pixelNames(sh ImageShape) []string {
	names := make([]string, 0, sh.C*sh.H*sh.W)
	for c := 0; c < sh.C; c++ {
		prefix := "pixel"
		switch {
		case sh.C == 3:
			prefix = [3]string{"red", "green", "blue"}[c]
		case sh.C > 1:
			prefix = fmt.Sprintf("ch%d", c)
		}
		for r := 0; r < sh.H; r++ {
			for col := 0; col < sh.W; col++ {
				names = append(names, fmt.Sprintf("%s_%d_%d", prefix, r, col))
			}
		}
	}
	return names
}
