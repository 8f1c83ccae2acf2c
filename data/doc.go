// Package data reads user data into row-major n×d tables and provides the
// invertible preprocessing that keeps likelihoods in the units of that data.
//
// Readers: delimited text (ReadCSV: CSV, TSV, whitespace; header detected or
// forced; gzip detected), NumPy arrays (ReadNPY for .npy, ReadNPZ for one
// array of an .npz archive) and Apache Parquet (ReadParquet: the numeric
// columns, named by the schema). Load and LoadWith choose the reader by file
// extension (.csv, .tsv, .txt, .data, .npy, each optionally .gz; .npz;
// .parquet) and take the header mode, the .npz key and a column selection by
// name or index (Table.Select) in LoadOptions. Split, IntegerColumns and
// ConstantColumns help prepare a table; Digits returns the embedded UCI 8×8
// digits.
//
// Preprocessing maps data x to the model's scale y, and each map's
// log-determinant converts the model's density back:
// log p_x(x) = log p_y(y) + log|det ∂y/∂x|, in nats. Standardizer is the
// per-column affine map (constant log-det), Logit the RealNVP logit transform
// for bounded columns (log-det per row), and Dequantize adds uniform noise to
// integer columns (no log-det; the continuous likelihood bounds the discrete
// one). BitsPerDim and BitsPerDimScaled turn an NLL in nats per sample into
// bits per dimension, so that a uniform model of dequantized 8-bit data scores
// exactly 8.
//
// All matrices are row-major flat []float64 slices of n rows and d columns
// (one sample per row).
package data
