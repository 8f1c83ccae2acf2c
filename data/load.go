package data

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads the table stored at path, choosing the reader by extension
// (case-insensitive): .csv, .txt and .data are read with ReadCSV (separator and
// header detected), .tsv with ReadCSV and a tab separator, .npy with ReadNPY.
// Each may carry a further .gz (e.g. "digits.csv.gz"), which is decompressed.
//
// Errors start with "load <path>: " and cover a missing or unreadable file
// (errors.Is(err, fs.ErrNotExist) holds for a missing one), an unsupported
// extension (the message lists the supported ones) and the reader's errors.
func Load(path string) (*Table, error) {
	t, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return t, nil
}

// supportedExtensions is listed in Load's error for an unknown extension.
const supportedExtensions = ".csv, .tsv, .txt, .data, .npy, each optionally followed by .gz"

func load(path string) (*Table, error) {
	name := strings.ToLower(filepath.Base(path))
	gz := strings.HasSuffix(name, ".gz")
	name = strings.TrimSuffix(name, ".gz")
	ext := filepath.Ext(name)
	var read func(io.Reader) (*Table, error)
	switch ext {
	case ".csv", ".txt", ".data":
		read = func(r io.Reader) (*Table, error) { return ReadCSV(r, CSVOptions{Header: -1}) }
	case ".tsv":
		read = func(r io.Reader) (*Table, error) { return ReadCSV(r, CSVOptions{Comma: '\t', Header: -1}) }
	case ".npy":
		read = ReadNPY
	default:
		shown := ext
		if gz {
			shown += ".gz"
		}
		if shown == "" {
			return nil, fmt.Errorf("no file extension (supported: %s)", supportedExtensions)
		}
		return nil, fmt.Errorf("unsupported extension %q (supported: %s)", shown, supportedExtensions)
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	return read(r)
}
