//go:build mpi

package dist

/*
#cgo pkg-config: ompi
#include <mpi.h>
#include <stdlib.h>

static int dist_init(int *provided) {
	int flag = 0;
	MPI_Initialized(&flag);
	if (flag) return MPI_Query_thread(provided);
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static int dist_finalize(void) {
	int flag = 0;
	MPI_Finalized(&flag);
	if (flag) return MPI_SUCCESS;
	return MPI_Finalize();
}
static int dist_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int dist_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int dist_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int dist_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int dist_allreduce_f32(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int dist_allreduce_f64(double *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int dist_bcast_f64(double *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int dist_gatherv_f64(double *send, int n, double *recv, int *counts, int *displs, int root) {
	return MPI_Gatherv(send, n, MPI_DOUBLE, recv, counts, displs, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int dist_allgatherv_f64(double *send, int n, double *recv, int *counts, int *displs) {
	return MPI_Allgatherv(send, n, MPI_DOUBLE, recv, counts, displs, MPI_DOUBLE, MPI_COMM_WORLD);
}
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Enabled reports whether the binary was built with MPI (build tag mpi).
const Enabled = true

// Init joins the MPI job the process was launched in and returns the
// communicator of all its ranks (MPI_COMM_WORLD). It asks for
// MPI_THREAD_SERIALIZED, since goroutines move between OS threads: MPI may
// be called from any thread, one call at a time (the Comm methods are not
// safe for concurrent use). A process started without mpirun is a job of
// one rank. Calling it again returns the same world. It returns an error
// naming the failing MPI call, or when the library offers less than
// MPI_THREAD_SERIALIZED.
func Init() (Comm, error) {
	var provided C.int
	if rc := C.dist_init(&provided); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: MPI_Init_thread failed (error %d)", int(rc))
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		return nil, fmt.Errorf("dist: the MPI library offers thread level %d, need MPI_THREAD_SERIALIZED (%d)", int(provided), int(C.MPI_THREAD_SERIALIZED))
	}
	var r, s C.int
	if rc := C.dist_rank(&r); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: MPI_Comm_rank failed (error %d)", int(rc))
	}
	if rc := C.dist_size(&s); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: MPI_Comm_size failed (error %d)", int(rc))
	}
	return world{rank: int(r), size: int(s)}, nil
}

// Finalize leaves the MPI job (MPI_Finalize); call it after the last
// collective. Calling it again
// does nothing.
func Finalize() error {
	if rc := C.dist_finalize(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("dist: MPI_Finalize failed (error %d)", int(rc))
	}
	return nil
}

// Abort ends every rank of the MPI job with the exit status code
// (MPI_Abort), for an error on one rank that would leave the others waiting
// in a collective. It does not return when MPI is initialized.
func Abort(code int) { C.dist_abort(C.int(code)) }

// world is MPI_COMM_WORLD.
type world struct{ rank, size int }

func (w world) Rank() int { return w.rank }
func (w world) Size() int { return w.size }

// cCount converts a length to an MPI count, which is a C int.
func cCount(op string, n int) (C.int, error) {
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("dist: %s: %d values exceed MPI's int count", op, n)
	}
	return C.int(n), nil
}

func mpiErr(op string, rc C.int) error {
	if rc != C.MPI_SUCCESS {
		return fmt.Errorf("dist: %s failed (MPI error %d)", op, int(rc))
	}
	return nil
}

func (w world) AllreduceSumFloat32(buf []float32) error {
	n, err := cCount("MPI_Allreduce", len(buf))
	if err != nil || n == 0 {
		return err
	}
	return mpiErr("MPI_Allreduce", C.dist_allreduce_f32((*C.float)(unsafe.Pointer(&buf[0])), n))
}

func (w world) AllreduceSumFloat64(buf []float64) error {
	n, err := cCount("MPI_Allreduce", len(buf))
	if err != nil || n == 0 {
		return err
	}
	return mpiErr("MPI_Allreduce", C.dist_allreduce_f64((*C.double)(unsafe.Pointer(&buf[0])), n))
}

func (w world) BcastFloat64(buf []float64, root int) error {
	if err := checkRoot("BcastFloat64", root, w.size); err != nil {
		return err
	}
	n, err := cCount("MPI_Bcast", len(buf))
	if err != nil || n == 0 {
		return err
	}
	return mpiErr("MPI_Bcast", C.dist_bcast_f64((*C.double)(unsafe.Pointer(&buf[0])), n, C.int(root)))
}

// gatherArgs returns the counts and displacements of a gatherv as C ints
// (Go memory without Go pointers, which cgo may pass).
func gatherArgs(op string, counts []int) (cc, displ []C.int, err error) {
	cc = make([]C.int, len(counts))
	displ = make([]C.int, len(counts))
	off := 0
	for r, c := range counts {
		if cc[r], err = cCount(op, c); err != nil {
			return nil, nil, err
		}
		if displ[r], err = cCount(op, off); err != nil {
			return nil, nil, err
		}
		off += c
	}
	return cc, displ, nil
}

// ptr returns a pointer to v's first element, or nil for an empty slice.
func ptr(v []float64) *C.double {
	if len(v) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&v[0]))
}

func (w world) GathervFloat64(send []float64, counts []int, recv []float64, root int) error {
	const op = "GathervFloat64"
	if err := checkRoot(op, root, w.size); err != nil {
		return err
	}
	if err := checkGather(op, send, counts, recv, w.rank, w.size, w.rank == root); err != nil {
		return err
	}
	cc, displ, err := gatherArgs(op, counts)
	if err != nil {
		return err
	}
	return mpiErr("MPI_Gatherv", C.dist_gatherv_f64(ptr(send), C.int(len(send)), ptr(recv), &cc[0], &displ[0], C.int(root)))
}

func (w world) AllgathervFloat64(send []float64, counts []int, recv []float64) error {
	const op = "AllgathervFloat64"
	if err := checkGather(op, send, counts, recv, w.rank, w.size, true); err != nil {
		return err
	}
	cc, displ, err := gatherArgs(op, counts)
	if err != nil {
		return err
	}
	return mpiErr("MPI_Allgatherv", C.dist_allgatherv_f64(ptr(send), C.int(len(send)), ptr(recv), &cc[0], &displ[0]))
}

func (w world) Barrier() error { return mpiErr("MPI_Barrier", C.dist_barrier()) }
