// Package atomicfile writes files atomically: the content goes to a temporary
// file in the destination directory, is flushed to disk, and replaces the
// destination by a rename, so a reader sees either the old or the new file,
// never a partial one.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile creates or replaces the file at path with the bytes that write
// produces. The bytes go to a temporary file in the same directory (buffered),
// which is fsynced, given mode 0644, renamed over path, and then the directory
// is fsynced so the rename survives a crash.
//
// On any error (from write or from the file system) the temporary file is
// removed and an existing file at path is left untouched. The returned error
// names path and the failing step; an error from write is wrapped unchanged
// (errors.Is works on it).
func WriteFile(path string, write func(w io.Writer) error) (err error) {
	if write == nil {
		return fmt.Errorf("atomic write %s: nil write function", path)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomic write %s: create temporary file: %w", path, err)
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = os.Remove(tmpName)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err = write(bw); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("atomic write %s: flush: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("atomic write %s: chmod: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("atomic write %s: fsync: %w", path, err)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("atomic write %s: close: %w", path, err)
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("atomic write %s: rename: %w", path, err)
	}
	// The rename has happened; a failure to sync the directory is reported
	// but the new file is in place, so do not remove anything.
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		cerr := d.Close()
		if serr != nil {
			return fmt.Errorf("atomic write %s: fsync directory: %w", path, serr)
		}
		if cerr != nil {
			return fmt.Errorf("atomic write %s: close directory: %w", path, cerr)
		}
	}
	return nil
}
