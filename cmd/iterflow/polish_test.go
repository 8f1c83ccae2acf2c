package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/pipeline"
)

// runIn is run with stdin.
func runIn(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestFailedRowsNote(t *testing.T) {
	if got := failedRowsNote(1, 7); got != "1 row could not be scored (the ODE solve failed; row 7, counting from 0) and was written as NaN; it may lie far outside the training data" {
		t.Errorf("failedRowsNote(1) = %q", got)
	}
	if got := failedRowsNote(3, 2); got != "3 rows could not be scored (the ODE solve failed; first: row 2, counting from 0) and were written as NaN; they may lie far outside the training data" {
		t.Errorf("failedRowsNote(3) = %q", got)
	}
}

// Counts of one are singular in the messages of logprob and the progress lines.
func TestSingularMessages(t *testing.T) {
	r := &pipeline.RunDir{Model: fakeModel(2, []string{"a", "c"})}
	one := &data.Table{X: []float64{1, 2}, N: 2, D: 1, Names: []string{"x0"}}
	if _, err := selectColumns("f.csv", one, r, ""); err == nil || err.Error() != "f.csv has 1 column; the model expects 2 (columns: a, c)" {
		t.Errorf("width: %v", err)
	}
	two := &data.Table{X: []float64{1, 2}, N: 1, D: 2, Names: []string{"x0", "x1"}}
	if _, err := selectColumns("f.csv", two, r, "1"); err == nil || err.Error() != "f.csv: --columns 1 selects 1 column; the model expects 2 (columns: a, c)" {
		t.Errorf("--columns: %v", err)
	}
	var b bytes.Buffer
	p := &lineProgress{w: &b}
	p.StartBlock(0, 2, 1, "OU step")
	p.Step(0.5)
	p.EndBlock()
	c := &lineCounter{w: &b, every: time.Hour}
	c.Start("samples", 1)
	c.Add(1)
	c.Finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "block 1/2 (OU step): 1 step, loss 0.5000, ") || !strings.Contains(lines[0], " for 1 more block") ||
		!strings.HasPrefix(lines[1], "samples: 1/1 row in ") {
		t.Errorf("lines %q", lines)
	}
}

