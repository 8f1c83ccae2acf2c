package main

import (
	"context"
	"fmt"
	"os"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/pipeline"
)

// runTrain runs the training job. In a binary built with -tags mpi and
// launched by mpirun it joins the MPI job (dist.Init) and trains
// data-parallel over its ranks: rank 0 logs, writes the run directory and
// returns its Result; the other ranks log nothing and return a Result with
// an empty Dir, which the caller does not print. An error on one rank of a
// job of several aborts all of them (MPI_Abort, exit status 1) after
// printing it, since the others would wait for it forever. In the default
// pure-Go build it is pipeline.Run.
func runTrain(ctx context.Context, cfg pipeline.Config, opt pipeline.Options) (*pipeline.Result, error) {
	if !dist.Enabled {
		return pipeline.Run(ctx, cfg, opt)
	}
	comm, err := dist.Init()
	if err != nil {
		return nil, err
	}
	if comm.Size() == 1 {
		res, err := pipeline.Run(ctx, cfg, opt)
		if ferr := dist.Finalize(); err == nil && ferr != nil {
			return nil, ferr
		}
		return res, err
	}
	opt.Comm = comm
	if comm.Rank() != 0 {
		opt.Log, opt.Progress, opt.Counter = nil, nil, nil
	}
	res, err := pipeline.Run(ctx, cfg, opt)
	if err != nil {
		fmt.Fprintf(os.Stderr, "iterflow: rank %d of %d: %v\n", comm.Rank(), comm.Size(), err)
		dist.Abort(1)
		return nil, err
	}
	if err := comm.Barrier(); err != nil {
		return nil, err
	}
	return res, dist.Finalize()
}
