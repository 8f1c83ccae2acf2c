//go:build mpi

package dist

import (
	"slices"
	"testing"
)

// TestMPIWorld runs the collectives on MPI_COMM_WORLD. Run it under mpirun
// with several ranks (make test-mpi: mpirun -np 2 dist.test); a plain go test
// runs it as a job of one rank.
func TestMPIWorld(t *testing.T) {
	c, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	r, size := c.Rank(), c.Size()
	if !Enabled || size < 1 || r < 0 || r >= size {
		t.Fatalf("Enabled %v, rank %d of %d", Enabled, r, size)
	}
	sum := float64(size * (size + 1) / 2)
	f32 := []float32{float32(r + 1), 1}
	if err := c.AllreduceSumFloat32(f32); err != nil {
		t.Fatal(err)
	}
	if f32[0] != float32(sum) || f32[1] != float32(size) {
		t.Fatalf("rank %d: float32 all-reduce = %v, want [%g %d]", r, f32, sum, size)
	}
	f64 := []float64{float64(r + 1), 0.25}
	if err := c.AllreduceSumFloat64(f64); err != nil {
		t.Fatal(err)
	}
	if f64[0] != sum || f64[1] != 0.25*float64(size) {
		t.Fatalf("rank %d: float64 all-reduce = %v", r, f64)
	}
	b := []float64{float64(r), -1}
	if err := c.BcastFloat64(b, size-1); err != nil {
		t.Fatal(err)
	}
	if b[0] != float64(size-1) || b[1] != -1 {
		t.Fatalf("rank %d: broadcast from %d = %v", r, size-1, b)
	}
	// Rank q sends q+1 copies of q.
	counts := make([]int, size)
	var want []float64
	for q := range counts {
		counts[q] = q + 1
		want = append(want, slices.Repeat([]float64{float64(q)}, q+1)...)
	}
	send := slices.Repeat([]float64{float64(r)}, r+1)
	all := make([]float64, len(want))
	if err := c.AllgathervFloat64(send, counts, all); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, want) {
		t.Fatalf("rank %d: all-gather = %v, want %v", r, all, want)
	}
	var root []float64
	if r == 0 {
		root = make([]float64, len(want))
	}
	if err := c.GathervFloat64(send, counts, root, 0); err != nil {
		t.Fatal(err)
	}
	if r == 0 && !slices.Equal(root, want) {
		t.Fatalf("gather at root = %v, want %v", root, want)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
	if err := Finalize(); err != nil {
		t.Fatal(err)
	}
	t.Logf("rank %d of %d: collectives agree", r, size)
}
