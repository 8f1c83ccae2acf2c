package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iterflow/iterflow/checkpoint"
)

// slowCancel cancels ctx after n training steps, sleeping pause per step,
// and measures the time from the first block's start to the cancellation:
// a lower bound of the interrupted process's training time.
type slowCancel struct {
	n, steps      int
	pause         time.Duration
	cancel        func()
	first, cancAt time.Time
}

func (c *slowCancel) StartBlock(int, int, int, string) {
	if c.first.IsZero() {
		c.first = time.Now()
	}
}
func (c *slowCancel) EndBlock() {}
func (c *slowCancel) Step(float64) {
	time.Sleep(c.pause)
	if c.steps++; c.steps == c.n {
		c.cancAt = time.Now()
		c.cancel()
	}
}

// resumeRecorder counts steps and records the Resume calls (method.ResumedProgress).
type resumeRecorder struct {
	steps   int
	resumes []int
}

func (r *resumeRecorder) StartBlock(int, int, int, string) {}
func (r *resumeRecorder) EndBlock()                        {}
func (r *resumeRecorder) Step(float64)                     { r.steps++ }
func (r *resumeRecorder) Resume(step int)                  { r.resumes = append(r.resumes, step) }

// The training time of a resumed run is the sum over its processes: the
// checkpoint saved at the interruption holds the first process's time, and
// metrics.json and the report give at least that after the resume. The
// resumed block's progress is told where it starts.
func TestResumedTrainSecondsSumProcesses(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := &slowCancel{n: 42, pause: 10 * time.Millisecond, cancel: cancel}
	if _, err := Run(ctx, resumeConfig(out), Options{Progress: sc, CheckpointEvery: 5}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want an interruption", err)
	}
	before := sc.cancAt.Sub(sc.first).Seconds()
	if before < 0.4 {
		t.Fatalf("the interrupted process trained %.3f s, want ≥ 0.4 s (42 steps × 10 ms)", before)
	}
	ckdir := filepath.Join(PartialDir(out), checkpointSubdir)
	var meta CheckpointMeta
	if err := checkpoint.ReadJSON(filepath.Join(ckdir, stateFile), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Version != 1 || meta.Block != 1 || meta.Step != 12 || meta.TrainSeconds < before {
		t.Fatalf("state.json: version %d, block %d, step %d, train_seconds %g; want 1, 1, 12, ≥ %g", meta.Version, meta.Block, meta.Step, meta.TrainSeconds, before)
	}
	cfg, err := LoadResumeConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rec := &resumeRecorder{}
	res, err := Run(context.Background(), cfg, Options{Resume: true, Log: &log, Progress: rec})
	if err != nil {
		t.Fatal(err)
	}
	if rec.steps != 90-42 || len(rec.resumes) != 1 || rec.resumes[0] != 12 {
		t.Errorf("resumed progress: %d steps, Resume calls %v; want 48 steps and [12]", rec.steps, rec.resumes)
	}
	if want := fmt.Sprintf("resuming %s from block 2, step 12 (learning-rate factor 1)\n", out); !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}
	if !strings.Contains(log.String(), ", summed over the processes of this resumed run\n") {
		t.Errorf("log does not say the training time is summed:\n%s", log.String())
	}
	if res.Metrics.TrainSeconds < before || !res.Metrics.Resumed {
		t.Errorf("metrics: train_seconds %g, resumed %v; want ≥ %g (the time before the interrupt) and true", res.Metrics.TrainSeconds, res.Metrics.Resumed, before)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mj struct {
		TrainSeconds float64 `json:"train_seconds"`
		Resumed      bool    `json:"resumed"`
	}
	if err := json.Unmarshal(b, &mj); err != nil || mj.TrainSeconds != res.Metrics.TrainSeconds || !mj.Resumed {
		t.Errorf("metrics.json: %+v (%v), want train_seconds %g, resumed", mj, err, res.Metrics.TrainSeconds)
	}
	rep, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if want := fmt.Sprintf("Train time %.1f s (summed over the processes of this resumed run), ", res.Metrics.TrainSeconds); !strings.Contains(string(rep), want) {
		t.Errorf("report.md lacks %q", want)
	}
}

// A checkpoint written before train_seconds existed reads as 0 seconds.
func TestCheckpointWithoutTrainSecondsReadsZero(t *testing.T) {
	var meta CheckpointMeta
	if err := json.Unmarshal([]byte(`{"version":1,"method":"lfm","config_sha256":"ab","block":1,"step":5,"lr_scale":1,"rollbacks":0,"state":{"file":"x","size":1,"sha256":"cd"}}`), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.TrainSeconds != 0 || meta.Block != 1 || meta.Step != 5 {
		t.Fatalf("got %+v", meta)
	}
	c := &checkpointer{before: meta.TrainSeconds}
	if s := c.trainSeconds(); s != 0 {
		t.Fatalf("trainSeconds before training: %g, want 0", s)
	}
	c.before, c.start = 2.5, time.Now().Add(-time.Second)
	if s := c.trainSeconds(); s < 3.5 || s > 60 {
		t.Fatalf("trainSeconds: %g, want 2.5 + about 1", s)
	}
}

func TestBatchWarning(t *testing.T) {
	for _, tc := range []struct {
		batch, n int
		want     string
	}{
		{100000, 320, "batch size 100000 exceeds the 320 training rows; each batch repeats rows (a batch of at most 320 trains as well and faster)"},
		{320, 320, ""},
		{64, 320, ""},
	} {
		if got := batchWarning(tc.batch, tc.n); got != tc.want {
			t.Errorf("batchWarning(%d, %d) = %q, want %q", tc.batch, tc.n, got, tc.want)
		}
	}
}

// A batch larger than the training split is trained, with a warning in the
// log, metrics.json's data warnings and the report.
func TestBatchLargerThanTrainingRowsWarns(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	cfg := resumeConfig(out)
	cfg.ToySamples, cfg.LFM.Blocks, cfg.Train.Iters, cfg.Train.BatchSize = 200, 1, 3, 100000
	probe := cfg
	sp, err := PrepareSplits(&probe)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("batch size 100000 exceeds the %d training rows; each batch repeats rows (a batch of at most %d trains as well and faster)", sp.Train.N, sp.Train.N)
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), want+"\n") {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}
	if w := res.Metrics.DataWarnings; len(w) != 1 || w[0] != want {
		t.Errorf("data warnings %q, want [%q]", w, want)
	}
	rep, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(rep), "Note: "+want+".\n") {
		t.Errorf("report.md lacks the note %q", want)
	}
}

