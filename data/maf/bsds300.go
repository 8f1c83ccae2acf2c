package maf

import (
	"path/filepath"

	"github.com/iterflow/iterflow/data"
)

// bsds300Cols is the patch dimension of BSDS300 (8×8 patches, last pixel dropped).
const bsds300Cols = 63

// BSDS300ConversionCommand converts the bundle's BSDS300/BSDS300.hdf5
// (datasets train, validation, test) to the three .npy files Load reads; run
// it in the folder holding BSDS300/. It needs h5py and numpy. No pure-Go HDF5
// reader is served by the Go module proxy, and a cgo HDF5 dependency is
// avoided on purpose.
const BSDS300ConversionCommand = `python -c "import h5py, numpy as np; f = h5py.File('BSDS300/BSDS300.hdf5', 'r'); [np.save('BSDS300/%s.npy' % k, np.asarray(f[k])) for k in ('train', 'validation', 'test')]"`

func loadBSDS300(dir string, partial bool) (train, val, test *data.Table, err error) {
	std := sizes["bsds300"]
	hint := "the bundle's BSDS300/BSDS300.hdf5 is HDF5, which Go cannot read here: convert it, in " + dir + ", with " + BSDS300ConversionCommand
	var out [3]*data.Table
	for k, part := range []struct {
		file string
		rows int
	}{{"train", std.Train}, {"validation", std.Val}, {"test", std.Test}} {
		rel := "BSDS300/" + part.file + ".npy"
		t, err := openTable("bsds300", dir, rel, hint)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := checkShape(t, filepath.Join(dir, rel), part.rows, bsds300Cols, partial); err != nil {
			return nil, nil, nil, err
		}
		out[k] = t
	}
	return out[0], out[1], out[2], nil
}
