//go:build !mpi

package dist

// Enabled reports whether the binary was built with MPI (build tag mpi).
// Without it Init returns a single-process communicator.
const Enabled = false

// Init joins the MPI job the process was launched in (mpirun) and returns
// the communicator of all its ranks (MPI_COMM_WORLD). In this build, without
// the mpi tag, it returns a single-process communicator: Size 1, Rank 0,
// collectives that leave their buffers as they are. It never fails here.
func Init() (Comm, error) { return single{}, nil }

// Finalize leaves the MPI job (MPI_Finalize); call it once, after the last
// collective. Without the mpi tag it does nothing.
func Finalize() error { return nil }

// Abort ends every rank of the MPI job with the exit status code
// (MPI_Abort), for an error on one rank that would leave the others waiting
// in a collective. Without the mpi tag it does nothing and returns, so the
// caller exits as usual.
func Abort(code int) {}

// single is the communicator of a lone process.
type single struct{}

func (single) Rank() int                               { return 0 }
func (single) Size() int                               { return 1 }
func (single) AllreduceSumFloat32(buf []float32) error { return nil }
func (single) AllreduceSumFloat64(buf []float64) error { return nil }
func (single) Barrier() error                          { return nil }

func (single) BcastFloat64(buf []float64, root int) error {
	return checkRoot("BcastFloat64", root, 1)
}

func (single) GathervFloat64(send []float64, counts []int, recv []float64, root int) error {
	if err := checkRoot("GathervFloat64", root, 1); err != nil {
		return err
	}
	if err := checkGather("GathervFloat64", send, counts, recv, 0, 1, true); err != nil {
		return err
	}
	copy(recv, send)
	return nil
}

func (single) AllgathervFloat64(send []float64, counts []int, recv []float64) error {
	if err := checkGather("AllgathervFloat64", send, counts, recv, 0, 1, true); err != nil {
		return err
	}
	copy(recv, send)
	return nil
}
