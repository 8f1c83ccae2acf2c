package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/pipeline"
	"github.com/spf13/pflag"
)

func TestUnusedMethodFlags(t *testing.T) {
	parse := func(args ...string) *pflag.FlagSet {
		t.Helper()
		fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
		var c pipeline.Config
		var configPath, hidden, gammas, jkoSteps string
		bindTrainFlags(fs, &c, &configPath, &hidden, &gammas, &jkoSteps)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	for _, c := range []struct {
		method string
		args   []string
		want   []string
	}{
		{"cfm", []string{"--blocks", "3", "--iters", "5", "--ot-batch", "local"},
			[]string{"warning: --blocks has no effect with --method cfm (it applies to lfm)"}},
		{"lfm", []string{"--ot-batch", "local", "--blocks", "3", "--time-dist", "uniform"},
			[]string{"warning: --ot-batch has no effect with --method lfm (it applies to cfm, otcfm, rf)"}},
		{"otcfm", []string{"--reflow", "2", "--h0", "0.1", "--coupling", "sinkhorn"},
			[]string{"warning: --reflow has no effect with --method otcfm (it applies to rf)",
				"warning: --h0 has no effect with --method otcfm (it applies to jko)"}},
		{"jko", []string{"--h0", "0.1", "--kinetic", "0.01"},
			[]string{"warning: --kinetic has no effect with --method jko (it applies to mle)"}},
		{"mle", []string{"--mle-blocks", "2", "--hidden", "8,8"}, nil},
		{"lfm", []string{"--gammas", "0.1,0.2", "--blocks", "5"},
			[]string{"warning: --blocks has no effect with --gammas (the explicit steps decide)"}},
		{"jko", []string{"--jko-steps", "0.1,0.2", "--h0", "0.3", "--max-blocks", "4"},
			[]string{"warning: --h0 has no effect with --jko-steps (the explicit steps decide)",
				"warning: --max-blocks has no effect with --jko-steps (the explicit steps decide)"}},
	} {
		got := unusedMethodFlags(parse(c.args...), c.method)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %v:\n got  %q\n want %q", c.method, c.args, got, c.want)
		}
	}
	// Every flag in the table is a real train flag.
	fs := parse()
	for name := range methodFlags {
		if fs.Lookup(name) == nil {
			t.Errorf("methodFlags names %q, which is not a train flag", name)
		}
	}
	for over, moot := range overridingFlags {
		for _, name := range append([]string{over}, moot...) {
			if fs.Lookup(name) == nil {
				t.Errorf("overridingFlags names %q, which is not a train flag", name)
			}
		}
	}
}

func TestTrainWarnsAboutUnusedFlag(t *testing.T) {
	out := t.TempDir() + "/run"
	_, stderr, err := run(t, "train", "--method", "cfm", "--data", "moons", "--toy-samples", "300", "--hidden", "8",
		"--iters", "3", "--batch-size", "32", "--samples", "10", "--blocks", "3", "--out", out, "-q")
	if err != nil {
		t.Fatal(err)
	}
	if want := "iterflow: warning: --blocks has no effect with --method cfm (it applies to lfm)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
}
