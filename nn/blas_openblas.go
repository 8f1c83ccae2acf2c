//go:build openblas && cgo

package nn

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// In the fast build every matrix product of the package (and of any other
// package that goes through gonum's blas32/blas64) runs on OpenBLAS, through
// the cgo bindings of gonum.org/v1/netlib. The library is linked with
// -lopenblas from build_openblas.go, so no CGO_LDFLAGS are needed.
func init() {
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
}
