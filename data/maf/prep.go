package maf

import (
	"fmt"
	"math"

	"github.com/iterflow/iterflow/data"
)

// colStats returns the per-column mean and standard deviation of rows
// [lo, hi) of x (n×d, row-major), with ddof 0 (population, NumPy's std) or 1
// (sample, pandas' std). Sums are two-pass in float64.
func colStats(x []float64, d, lo, hi, ddof int) (mean, std []float64) {
	mean = make([]float64, d)
	std = make([]float64, d)
	m := hi - lo
	for i := lo; i < hi; i++ {
		row := x[i*d : (i+1)*d]
		for j, v := range row {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(m)
	}
	for i := lo; i < hi; i++ {
		row := x[i*d : (i+1)*d]
		for j, v := range row {
			dv := v - mean[j]
			std[j] += dv * dv
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(m-ddof))
	}
	return mean, std
}

// standardize maps every row of x (n×d) to (x − mean)/std in place, with the
// statistics of rows [lo, hi) (ddof as in colStats). what names the subset in
// the error for a column with zero or non-finite spread.
func standardize(x []float64, d int, names []string, lo, hi, ddof int, what string) error {
	if hi-lo <= ddof {
		return fmt.Errorf("standardize: %d rows in the %s, too few for a standard deviation", hi-lo, what)
	}
	mean, std := colStats(x, d, lo, hi, ddof)
	for j, s := range std {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("standardize: column %d (%q) has standard deviation %v over the %s", j, names[j], s, what)
		}
	}
	for i := 0; i < len(x); i += d {
		row := x[i : i+d]
		for j := range row {
			row[j] = (row[j] - mean[j]) / std[j]
		}
	}
	return nil
}

// keepColumns returns a new n×len(keep) matrix holding the columns keep of x
// (n×d), in that order.
func keepColumns(x []float64, n, d int, keep []int) []float64 {
	out := make([]float64, n*len(keep))
	k := len(keep)
	for i := 0; i < n; i++ {
		src := x[i*d : (i+1)*d]
		dst := out[i*k : (i+1)*k]
		for c, j := range keep {
			dst[c] = src[j]
		}
	}
	return out
}

// pick returns the names at the indices keep.
func pick(names []string, keep []int) []string {
	out := make([]string, len(keep))
	for c, j := range keep {
		out[c] = names[j]
	}
	return out
}

// splitRows cuts x (n×d) into consecutive tables of nTrain, nVal and nTest
// rows sharing x's memory (capacity-limited, so appending to one cannot
// overwrite the next).
func splitRows(x []float64, d int, names []string, nTrain, nVal, nTest int) (train, val, test *data.Table) {
	a, b, c := nTrain*d, (nTrain+nVal)*d, (nTrain+nVal+nTest)*d
	mk := func(lo, hi, n int) *data.Table {
		return &data.Table{X: x[lo:hi:hi], N: n, D: d, Names: append([]string(nil), names...)}
	}
	return mk(0, a, nTrain), mk(a, b, nVal), mk(b, c, nTest)
}
