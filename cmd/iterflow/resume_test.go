package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A training process killed with SIGKILL in the middle of a block is resumed
// with --resume and ends with bitwise the same model as an uninterrupted run;
// a second process on a run in use refuses.
func TestKillResumeBitwise(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "iterflow")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	flags := []string{"train", "-q", "--data", "moons", "--toy-samples", "1500", "--blocks", "3", "--iters", "400",
		"--batch-size", "64", "--hidden", "16,16", "--checkpoint-every", "10", "--samples", "100", "--eval-solver", "rk4", "--eval-steps", "4"}
	run := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, append(append([]string{}, flags...), args...)...)
		c.Dir = dir
		c.Env = append(os.Environ(), "GOMAXPROCS=2")
		return c
	}
	if out, err := run("--out", "ref").CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	killed := run("--out", "run")
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, ".run.partial", "checkpoint", "state.json")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var meta struct{ Block, Step int }
		if b, err := os.ReadFile(state); err == nil && json.Unmarshal(b, &meta) == nil && meta.Block == 1 && meta.Step > 0 {
			break
		}
		if time.Now().After(deadline) {
			killed.Process.Kill()
			t.Fatal("no mid-block checkpoint within 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// While it runs, a second process on the same run refuses.
	var stderr bytes.Buffer
	second := run("--resume", "run")
	second.Stderr = &stderr
	err := second.Run()
	want := fmt.Sprintf("iterflow: run run is in use by process %d (lock file .run.lock)\n", killed.Process.Pid)
	if err == nil || stderr.String() != want {
		t.Errorf("second process: %v, stderr %q, want %q", err, stderr.String(), want)
	}
	if err := killed.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	killed.Wait()
	if _, err := os.Stat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Fatal("the killed run published its run directory")
	}
	// Flags that change the training are refused with --resume.
	out, err := exec.Command(bin, "train", "--resume", filepath.Join(dir, "run"), "--lr", "0.5", "--seed", "3").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--resume: --lr, --seed would change the training of the interrupted run") {
		t.Errorf("--resume with --lr: %v\n%s", err, out)
	}
	c := exec.Command(bin, "train", "-q", "--resume", "run")
	c.Dir = dir
	c.Env = append(os.Environ(), "GOMAXPROCS=2")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "ref", "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(dir, "run", "model.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("the resumed run's model.safetensors differs from the uninterrupted run's")
	}
}
