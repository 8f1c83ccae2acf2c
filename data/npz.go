package data

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// ReadNPZ reads one array of a NumPy .npz archive (a zip file of .npy arrays,
// as written by numpy.savez or numpy.savez_compressed; stored or deflated
// entries) of size bytes into a table with ReadNPY's rules: a 2-D array is
// n×d, a 1-D array n×1.
//
// key is the array name without the ".npy" suffix (numpy's savez(f, x=…)
// stores "x.npy", read with key "x"). key "" selects the only array and is an
// error when the archive holds several, listing their keys. Columns are named
// "x0", "x1", …, except that the single column of a 1-D (or n×1) array is
// named by its key.
//
// Errors start with "read npz: " and report input that is not a zip archive,
// an archive with no .npy entry, a missing key (listing the keys), and the
// NPY reader's errors for the chosen entry prefixed by its key.
func ReadNPZ(r io.ReaderAt, size int64, key string) (*Table, error) {
	t, err := readNPZ(r, size, key)
	if err != nil {
		return nil, fmt.Errorf("read npz: %w", err)
	}
	return t, nil
}

func readNPZ(r io.ReaderAt, size int64, key string) (*Table, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a zip archive: %w", err)
	}
	entries := make(map[string]*zip.File)
	var keys []string
	for _, f := range zr.File {
		k, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if _, dup := entries[k]; dup {
			return nil, fmt.Errorf("archive holds %q twice", f.Name)
		}
		entries[k] = f
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return nil, errors.New("archive holds no .npy array")
	}
	if key == "" {
		if len(keys) > 1 {
			return nil, fmt.Errorf("archive holds %d arrays (keys %s); choose one with a key", len(keys), quoteKeys(keys))
		}
		key = keys[0]
	}
	f, ok := entries[key]
	if !ok {
		return nil, fmt.Errorf("no array with key %q (keys %s)", key, quoteKeys(keys))
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("array %q: %w", key, err)
	}
	defer rc.Close()
	t, err := ReadNPY(rc)
	if err != nil {
		return nil, fmt.Errorf("array %q: %w", key, err)
	}
	if t.D == 1 && len(t.X) == t.N {
		// Only a 1-D array or an (n, 1) one: name the column by the key.
		t.Names[0] = key
	}
	return t, nil
}

// quoteKeys quotes up to 12 keys for an error message.
func quoteKeys(keys []string) string {
	const maxShown = 12
	q := make([]string, 0, min(len(keys), maxShown)+1)
	for i, k := range keys {
		if i == maxShown {
			q = append(q, "… ("+strconv.Itoa(len(keys)-maxShown)+" more)")
			break
		}
		q = append(q, strconv.Quote(k))
	}
	return strings.Join(q, ", ")
}
