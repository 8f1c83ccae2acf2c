package maf

import (
	"path/filepath"

	"github.com/iterflow/iterflow/data"
)

// powerRows and powerCols are the shape of the bundle's power/data.npy.
const (
	powerRows = 2049280
	powerCols = 8
	powerSeed = 42
)

// powerNames are the columns kept after deleting columns 3 and 1 of
// power/data.npy (UCI individual household electric power consumption).
var powerNames = []string{"global_active_power", "voltage", "sub_metering_1", "sub_metering_2", "sub_metering_3", "time"}

func loadPower(dir string, partial bool) (train, val, test *data.Table, err error) {
	const rel = "power/data.npy"
	raw, err := openTable("power", dir, rel, "")
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkShape(raw, filepath.Join(dir, rel), powerRows, powerCols, partial); err != nil {
		return nil, nil, nil, err
	}
	x := preprocessPower(raw.X, raw.N, NewRandomState(powerSeed))
	nTr, nVal, nTe := SplitSizes(raw.N)
	const d = 6
	if err := standardize(x, d, powerNames, 0, nTr+nVal, 0, "train+validation rows"); err != nil {
		return nil, nil, nil, err
	}
	train, val, test = splitRows(x, d, powerNames, nTr, nVal, nTe)
	return train, val, test, nil
}

// preprocessPower shuffles the n×8 rows of raw in place with rng, deletes
// columns 3 and 1 and adds MAF's uniform noise, drawn from rng after the
// shuffle: N voltage draws (×0.01), then N active-power draws (×0.001), then
// N×3 sub-metering draws (row-major). It returns the new n×6 matrix.
func preprocessPower(raw []float64, n int, rng *RandomState) []float64 {
	rng.ShuffleRows(raw, n, powerCols)
	x := keepColumns(raw, n, powerCols, []int{0, 2, 4, 5, 6, 7})
	const d = 6
	for i := 0; i < n; i++ {
		x[i*d+1] += 0.01 * rng.Float64()
	}
	for i := 0; i < n; i++ {
		x[i*d] += 0.001 * rng.Float64()
	}
	for i := 0; i < n; i++ {
		for j := 2; j < 5; j++ {
			x[i*d+j] += rng.Float64()
		}
	}
	return x
}
