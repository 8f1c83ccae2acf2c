//go:build !unix

package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// AcquireLock creates the lock file at path exclusively and writes the
// current process id into it. When the file exists it returns a *ErrLocked
// naming the recorded process id (on this platform a lock left by a killed
// process must be removed by hand). Other errors name path.
func AcquireLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, &ErrLocked{Path: path, PID: readPID(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, unwrapPath(err))
	}
	if _, err := f.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{path: path, f: f}, nil
}

// Release closes and removes the lock file. It is safe to call on a nil Lock
// and more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	cerr := l.f.Close()
	l.f = nil
	if err := os.Remove(l.path); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, unwrapPath(err))
	}
	return cerr
}
