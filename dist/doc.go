// Package dist is the message-passing layer of data-parallel training across
// processes and machines: collective operations (all-reduce, broadcast,
// gather) over the ranks of an MPI job launched by mpirun.
//
// Built with the build tag mpi (cgo, Open MPI's libmpi found through
// pkg-config "ompi"), Init joins the MPI job; without the tag the package is
// pure Go and Init returns a single-process communicator (Size 1, Rank 0)
// whose collectives are no-ops, so the default binary needs no MPI library.
// Local returns an in-process group of goroutine ranks with the same
// semantics, for tests.
//
// All collectives are blocking and must be called by every rank of the
// communicator in the same order with matching lengths, as in MPI (the MPI
// 3.1 standard, chapter 5). Buffers are flat slices; reductions sum
// element-wise and are done in place.
package dist

import "fmt"

// Comm is a communicator: a fixed group of Size ranks, numbered 0..Size−1,
// that take part in collective operations. Its methods are not safe for
// concurrent use by several goroutines of the same rank.
type Comm interface {
	// Rank returns this process's rank in [0, Size).
	Rank() int
	// Size returns the number of ranks (at least 1).
	Size() int
	// AllreduceSumFloat32 replaces buf on every rank by the element-wise sum
	// of the bufs of all ranks (all of the same length). It returns an error
	// naming the failing MPI call.
	AllreduceSumFloat32(buf []float32) error
	// AllreduceSumFloat64 is AllreduceSumFloat32 for float64.
	AllreduceSumFloat64(buf []float64) error
	// BcastFloat64 copies root's buf into buf on every other rank (all of
	// the same length). It returns an error for a root outside [0, Size).
	BcastFloat64(buf []float64, root int) error
	// GathervFloat64 concatenates the send slices of all ranks, in rank
	// order, into recv on root: rank r sends counts[r] values (counts has
	// Size entries, the same on every rank) and recv has sum(counts) values
	// on root (ignored, may be nil, elsewhere). It returns an error for
	// mismatched lengths or a bad root.
	GathervFloat64(send []float64, counts []int, recv []float64, root int) error
	// AllgathervFloat64 is GathervFloat64 with the result on every rank.
	AllgathervFloat64(send []float64, counts []int, recv []float64) error
	// Barrier returns when every rank has called it.
	Barrier() error
}

// Shard returns the half-open row range [lo, hi) of rank's share of n rows
// split as evenly as possible over size ranks, in rank order: lo =
// ⌊n·rank/size⌋, hi = ⌊n·(rank+1)/size⌋. The shards of all ranks tile [0, n).
func Shard(n, rank, size int) (lo, hi int) {
	if size < 1 {
		return 0, n
	}
	return n * rank / size, n * (rank + 1) / size
}

// Counts returns the number of rows of each rank's Shard of n rows, scaled by
// the row width d (values per row): the counts argument of GathervFloat64
// and AllgathervFloat64 for row-major n×d data.
func Counts(n, d, size int) []int {
	c := make([]int, size)
	for r := range c {
		lo, hi := Shard(n, r, size)
		c[r] = (hi - lo) * d
	}
	return c
}

// RankSeed derives the random seed of one rank from the run seed (a
// SplitMix64 mix of both), so that ranks draw independent streams that are
// reproducible from the run seed. Rank 0 gets the run seed itself, so that a
// single-process run is unchanged.
func RankSeed(seed uint64, rank int) uint64 {
	if rank == 0 {
		return seed
	}
	z := seed + 0x9e3779b97f4a7c15*uint64(rank+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// checkGather validates the arguments of a (all)gatherv on this rank: counts
// has size entries, none negative, send has counts[rank] values and recv (when
// needRecv) the sum of counts.
func checkGather(op string, send []float64, counts []int, recv []float64, rank, size int, needRecv bool) error {
	if len(counts) != size {
		return fmt.Errorf("dist: %s: %d counts for %d ranks", op, len(counts), size)
	}
	total := 0
	for r, c := range counts {
		if c < 0 {
			return fmt.Errorf("dist: %s: count of rank %d is negative (%d)", op, r, c)
		}
		total += c
	}
	if len(send) != counts[rank] {
		return fmt.Errorf("dist: %s: rank %d sends %d values, its count is %d", op, rank, len(send), counts[rank])
	}
	if needRecv && len(recv) != total {
		return fmt.Errorf("dist: %s: receive buffer has %d values, the counts sum to %d", op, len(recv), total)
	}
	return nil
}

func checkRoot(op string, root, size int) error {
	if root < 0 || root >= size {
		return fmt.Errorf("dist: %s: root %d outside [0, %d)", op, root, size)
	}
	return nil
}
