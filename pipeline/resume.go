package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/iterflow/iterflow/checkpoint"
	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/nn"
)

// Resumable training (iterflow issues 5 and 7). While a run trains, its files
// live in the hidden sibling directory PartialDir(out); its checkpoint
// subdirectory holds the resolved config (config.yaml), the trainer's state
// (train-<block>-<step>.gob, written atomically) and state.json, which names
// the state file with its size and SHA-256. The run directory appears only
// when the run finished; an interrupted or diverged run keeps PartialDir and
// is continued by Options.Resume.

// checkpointSubdir is the checkpoint directory inside the partial directory.
const checkpointSubdir = "checkpoint"

// stateFile is the checkpoint's metadata file.
const stateFile = "state.json"

// DefaultCheckpointEvery is the default number of steps between mid-block
// checkpoints (--checkpoint-every).
const DefaultCheckpointEvery = 200

// PartialDir returns the directory in which the run with directory out is
// trained: ".<base>.partial" beside out.
func PartialDir(out string) string {
	return filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
}

// LockPath returns the lock file of the run with directory out:
// ".<base>.lock" beside out.
func LockPath(out string) string {
	return filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".lock")
}

// CheckpointMeta is the content of state.json: where training stood at the
// last checkpoint and the file holding the trainer's state.
type CheckpointMeta struct {
	// Version is the format version (1).
	Version int `json:"version"`
	// Method and ConfigSHA256 (of the resolved config's YAML) identify the run.
	Method       string `json:"method"`
	ConfigSHA256 string `json:"config_sha256"`
	// Block is the 0-based block in progress (the number of finished
	// blocks) and Step the steps done in it.
	Block int `json:"block"`
	Step  int `json:"step"`
	// LRScale is the learning-rate factor of rollbacks so far (1: none) and
	// Rollbacks their number.
	LRScale   float64 `json:"lr_scale"`
	Rollbacks int     `json:"rollbacks"`
	// TrainSeconds is the training time up to this checkpoint, in seconds,
	// summed over every process that trained the run (the earlier ones'
	// saved amount plus this process's time since its training started).
	// Optional: a checkpoint written without it reads as 0.
	TrainSeconds float64 `json:"train_seconds,omitempty"`
	// Threads and BLASThreads are GOMAXPROCS and the BLAS threads per
	// matrix product of the process that wrote the checkpoint (optional:
	// 0 when not recorded). A resume with other counts still works, but its
	// result may differ in the last bits from an uninterrupted run.
	Threads     int `json:"threads,omitempty"`
	BLASThreads int `json:"blas_threads,omitempty"`
	// DataSHA256 is the SHA-256 of the data file, recorded when the run
	// started (hex; empty for built-in and generated data, and in
	// checkpoints written before it existed). It lets a resume find the file
	// at a new path (CheckMovedData).
	DataSHA256 string `json:"data_sha256,omitempty"`
	// State is the gob-encoded method.TrainState.
	State checkpoint.FileSum `json:"state"`
}

// ResumableMethod reports whether --resume supports the method: lfm, cfm and
// otcfm. jko, mle and rf (whose reflow rounds are not checkpointed) are not
// resumable; their interrupted runs leave nothing behind.
func ResumableMethod(m string) bool {
	switch m {
	case "", "lfm", "cfm", "otcfm":
		return true
	}
	return false
}

