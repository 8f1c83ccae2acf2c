// Package data reads tabular data (CSV, NPY) into row-major n×d tables, selects
// and splits their columns and rows, embeds the UCI 8×8 digits, and provides
// invertible preprocessing (standardization, uniform dequantization) whose
// log-determinant keeps likelihoods in the units of the user's data.
//
// All matrices are row-major flat []float64 slices of n rows and d columns
// (one sample per row).
package data
