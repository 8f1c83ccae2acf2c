package checkpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Lock is an exclusive lock on a run, held by one process: a lock file that
// holds the owner's process id. Release it when done.
type Lock struct {
	path string
	f    *os.File
}

// ErrLocked is returned (wrapped) by AcquireLock when another live process
// holds the lock; PID is that process (0 when unknown).
type ErrLocked struct {
	Path string
	PID  int
}

func (e *ErrLocked) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("lock %s is held by process %d", e.Path, e.PID)
	}
	return fmt.Sprintf("lock %s is held by another process", e.Path)
}

// readPID returns the process id recorded in the lock file at path (0 when
// unreadable).
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