// configHash returns the SHA-256 of the config's YAML text.
func configHash(cfg *Config) (string, error) {
	b, err := cfg.YAML()
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// checkpointer writes the trainer's states into dir (method.Checkpointing's
// Save) and remembers the last one written.
type checkpointer struct {
	dir  string
	meta CheckpointMeta
	// saved is set once a state was written by this process.
	saved bool
	// before is the training time (seconds) of the earlier processes of
	// a resumed run and start the time this process started training; each
	// save records before + the time since start as meta.TrainSeconds.
	before float64
	start  time.Time
}

// trainSeconds returns the run's training time so far: the earlier
// processes' seconds plus those since this process started training.
func (c *checkpointer) trainSeconds() float64 {
	if c.start.IsZero() {
		return c.before
	}
	return c.before + time.Since(c.start).Seconds()
}

// save writes st: the state file first, then state.json naming it, then
// removes the previous state file, so that a crash at any point leaves a
// state.json whose file is complete.
func (c *checkpointer) save(st *method.TrainState) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	name := fmt.Sprintf("train-%d-%d.gob", st.Block, st.Step)
	sum, err := checkpoint.WriteFileSum(c.dir, name, buf.Bytes())
	if err != nil {
		return err
	}
	old := c.meta.State.File
	c.meta.State, c.meta.Block, c.meta.Step = sum, st.Block, st.Step
	c.meta.TrainSeconds = c.trainSeconds()
	c.meta.Threads, c.meta.BLASThreads = runtime.GOMAXPROCS(0), nn.BLASThreads()
	if err := checkpoint.WriteJSON(filepath.Join(c.dir, stateFile), &c.meta); err != nil {
		return err
	}
	if old != "" && old != name {
		_ = os.Remove(filepath.Join(c.dir, old))
	}
	c.saved = true
	return nil
}

// loadCheckpoint reads and verifies the checkpoint in dir. Errors name the
// file: a missing state.json ("no checkpoint"), invalid JSON, a missing,
// truncated or corrupted state file (see checkpoint.ReadVerified).
func loadCheckpoint(dir string) (*CheckpointMeta, *method.TrainState, error) {
	path := filepath.Join(dir, stateFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("checkpoint %s: missing (the run was interrupted before its first checkpoint)", path)
	}
	var meta CheckpointMeta
	if err := checkpoint.ReadJSON(path, &meta); err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	if meta.Version != 1 {
		return nil, nil, fmt.Errorf("checkpoint %s: format version %d, want 1", path, meta.Version)
	}
	b, err := checkpoint.ReadVerified(dir, meta.State)
	if err != nil {
		return nil, nil, err
	}
	var st method.TrainState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", filepath.Join(dir, meta.State.File), err)
	}
	if st.Block != meta.Block || st.Step != meta.Step {
		return nil, nil, fmt.Errorf("checkpoint %s: holds block %d, step %d; state.json says block %d, step %d",
			filepath.Join(dir, meta.State.File), st.Block, st.Step, meta.Block, meta.Step)
	}
	return &meta, &st, nil
}

// LoadResumeConfig returns the resolved config saved by the interrupted run
// whose run directory is out. Errors: no interrupted run there ("run OUT:
// nothing to resume: ..."), an unreadable config.
func LoadResumeConfig(out string) (Config, error) {
	dir := filepath.Join(PartialDir(out), checkpointSubdir)
	path := filepath.Join(dir, "config.yaml")
	if _, err := os.Stat(path); err != nil {
		if _, e2 := os.Stat(filepath.Join(out, "model.json")); e2 == nil {
			return Config{}, fmt.Errorf("run %s: nothing to resume: the run is finished", out)
		}
		return Config{}, fmt.Errorf("run %s: nothing to resume: no interrupted run (%s not found)", out, path)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return Config{}, fmt.Errorf("run %s: %w", out, err)
	}
	return cfg, nil
}

// StoppedError reports a resumable run that stopped before it finished: it
// was interrupted (Err wraps context.Canceled) or diverged (Err wraps a
// *method.DivergedError). The checkpoint is kept in Partial; the message
// ends with the command that resumes the run.
type StoppedError struct {
	// Out is the run directory and Partial the directory with the checkpoint.
	Out, Partial string
	// Block (1-based) and Step (steps done in it) of the last checkpoint.
	Block, Step int
	// After names what the run was doing when interrupted after training had
	// finished ("evaluating the test NLL", "fitting the baselines",
	// "sampling"); "" while training. The checkpoint then holds every
	// trained block, and resuming does not train again.
	After string
	// Diverged is set for a divergence; Err is the cause.
	Diverged bool
	Err      error
}

