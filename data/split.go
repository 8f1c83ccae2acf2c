package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iterflow/iterflow/internal/wording"
)

// Split partitions the rows of t at random into train, validation and test
// tables (values copied). The permutation is drawn with
// rand.New(rand.NewPCG(seed, 0)), so a seed gives the same split every time.
// Sizes: test = round(testFrac·N), val = round(valFrac·N), train = the rest;
// the first test rows of the permutation go to test, the next val rows to
// val.
//
// A fraction of exactly 0 gives an empty part (N = 0) on purpose. It returns an
// error if a fraction is outside [0, 1) or not finite, if valFrac+testFrac ≥ 1,
// if a positive fraction rounds to zero rows, or if train would be empty.
func Split(t *Table, valFrac, testFrac float64, seed uint64) (train, val, test *Table, err error) {
	for _, f := range []struct {
		name string
		v    float64
	}{{"valFrac", valFrac}, {"testFrac", testFrac}} {
		if !(f.v >= 0 && f.v < 1) {
			return nil, nil, nil, fmt.Errorf("split: %s = %v, want a value in [0, 1)", f.name, f.v)
		}
	}
	if valFrac+testFrac >= 1 {
		return nil, nil, nil, fmt.Errorf("split: valFrac + testFrac = %v, want < 1", valFrac+testFrac)
	}
	nTest := int(math.Round(testFrac * float64(t.N)))
	nVal := int(math.Round(valFrac * float64(t.N)))
	if testFrac > 0 && nTest == 0 {
		return nil, nil, nil, fmt.Errorf("split: testFrac = %v of %s rounds to an empty test set", testFrac, wording.Plural(t.N, "row"))
	}
	if valFrac > 0 && nVal == 0 {
		return nil, nil, nil, fmt.Errorf("split: valFrac = %v of %s rounds to an empty validation set", valFrac, wording.Plural(t.N, "row"))
	}
	nTrain := t.N - nTest - nVal
	if nTrain <= 0 {
		return nil, nil, nil, fmt.Errorf("split: of %s, none is left for training after %d test and %s", wording.Plural(t.N, "row"), nTest, wording.Plural(nVal, "validation row"))
	}
	perm := rand.New(rand.NewPCG(seed, 0)).Perm(t.N)
	take := func(idx []int) *Table {
		out := &Table{X: make([]float64, len(idx)*t.D), N: len(idx), D: t.D, Names: append([]string(nil), t.Names...)}
		for k, i := range idx {
			copy(out.X[k*t.D:(k+1)*t.D], t.X[i*t.D:(i+1)*t.D])
		}
		return out
	}
	test = take(perm[:nTest])
	val = take(perm[nTest : nTest+nVal])
	train = take(perm[nTest+nVal:])
	return train, val, test, nil
}
