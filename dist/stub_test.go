//go:build !mpi

package dist

import (
	"slices"
	"testing"
)

func TestSingleProcess(t *testing.T) {
	c, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	defer Finalize()
	if Enabled || c.Rank() != 0 || c.Size() != 1 {
		t.Fatalf("stub: Enabled %v, rank %d, size %d; want false, 0, 1", Enabled, c.Rank(), c.Size())
	}
	buf := []float64{1.5, -2}
	if err := c.AllreduceSumFloat64(buf); err != nil || !slices.Equal(buf, []float64{1.5, -2}) {
		t.Fatalf("allreduce of one rank changed the buffer: %v, %v", buf, err)
	}
	recv := make([]float64, 2)
	if err := c.AllgathervFloat64(buf, []int{2}, recv); err != nil || !slices.Equal(recv, buf) {
		t.Fatalf("allgather of one rank: %v, %v", recv, err)
	}
	if err := c.BcastFloat64(buf, 1); err == nil || err.Error() != "dist: BcastFloat64: root 1 outside [0, 1)" {
		t.Fatalf("bad root: %v", err)
	}
}
