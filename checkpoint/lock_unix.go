//go:build unix

package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// AcquireLock takes the exclusive lock of the file at path (created if
// needed; flock(2), so a lock of a process that died, even by SIGKILL, is
// released by the kernel and a stale lock file is simply reused) and writes
// the current process id into it. When another process holds the lock it
// returns a *ErrLocked naming that process's id. Other errors name path.
func AcquireLock(path string) (*Lock, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, unwrapPath(err))
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, &ErrLocked{Path: path, PID: readPID(path)}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The holder may have removed the file between our open and flock:
		// then we locked an orphaned inode; try again on the current file.
		var a, b unix.Stat_t
		if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(path, &b) != nil || a.Ino != b.Ino || a.Dev != b.Dev {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{path: path, f: f}, nil
	}
}

// Release removes the lock file and releases the lock. It is safe to call on
// a nil Lock and more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	rerr := os.Remove(l.path)
	cerr := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	if rerr != nil {
		return fmt.Errorf("unlock %s: %w", l.path, unwrapPath(rerr))
	}
	return cerr
}
