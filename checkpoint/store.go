package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FileSum identifies the exact content of a checkpoint file: its name
// (relative to the checkpoint directory), size in bytes and SHA-256 (lower
// case hex). It is recorded in a checkpoint's metadata when the file is
// written and checked by Verify when it is read back.
type FileSum struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// WriteFileSum writes the bytes b to dir/name atomically (temporary file,
// fsync, rename, fsync of the directory; see WriteFileAtomic) and returns
// their FileSum. Errors name the file.
func WriteFileSum(dir, name string, b []byte) (FileSum, error) {
	if err := WriteFileAtomic(filepath.Join(dir, name), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return FileSum{}, err
	}
	h := sha256.Sum256(b)
	return FileSum{File: name, Size: int64(len(b)), SHA256: hex.EncodeToString(h[:])}, nil
}

// ReadVerified reads dir/s.File and checks it against s. Errors (exact
// texts, <file> the path):
//
//	checkpoint <file>: missing
//	checkpoint <file>: truncated (<n> of <size> bytes)
//	checkpoint <file>: <n> bytes, want <size> (corrupted)
//	checkpoint <file>: checksum mismatch (truncated or corrupted)
func ReadVerified(dir string, s FileSum) ([]byte, error) {
	path := filepath.Join(dir, s.File)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("checkpoint %s: missing", path)
	case err != nil:
		return nil, fmt.Errorf("checkpoint %s: %w", path, unwrapPath(err))
	case int64(len(b)) < s.Size:
		return nil, fmt.Errorf("checkpoint %s: truncated (%d of %d bytes)", path, len(b), s.Size)
	case int64(len(b)) > s.Size:
		return nil, fmt.Errorf("checkpoint %s: %d bytes, want %d (corrupted)", path, len(b), s.Size)
	}
	h := sha256.Sum256(b)
	if hex.EncodeToString(h[:]) != s.SHA256 {
		return nil, fmt.Errorf("checkpoint %s: checksum mismatch (truncated or corrupted)", path)
	}
	return b, nil
}

// FileSHA256 returns the SHA-256 (lower-case hex) of the file at path,
// read as a stream (it does not hold the file in memory). Errors: the
// open or read error.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
