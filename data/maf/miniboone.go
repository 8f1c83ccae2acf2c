package maf

import (
	"path/filepath"

	"github.com/iterflow/iterflow/data"
)

// miniboone raw shape: the bundle's miniboone/data.npy (outliers and 7
// repeated-value features already removed by the MAF authors).
const (
	minibooneRows = 36488
	minibooneCols = 43
)

func loadMiniboone(dir string, partial bool) (train, val, test *data.Table, err error) {
	const rel = "miniboone/data.npy"
	raw, err := openTable("miniboone", dir, rel, "")
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkShape(raw, filepath.Join(dir, rel), minibooneRows, minibooneCols, partial); err != nil {
		return nil, nil, nil, err
	}
	nTr, nVal, nTe := SplitSizes(raw.N)
	if err := standardize(raw.X, raw.D, raw.Names, 0, nTr+nVal, 0, "train+validation rows"); err != nil {
		return nil, nil, nil, err
	}
	train, val, test = splitRows(raw.X, raw.D, raw.Names, nTr, nVal, nTe)
	return train, val, test, nil
}