func (e *StoppedError) Error() string {
	if e.Diverged {
		var de *method.DivergedError
		errors.As(e.Err, &de)
		return fmt.Sprintf("block %d, step %d: loss is %g; the last good checkpoint (block %d, step %d) is kept in %s; "+
			"resume with: iterflow train --resume %s --on-diverge rollback (rolls back and lowers the learning rate)",
			de.Block+1, de.Step+1, de.Loss, e.Block, e.Step, e.Partial, e.Out)
	}
	if e.After != "" {
		return fmt.Sprintf("interrupted while %s, after training finished (every block is saved; resuming does not train again); resume with: iterflow train --resume %s", e.After, e.Out)
	}
	return fmt.Sprintf("interrupted at block %d, step %d; resume with: iterflow train --resume %s", e.Block, e.Step, e.Out)
}

// Unwrap returns the cause.
func (e *StoppedError) Unwrap() error { return e.Err }

// removeStale deletes what a killed process may have left in the checkpoint
// directory dir: temporary files and state files other than keep.
func removeStale(dir, keep string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		if n == keep || n == stateFile || n == "config.yaml" {
			continue
		}
		_ = os.Remove(filepath.Join(dir, n))
	}
}

// NotResumableError reports that a run of a method that cannot be resumed
// (jko, mle, rf; see ResumableMethod) was interrupted: nothing was written,
// and the run must be started again. It unwraps to the cause, so
// errors.Is(err, context.Canceled) holds.
type NotResumableError struct {
	// Method is the run's method ("jko", "mle" or "rf").
	Method string
	Err    error
}

func (e *NotResumableError) Error() string {
	return fmt.Sprintf("%v (%s runs do not resume: start it again)", e.Err, e.Method)
}

// Unwrap returns the cause.
func (e *NotResumableError) Unwrap() error { return e.Err }

// threadsWarning returns the log line for resuming with thread counts other
// than those of the process that wrote meta ("" when they match or were not
// recorded): training is bitwise reproducible only for the same counts.
func threadsWarning(meta *CheckpointMeta, threads, blas int) string {
	if meta.Threads == 0 || meta.Threads == threads && meta.BLASThreads == blas {
		return ""
	}
	return fmt.Sprintf("warning: resuming with GOMAXPROCS %d and %s per matrix product; the run was interrupted with %d and %d: "+
		"the result can differ in the last bits from an uninterrupted run (--threads and --blas-threads set them)",
		threads, wording.Plural(blas, "BLAS thread"), meta.Threads, meta.BLASThreads)
}

// dataFileSHA256 returns the hex SHA-256 of the data file at path, or "" when
// path is not a regular file (a built-in or generated dataset) or cannot be
// read (the run then fails on loading it anyway).
func dataFileSHA256(path string) string {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	sum, err := checkpoint.FileSHA256(path)
	if err != nil {
		return ""
	}
	return sum
}

// CheckMovedData checks that path holds the data file of the interrupted run
// in out, moved: its SHA-256 must equal the one the run recorded when it
// started. Errors: no interrupted run, a checkpoint without a recorded
// checksum (written by an older version, or of built-in data), another
// file ("… is not the interrupted run's data: SHA-256 …").
func CheckMovedData(out, path string) error {
	meta, _, err := loadCheckpoint(filepath.Join(PartialDir(out), checkpointSubdir))
	if err != nil {
		return fmt.Errorf("resume %s: %w", out, err)
	}
	if meta.DataSHA256 == "" {
		return fmt.Errorf("resume %s: the interrupted run recorded no checksum of its data, so --data cannot be checked; put the file back at its old path", out)
	}
	got := dataFileSHA256(path)
	if got == "" {
		return fmt.Errorf("resume %s: --data %s is not a readable file", out, path)
	}
	if got != meta.DataSHA256 {
		return fmt.Errorf("resume %s: --data %s is not the interrupted run's data: SHA-256 %s…, the run started with %s…", out, path, got[:12], meta.DataSHA256[:12])
	}
	return nil
}
