// Package checkpoint stores model weights as safetensors files and run
// metadata as JSON, with atomic writes and validated loading.
package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/iterflow/iterflow/internal/atomicfile"
)

// WriteFileAtomic creates or replaces the file at path with what write
// produces, atomically: the bytes go to a temporary file in the same
// directory, which is fsynced and renamed over path, and the directory is
// fsynced. On any error the temporary file is removed and an existing file at
// path is left untouched; an error from write is wrapped (errors.Is works).
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	return atomicfile.WriteFile(path, write)
}

// WriteJSON writes v as indented JSON (two spaces, trailing newline) to path,
// atomically (see WriteFileAtomic). It returns an error if v cannot be
// marshalled (the message names path) or the write fails.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write json %s: %w", path, err)
	}
	b = append(b, '\n')
	return WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// ReadJSON decodes the JSON file at path into v (a pointer), strictly: a field
// in the file that v does not have is an error naming the field
// (`json: unknown field "lr"`), and so is anything after the first JSON value.
// Errors start with "read json <path>: ".
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read json %s: %w", path, unwrapPath(err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("read json %s: empty file", path)
		}
		return fmt.Errorf("read json %s: %w", path, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("read json %s: trailing data after the JSON value ending at byte %d", path, end)
	}
	return nil
}

// unwrapPath drops the *fs.PathError layer (whose message repeats the path).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