// -o naming a file that cannot be written fails at once, naming the path,
// before the run is even opened (so before any sample is drawn).
func TestOutputPathCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ out, want string }{
		{"/nonexistent-dir/x.csv", "-o /nonexistent-dir/x.csv: directory /nonexistent-dir does not exist; create it first"},
		{dir, "-o " + dir + ": unknown output format; give a name ending in .csv or .npy, or - for CSV on stdout"},
		{filepath.Join(writeFile(t, filepath.Join(dir, "f"), "x"), "x.npy"), "-o " + filepath.Join(dir, "f", "x.npy") + ": " + filepath.Join(dir, "f") + " is not a directory"},
	} {
		for _, cmd := range [][]string{
			{"sample", "/no/such/run", "-n", "5", "-o", tc.out},
			{"logprob", "/no/such/run", "/no/such/data.csv", "-o", tc.out},
		} {
			_, stderr, err := run(t, cmd...)
			if err == nil || err.Error() != tc.want {
				t.Errorf("%v: error %v, want %q", cmd, err, tc.want)
			}
			if stderr != "" {
				t.Errorf("%v: stderr %q", cmd, stderr)
			}
		}
	}
	csvDir := filepath.Join(dir, "out.csv")
	if err := os.Mkdir(csvDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkOutputPath(csvDir); err == nil || err.Error() != "-o "+csvDir+": is a directory; give a file name" {
		t.Errorf("directory: %v", err)
	}
	ok := filepath.Join(dir, "ok.csv")
	if err := checkOutputPath(ok); err != nil {
		t.Errorf("writable: %v", err)
	}
	if err := checkOutputPath("-"); err != nil {
		t.Errorf("stdout: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".ok.csv*")); len(left) != 0 {
		t.Errorf("check left files: %v", left)
	}
}

// serve --help names every endpoint the server routes and the /sample limit.
func TestServeHelpNamesEndpoints(t *testing.T) {
	out, _, err := run(t, "serve", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"POST /logprob", "POST /sample", "GET  /healthz", "GET  /info", "GET  /v1/model",
		"at most --max-samples", "default 10000", "in any order"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
}

func TestMaxRowsWarning(t *testing.T) {
	csv := writeFile(t, filepath.Join(t.TempDir(), "t.csv"), "a,b\n1,2\n")
	const tail = ": it subsamples the image datasets only (cifar10, fashion-mnist, mnist); all rows are used"
	for _, tc := range []struct {
		data    string
		maxRows int
		want    string
	}{
		{csv, 0, ""},
		{csv, 50, "warning: --max-rows 50 has no effect with --data " + csv + tail},
		{"mnist", 50, ""},
		{"fashion-mnist", 1, ""},
		{"white-wine", 50, "warning: --max-rows 50 has no effect with --data white-wine" + tail},
		{"rose", 5, "warning: --max-rows 5 has no effect with --data rose" + tail},
	} {
		if got := maxRowsWarning(tc.data, tc.maxRows); got != tc.want {
			t.Errorf("maxRowsWarning(%q, %d) = %q\nwant %q", tc.data, tc.maxRows, got, tc.want)
		}
	}
}

func TestHeaderIndex(t *testing.T) {
	for _, tc := range []struct {
		header []string
		name   string
		want   int
		err    string
	}{
		{[]string{"a", "b"}, "b", 1, ""},
		{[]string{"A", " b "}, "b", 1, ""},
		{[]string{"A", "b"}, "a", 0, ""},
		{[]string{"A", "a"}, "a", 1, ""}, // the exact match wins
		{[]string{"x", "y"}, "a", -1, ""},
		{[]string{"a", "a"}, "a", -1, `the header names the model's column "a" twice (columns 0 and 1, counting from 0)`},
		{[]string{"A", "x", "a "}, "A", 0, ""},
		{[]string{"Ab", "x", "aB"}, "ab", -1, `the header's columns 0 and 2 (counting from 0) both match the model's column "ab" ignoring case; rename one, or pick columns with --columns`},
	} {
		got, err := headerIndex(tc.header, tc.name)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("headerIndex(%q, %q) = %d, %v; want %d, %q", tc.header, tc.name, got, err, tc.want, tc.err)
		}
	}
}

// One trained run for the commands: logprob from stdin (CSV, NPY, a header
// in another order and case), the singular summary lines, --max-rows and
// the output path check with a real run.
func TestPolishWithRun(t *testing.T) {
	dir, rd, csvPath := trainTiny(t, "--max-rows", "50")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the copies of stdin go
	// logprob - reads stdin; the values equal those of the file.
	want, _, err := run(t, "logprob", rd, csvPath, "-o", "-", "-q")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	got, stderr, err := runIn(t, string(raw), "logprob", rd, "-", "-o", "-", "-q")
	if err != nil || got != want || stderr != "" {
		t.Fatalf("logprob - : err %v, stderr %q, %d bytes of output (want %d)", err, stderr, len(got), len(want))
	}
	// The model's columns a and c, given as "C" and "A" in another order:
	// the same values.
	tab, err := data.Load(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("C,b,A\n")
	for i := 0; i < tab.N; i++ {
		r := tab.Row(i)
		fmt.Fprintf(&b, "%s,%s,%s\n", ftoa(r[2]), ftoa(r[1]), ftoa(r[0]))
	}
	got, _, err = runIn(t, b.String(), "logprob", rd, "-", "-o", "-", "-q")
	if err != nil || got != want {
		t.Errorf("reordered, case-changed header: err %v, same output %v", err, got == want)
	}
	// NPY on stdin, the two columns of the model.
	ac := make([]float64, 0, 2*tab.N)
	for i := 0; i < tab.N; i++ {
		ac = append(ac, tab.Row(i)[0], tab.Row(i)[2])
	}
	var nb bytes.Buffer
	if err := writeNPY(&nb, ac, tab.N, 2, false); err != nil {
		t.Fatal(err)
	}
	got, _, err = runIn(t, nb.String(), "logprob", rd, "-", "-o", "-", "-q")
	if err != nil || got != want {
		t.Errorf("NPY on stdin: err %v, same output %v", err, got == want)
	}
	// Errors name stdin, never the temporary copy.
	_, _, err = runIn(t, "a,c\n1,2\n3,x\n", "logprob", rd, "-", "-o", "-", "-q")
	if err == nil || err.Error() != `load stdin: read csv: line 3, column 2 ("c"): cannot parse "x" as a number` {
		t.Errorf("bad cell on stdin: %v", err)
	}
	_, _, err = runIn(t, "", "logprob", rd, "-", "-o", "-", "-q")
	if err == nil || err.Error() != "load stdin: read csv: empty input: no rows" {
		t.Errorf("empty stdin: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "iterflow-stdin-*")); len(left) != 0 {
		t.Errorf("copies of stdin left behind: %v", left)
	}
	// Singular summary lines.
	_, stderr, err = runIn(t, "a,c\n0.1,0.2\n", "logprob", rd, "-", "-o", "-")
	if err != nil || !strings.Contains(stderr, " nats over 1 row (NLL ") {
		t.Errorf("logprob of one row: err %v, stderr %q", err, stderr)
	}
	_, stderr, err = run(t, "sample", rd, "-n", "1", "-o", filepath.Join(dir, "one.csv"))
	if err != nil || !strings.Contains(stderr, "wrote 1 sample × 2 columns to ") {
		t.Errorf("sample -n 1: err %v, stderr %q", err, stderr)
	}
	// A bad -o with a real run: refused before anything is drawn.
	_, stderr, err = run(t, "sample", rd, "-n", "5", "-o", "/nonexistent-dir/x.csv")
	if err == nil || err.Error() != "-o /nonexistent-dir/x.csv: directory /nonexistent-dir does not exist; create it first" || stderr != "" {
		t.Errorf("sample to a missing directory: err %v, stderr %q", err, stderr)
	}
}

// train warns when --max-rows cannot apply, and still trains.
func TestTrainWarnsMaxRows(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "t.csv")
	writeTable(t, csv, 100, []string{"a", "b"})
	_, stderr, err := run(t, "train", "--data", csv, "--max-rows", "10", "--hidden", "4", "--iters", "2", "--blocks", "1",
		"--batch-size", "32", "--samples", "10", "--out", filepath.Join(dir, "run"), "-q")
	want := "iterflow: warning: --max-rows 10 has no effect with --data " + csv + ": it subsamples the image datasets only"
	if err != nil || strings.Count(stderr, want) != 1 {
		t.Errorf("err %v, stderr %q, want one %q", err, stderr, want)
	}
}

// --threads above the CPU count warns once and still runs.
func TestThreadsAboveCPUsWarns(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	n := runtime.NumCPU()
	want := fmt.Sprintf("iterflow: warning: --threads %d exceeds the %s of this machine\n", n+62, wording.Plural(n, "CPU"))
	_, stderr, err := run(t, "--threads", strconv.Itoa(n+62), "datasets", "list")
	if err != nil || stderr != want {
		t.Errorf("--threads %d: err %v, stderr %q, want %q", n+62, err, stderr, want)
	}
	if runtime.GOMAXPROCS(0) != n+62 {
		t.Errorf("GOMAXPROCS %d, want %d", runtime.GOMAXPROCS(0), n+62)
	}
	t.Setenv(threadsEnv, strconv.Itoa(n+1))
	_, stderr, err = run(t, "datasets", "list")
	if want := fmt.Sprintf("iterflow: warning: $ITERFLOW_THREADS = %d exceeds the %s of this machine\n", n+1, wording.Plural(n, "CPU")); err != nil || stderr != want {
		t.Errorf("$%s: err %v, stderr %q, want %q", threadsEnv, err, stderr, want)
	}
	t.Setenv(threadsEnv, "")
	_, stderr, err = run(t, "--threads", strconv.Itoa(n), "datasets", "list")
	if err != nil || stderr != "" {
		t.Errorf("--threads %d: err %v, stderr %q", n, err, stderr)
	}
	root := newRootCmd()
	if got := threadsWarning(root, 64, 2); got != "warning: $ITERFLOW_THREADS = 64 exceeds the 2 CPUs of this machine" {
		t.Errorf("threadsWarning (variable) = %q", got)
	}
	if err := root.ParseFlags([]string{"--threads", "64"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		threads, ncpu int
		want          string
	}{
		{64, 2, "warning: --threads 64 exceeds the 2 CPUs of this machine"},
		{2, 1, "warning: --threads 2 exceeds the 1 CPU of this machine"},
		{2, 2, ""},
		{0, 2, ""},
	} {
		if got := threadsWarning(root, tc.threads, tc.ncpu); got != tc.want {
			t.Errorf("threadsWarning(%d, %d) = %q, want %q", tc.threads, tc.ncpu, got, tc.want)
		}
	}
}

// otcfm with the exact coupling leaves a core to the pairing ahead unless the
// user chose the BLAS threads; other methods and couplings keep the count.
func TestPairAheadBLASThreads(t *testing.T) {
	prev := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(prev)
	for _, env := range []string{blasThreadsEnv, "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"} {
		t.Setenv(env, "")
	}
	want := 2 // GOMAXPROCS − 1
	if nn.Backend() == "pure-go" {
		want = 0
	}
	cfg := pipeline.DefaultConfig()
	for _, tc := range []struct {
		method, coupling string
		want             int
	}{
		{"otcfm", "", want}, {"otcfm", "exact", want}, {"otcfm", "sinkhorn", 0}, {"cfm", "", 0}, {"lfm", "", 0},
	} {
		cfg.Method, cfg.FM.Coupling = tc.method, tc.coupling
		if got := pairAheadBLASThreads(newTrainCmd(), &cfg); got != tc.want {
			t.Errorf("%s/%q: %d BLAS threads, want %d", tc.method, tc.coupling, got, tc.want)
		}
	}
	cfg.Method, cfg.FM.Coupling = "otcfm", ""
	cmd := newRootCmd()
	if err := cmd.ParseFlags([]string{"--blas-threads", "2"}); err != nil {
		t.Fatal(err)
	}
	if got := pairAheadBLASThreads(cmd, &cfg); got != 0 {
		t.Errorf("--blas-threads given: %d, want 0", got)
	}
	t.Setenv("OPENBLAS_NUM_THREADS", "2")
	if got := pairAheadBLASThreads(newTrainCmd(), &cfg); got != 0 {
		t.Errorf("OPENBLAS_NUM_THREADS set: %d, want 0", got)
	}
	runtime.GOMAXPROCS(1)
	t.Setenv("OPENBLAS_NUM_THREADS", "")
	if got := pairAheadBLASThreads(newTrainCmd(), &cfg); got != 0 {
		t.Errorf("one core: %d, want 0", got)
	}
}

// A flag value that does not parse says what the flag wants, not Go's
// strconv text.
func TestFlagParseErrorsArePlain(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--seed", "-1"}, `invalid argument "-1" for "--seed" flag: want a whole number >= 0`},
		{[]string{"train", "--iters", "many"}, `invalid argument "many" for "--iters" flag: want a whole number`},
		{[]string{"train", "--lr", "fast"}, `invalid argument "fast" for "--lr" flag: want a number`},
		{[]string{"train", "--seed", "99999999999999999999999"}, `invalid argument "99999999999999999999999" for "--seed" flag: out of range`},
		{[]string{"train", "--no-such-flag"}, `unknown flag: --no-such-flag`},
	} {
		_, _, err := run(t, tc.args...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}
