package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/iterflow/iterflow/data"
)

// stdinName is how messages name the data read from "-".
const stdinName = "stdin"

// inputData is the DATA argument of logprob opened for row-by-row reading.
type inputData struct {
	rd   data.RowReader
	name string // the path as given, or "stdin" for "-"
	path string // the file read: the path, or the copy of stdin
	tmp  string // the temporary directory holding the copy of stdin, or ""
}

// openInput opens path with data.NewRowReader, or, for "-", copies stdin to
// a temporary file first (removed by Close) and opens that: NPY when it
// starts with NPY's magic bytes, else delimited text as CSV files are read
// (separator and header detected, gzip-compressed input detected by its
// magic bytes). Messages name "stdin" instead of the temporary file.
func openInput(path string, stdin io.Reader) (*inputData, error) {
	if path != "-" {
		rd, err := data.NewRowReader(path, data.LoadOptions{})
		if err != nil {
			return nil, err
		}
		return &inputData{rd: rd, name: path, path: path}, nil
	}
	dir, err := os.MkdirTemp("", "iterflow-stdin-*")
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	in := &inputData{name: stdinName, tmp: dir}
	br := bufio.NewReaderSize(stdin, 1<<16)
	ext := ".csv"
	if magic, _ := br.Peek(6); bytes.Equal(magic, []byte("\x93NUMPY")) {
		ext = ".npy"
	}
	in.path = filepath.Join(dir, stdinName+ext)
	f, err := os.Create(in.path)
	if err == nil {
		_, err = io.Copy(f, br)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("read stdin into %s: %w", dir, err)
	}
	rd, err := data.NewRowReader(in.path, data.LoadOptions{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, in.rename(err)
	}
	in.rd = &renamingReader{RowReader: rd, in: in}
	return in, nil
}

// countRows counts the rows of the input (data.CountRows).
func (in *inputData) countRows() (int, error) {
	n, err := data.CountRows(in.path, data.LoadOptions{})
	return n, in.rename(err)
}

// Close closes the reader and removes the copy of stdin.
func (in *inputData) Close() error {
	err := in.rd.Close()
	if in.tmp != "" {
		if rerr := os.RemoveAll(in.tmp); err == nil {
			err = rerr
		}
	}
	return err
}

// rename makes err name "stdin" instead of the temporary copy of it; nil
// stays nil, and errors.Is and errors.As still see the original.
func (in *inputData) rename(err error) error {
	if err == nil || in.tmp == "" {
		return err
	}
	return &renamedError{err: err, from: in.path, to: in.name}
}

// renamedError is err with the text from replaced by to in its message.
type renamedError struct {
	err      error
	from, to string
}

func (e *renamedError) Error() string { return strings.ReplaceAll(e.err.Error(), e.from, e.to) }
func (e *renamedError) Unwrap() error { return e.err }

// renamingReader renames the errors of a reader of the copy of stdin.
type renamingReader struct {
	data.RowReader
	in *inputData
}

func (r *renamingReader) Next(dst []float64, max int) (int, error) {
	n, err := r.RowReader.Next(dst, max)
	if errors.Is(err, io.EOF) {
		return n, err
	}
	return n, r.in.rename(err)
}
