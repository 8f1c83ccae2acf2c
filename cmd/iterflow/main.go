// Command iterflow trains flow-based generative models block by block (Local
// Flow Matching and JKO-iFlow), evaluates exact log-likelihoods and writes a
// run report.
//
// Usage:
//
//	iterflow train                       # LFM on the built-in digits
//	iterflow train --data FILE.csv --columns 0-10
//	iterflow train --config run.yaml
//	iterflow sample RUN -n 1000 -o samples.csv
//	iterflow logprob RUN DATA.csv -o logp.csv
//	iterflow evaluate RUN --split test
//	iterflow plot RUN
//	iterflow serve RUN --addr 127.0.0.1:8080
//	iterflow completion bash             # shell completion script
//
// Global flags: --quiet (no progress or info lines; errors are still
// printed) and --json (a machine-readable result on stdout).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/pipeline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ensureBLASCore()
	// SIGINT, SIGTERM and SIGHUP cancel the context: training stops at the next
	// step boundary, and the exit status is 128 + the signal. A resumable run
	// (lfm, cfm, otcfm) saves a checkpoint there and says how to resume it;
	// other runs leave nothing half-written.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	var got os.Signal
	go func() {
		got = <-sigs
		cancel()
	}()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	signal.Stop(sigs)
	if err != nil {
		var se *pipeline.StoppedError
		if errors.As(err, &se) {
			// A resumable run kept its checkpoint; the message says how to resume.
			fmt.Fprintln(os.Stderr, "iterflow:", err)
			if !se.Diverged {
				os.Exit(exitCode(got))
			}
			os.Exit(1)
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, interruptedMessage(err))
			os.Exit(exitCode(got))
		}
		fmt.Fprintln(os.Stderr, "iterflow:", err)
		os.Exit(1)
	}
}

// interruptedMessage is the line printed for a command interrupted before it
// wrote anything (err wraps context.Canceled): for a run of a method that
// does not resume (a *pipeline.NotResumableError) it names the method and
// says to start the run again.
func interruptedMessage(err error) string {
	var nr *pipeline.NotResumableError
	if errors.As(err, &nr) {
		return fmt.Sprintf("iterflow: interrupted; nothing was written (%s runs do not resume: start it again)", nr.Method)
	}
	return "iterflow: interrupted; nothing was written"
}

// exitCode is 128 + the number of the signal that interrupted the command
// (130 for SIGINT or none).
func exitCode(sig os.Signal) int {
	switch sig {
	case syscall.SIGTERM:
		return 143
	case syscall.SIGHUP:
		return 129
	}
	return 130
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "iterflow",
		Short: "Flow-based generative models as iterative algorithms in probability space",
		Long: `iterflow learns a probability density from samples with block-wise continuous normalizing flows
(Local Flow Matching, JKO-iFlow), evaluates exact log-likelihoods and draws samples.

A run directory (RUN), written by "iterflow train", holds the model, its config, metrics and plots;
sample, logprob, evaluate and plot work on it. Progress bars with ETA go to stderr (plain lines with
ETA when stderr is not a terminal); results go to stdout.

Shell completion: "iterflow completion bash|zsh|fish|powershell" prints a completion script (see
"iterflow completion bash --help" for how to load it); RUN arguments complete directory names.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	pf := root.PersistentFlags()
	pf.BoolP("quiet", "q", false, "print no progress or info lines (errors are still printed; results still go to stdout)")
	pf.Bool("json", false, "print the command's result as JSON on stdout, for scripts")
	bindThreadFlags(root)
	root.PersistentPreRunE = setupThreads
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return plainFlagError(err) })
	root.AddCommand(newTrainCmd(), newSampleCmd(), newLogProbCmd(), newEvaluateCmd(), newPlotCmd(), newServeCmd(), newDatasetsCmd())
	return root
}

// plainFlagError rewrites pflag's parse errors, which end in Go's strconv
// text (`invalid argument "-1" for "--seed" flag: strconv.ParseUint:
// parsing "-1": invalid syntax`), into what the flag wants (`invalid argument
// "-1" for "--seed" flag: want a whole number >= 0`). Other errors pass.
func plainFlagError(err error) error {
	msg := err.Error()
	i := strings.Index(msg, "strconv.Parse")
	if i < 0 {
		return err
	}
	want := "want a number"
	switch {
	case strings.HasPrefix(msg[i:], "strconv.ParseUint"):
		want = "want a whole number >= 0"
	case strings.HasPrefix(msg[i:], "strconv.ParseInt"):
		want = "want a whole number"
	case strings.HasPrefix(msg[i:], "strconv.ParseBool"):
		want = "want true or false"
	}
	if strings.HasSuffix(msg, "value out of range") {
		want = "out of range"
	}
	return errors.New(msg[:i] + want)
}
