// Package registry names the datasets iterflow can train on (the 2D generators
// of data/toy, small real tables, MNIST, Fashion-MNIST, CIFAR-10 and the MAF
// benchmark sets), records their source, licence, shape, splits and
// preprocessing, finds their files in the data directories and loads them as
// train/validation/test tables in data units.
//
// Data directories are searched in the order of ResolveDirs: a --data-dir
// flag, then $ITERFLOW_DATA, then the user cache directory's iterflow folder.
// Inside a data directory files keep the layout of the offline bundle
// (uci_small/, r_datasets/, mnist/, fashion-mnist/, cifar10/,
// miniboone_maf_head/, and power/, gas/, hepmass/, miniboone/, BSDS300/ for
// the MAF sets). A missing file gives a *MissingError naming the file, the
// directories searched and the fetch command.
//
// Tables are row-major n×d []float64 slices (data.Table); images flatten to
// n×(c·h·w) in channel-major order with pixel values 0..255.
package registry
