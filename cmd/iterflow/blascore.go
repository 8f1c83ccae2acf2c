package main

import (
	"os"
	"syscall"

	"github.com/iterflow/iterflow/nn"
)

// blasCoreEnv is set by iterflow itself when it restarts with a chosen
// OpenBLAS kernel set, so that it never restarts twice.
const blasCoreEnv = "ITERFLOW_BLAS_REEXEC"

// ensureBLASCore restarts the process with OPENBLAS_CORETYPE set when the fast
// build's OpenBLAS fell back to slow generic kernels on a CPU it does not
// recognise (see nn.RecommendedBLASCore). It does nothing in the pure-Go
// build, when the user set OPENBLAS_CORETYPE, or when ITERFLOW_BLAS_REEXEC is
// set; if the restart fails, iterflow goes on with the generic kernels.
func ensureBLASCore() {
	if os.Getenv("OPENBLAS_CORETYPE") != "" || os.Getenv(blasCoreEnv) != "" {
		return
	}
	core := nn.RecommendedBLASCore()
	if core == "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "OPENBLAS_CORETYPE="+core, blasCoreEnv+"=1")
	_ = syscall.Exec(exe, os.Args, env)
}
