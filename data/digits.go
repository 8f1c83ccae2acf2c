package data

import (
	"bytes"
	_ "embed" // for the embedded digits file
	"fmt"
)

// digitsCSV is the 1797×64 pixel matrix of the UCI optical-recognition digits
// (test set), gzip-compressed CSV without header or label column, made from
// scikit-learn's digits.csv.gz by keeping its first 64 columns:
//
//	zcat sklearn_digits.csv.gz | cut -d, -f1-64 | gzip -9n > digits.csv.gz
//
// TestDigitsMatchSource compares it cell by cell with the shared source file.
//
//go:embed digits.csv.gz
var digitsCSV []byte

// Digits image geometry: each row of Digits() is an 8×8 image, row-major.
const (
	DigitsN      = 1797 // number of images
	DigitsHeight = 8    // image height in pixels
	DigitsWidth  = 8    // image width in pixels
	DigitsMax    = 16   // largest pixel value (pixels are integers 0..16)
)

// DigitsAttribution is the source and licence of the data returned by Digits.
const DigitsAttribution = "Optical Recognition of Handwritten Digits (test set, 8x8 block counts), " +
	"E. Alpaydin and C. Kaynak, Bogazici University, 1998; UCI Machine Learning Repository, " +
	"https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits; licence CC BY 4.0. " +
	"Copy taken from scikit-learn 1.2.1 (sklearn/datasets/data/digits.csv.gz, BSD-3), label column dropped. " +
	"Reference: E. Alpaydin, C. Kaynak (1998), Cascading Classifiers, Kybernetika."

// Digits returns the UCI optical-recognition handwritten digits embedded in
// the package: 1797 images of 8×8 integer pixels in 0..16 (counts of on-pixels
// in 4×4 blocks of a 32×32 bitmap), as a 1797×64 table; row k is image k in
// row-major order and column r·8+c is named "pixel_r_c". Labels are not
// included. Each call decodes a fresh copy. See DigitsAttribution for the
// source and licence.
func Digits() *Table {
	t, err := ReadCSV(bytes.NewReader(digitsCSV), CSVOptions{Comma: ',', Header: 0})
	if err != nil || t.N != DigitsN || t.D != DigitsHeight*DigitsWidth {
		// The file is compiled in and checked by the tests; this cannot
		// happen in a correct build.
		panic(fmt.Sprintf("data: embedded digits file is corrupt: %v", err))
	}
	for r := 0; r < DigitsHeight; r++ {
		for c := 0; c < DigitsWidth; c++ {
			t.Names[r*DigitsWidth+c] = fmt.Sprintf("pixel_%d_%d", r, c)
		}
	}
	return t
}
