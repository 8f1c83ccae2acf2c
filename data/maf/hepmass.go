package maf

import (
	"fmt"
	"path/filepath"

	"github.com/iterflow/iterflow/data"
)

// hepmassMaxRepeats is MAF's threshold: a feature whose smallest train value
// occurs more than this many times is dropped.
const hepmassMaxRepeats = 5

func loadHepmass(dir string, partial bool) (train, val, test *data.Table, err error) {
	const trainRel, testRel = "hepmass/1000_train.csv", "hepmass/1000_test.csv"
	rawTrain, err := openTable("hepmass", dir, trainRel, "")
	if err != nil {
		return nil, nil, nil, err
	}
	rawTest, err := openTable("hepmass", dir, testRel, "")
	if err != nil {
		return nil, nil, nil, err
	}
	trainPath, testPath := filepath.Join(dir, trainRel), filepath.Join(dir, testRel)
	if rawTrain.D < 2 {
		return nil, nil, nil, fmt.Errorf("%s has %d columns, want a label and features", trainPath, rawTrain.D)
	}
	xTr, nTr := signalRows(rawTrain)
	dTr := rawTrain.D - 1
	names := rawTrain.Names[1:]
	dTe := rawTest.D - 1
	switch dTe {
	case dTr, dTr + 1: // MAF drops the test file's last column; here only when it is extra.
	default:
		return nil, nil, nil, fmt.Errorf("%s has %d columns, want %d or %d as %s", testPath, rawTest.D, rawTrain.D, rawTrain.D+1, trainPath)
	}
	xTe, nTe := signalRows(rawTest)
	if dTe == dTr+1 {
		xTe = keepColumns(xTe, nTe, dTe, seq(dTr))
	}
	std := sizes["hepmass"]
	if partial {
		if nTr < 10 || nTr > std.Train+std.Val || nTe < 1 || nTe > std.Test {
			return nil, nil, nil, fmt.Errorf("%s and %s have %d and %d label-1 rows; partial load wants 10 to %d and 1 to %d",
				trainPath, testPath, nTr, nTe, std.Train+std.Val, std.Test)
		}
	} else {
		if nTr != std.Train+std.Val {
			return nil, nil, nil, fmt.Errorf("%s has %d rows with label 1, want %d (LoadPartial accepts fewer rows)", trainPath, nTr, std.Train+std.Val)
		}
		if nTe != std.Test {
			return nil, nil, nil, fmt.Errorf("%s has %d rows with label 1, want %d (LoadPartial accepts fewer rows)", testPath, nTe, std.Test)
		}
	}
	// Standardize both by the train statistics (pandas: ddof 1), train rows first.
	all := append(xTr[:len(xTr):len(xTr)], xTe...)
	if err := standardize(all, dTr, names, 0, nTr, 1, "label-1 train rows"); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", trainPath, err)
	}
	xTr, xTe = all[:nTr*dTr], all[nTr*dTr:]
	keep := hepmassKeep(xTr, nTr, dTr)
	d := len(keep)
	if !partial && d != std.D {
		return nil, nil, nil, fmt.Errorf("%s: %d features left after dropping repeated ones, want %d", trainPath, d, std.D)
	}
	if d == 0 {
		return nil, nil, nil, fmt.Errorf("%s: every feature has its smallest value more than %d times", trainPath, hepmassMaxRepeats)
	}
	kept := pick(names, keep)
	xTr = keepColumns(xTr, nTr, dTr, keep)
	xTe = keepColumns(xTe, nTe, dTr, keep)
	nVal := int(0.1 * float64(nTr))
	trTab, valTab, _ := splitRows(xTr, d, kept, nTr-nVal, nVal, 0)
	teTab := &data.Table{X: xTe, N: nTe, D: d, Names: kept}
	return trTab, valTab, teTab, nil
}

// signalRows returns the rows of t whose first column (the label) is 1,
// without the label, and their count.
func signalRows(t *data.Table) ([]float64, int) {
	var out []float64
	n := 0
	for i := 0; i < t.N; i++ {
		row := t.X[i*t.D : (i+1)*t.D]
		if row[0] == 1 {
			out = append(out, row[1:]...)
			n++
		}
	}
	return out, n
}

// hepmassKeep returns the indices of the features to keep: those whose
// smallest value in x (n×d) occurs at most hepmassMaxRepeats times.
func hepmassKeep(x []float64, n, d int) []int {
	var keep []int
	for j := 0; j < d; j++ {
		lo, cnt := x[j], 0
		for i := 0; i < n; i++ {
			v := x[i*d+j]
			switch {
			case v < lo:
				lo, cnt = v, 1
			case v == lo:
				cnt++
			}
		}
		if cnt <= hepmassMaxRepeats {
			keep = append(keep, j)
		}
	}
	return keep
}

// seq returns 0, 1, …, n−1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