// An interrupted run of a method that does not resume says so and leaves
// nothing behind.
func TestInterruptOfNonResumableMethod(t *testing.T) {
	for _, tc := range []struct {
		method string
		reflow int
		want   string
	}{
		{"jko", 0, "jko"},
		{"rf", 1, "rf"},
	} {
		out := filepath.Join(t.TempDir(), "run")
		cfg := resumeConfig(out)
		cfg.Method = tc.method
		cfg.FM.Reflow = tc.reflow
		cfg.JKO.MaxBlocks = 2
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Run(ctx, cfg, Options{Progress: &cancelAfter{n: 3, cancel: cancel}})
		cancel()
		var nr *NotResumableError
		if !errors.As(err, &nr) || !errors.Is(err, context.Canceled) || nr.Method != tc.want {
			t.Errorf("%s: got %v, want a *NotResumableError for %q wrapping the interruption", tc.method, err, tc.want)
			continue
		}
		if !strings.HasSuffix(err.Error(), fmt.Sprintf(" (%s runs do not resume: start it again)", tc.want)) {
			t.Errorf("%s: message %q", tc.method, err)
		}
		if _, err := os.Stat(PartialDir(out)); !os.IsNotExist(err) {
			t.Errorf("%s: the partial directory is left: %v", tc.method, err)
		}
	}
}

// A resumed flow-matching block (cfm: one block) tells the progress where it
// resumes.
func TestResumedFMBlockTellsProgress(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	cfg := resumeConfig(out)
	cfg.Method = "cfm"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := Run(ctx, cfg, Options{Progress: &cancelAfter{n: 12, cancel: cancel}, CheckpointEvery: 5}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want an interruption", err)
	}
	saved, err := LoadResumeConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	rec := &resumeRecorder{}
	if _, err := Run(context.Background(), saved, Options{Resume: true, Progress: rec}); err != nil {
		t.Fatal(err)
	}
	if rec.steps != 30-12 || len(rec.resumes) != 1 || rec.resumes[0] != 12 {
		t.Errorf("resumed progress: %d steps, Resume calls %v; want 18 steps and [12]", rec.steps, rec.resumes)
	}
}

// Resuming with other thread counts than the interrupted process used is
// allowed, with one warning; the same counts, or a checkpoint that did not
// record them, give none.
func TestResumeThreadsWarning(t *testing.T) {
	meta := &CheckpointMeta{Threads: 2, BLASThreads: 2}
	want := "warning: resuming with GOMAXPROCS 1 and 1 BLAS thread per matrix product; the run was interrupted with 2 and 2: " +
		"the result can differ in the last bits from an uninterrupted run (--threads and --blas-threads set them)"
	if got := threadsWarning(meta, 1, 1); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := threadsWarning(meta, 2, 2); got != "" {
		t.Errorf("same counts: %q", got)
	}
	if got := threadsWarning(&CheckpointMeta{}, 1, 1); got != "" {
		t.Errorf("not recorded: %q", got)
	}
}
