package dist

import (
	"fmt"
	"slices"
	"sync"
)

// Local returns an in-process group of size ranks, one Comm per rank, to be
// driven by one goroutine each: the collectives of MPI with the same
// semantics (sums in rank order, so every rank gets bitwise the same
// result), for tests of data-parallel code without mpirun. Every collective
// copies its input, so it allocates; it is not meant for speed. A size below
// 1 is treated as 1.
func Local(size int) []Comm {
	size = max(size, 1)
	g := &localGroup{size: size, slots: make([]any, size)}
	g.cond = sync.NewCond(&g.mu)
	cs := make([]Comm, size)
	for r := range cs {
		cs[r] = &localComm{g: g, rank: r}
	}
	return cs
}

type localGroup struct {
	size    int
	mu      sync.Mutex
	cond    *sync.Cond
	arrived int
	gen     uint64
	slots   []any
}

// wait blocks until all ranks have called it (a generation barrier).
func (g *localGroup) wait() {
	g.mu.Lock()
	gen := g.gen
	g.arrived++
	if g.arrived == g.size {
		g.arrived = 0
		g.gen++
		g.cond.Broadcast()
	} else {
		for gen == g.gen {
			g.cond.Wait()
		}
	}
	g.mu.Unlock()
}

// exchange deposits v (a private copy) as this rank's contribution and
// returns every rank's, in rank order, once all have deposited; done must be
// called after reading them.
func (g *localGroup) exchange(rank int, v any) []any {
	g.mu.Lock()
	g.slots[rank] = v
	g.mu.Unlock()
	g.wait()
	g.mu.Lock()
	all := slices.Clone(g.slots)
	g.mu.Unlock()
	return all
}

func (g *localGroup) done() { g.wait() }

type localComm struct {
	g    *localGroup
	rank int
}

func (c *localComm) Rank() int { return c.rank }
func (c *localComm) Size() int { return c.g.size }

func allreduceLocal[T float32 | float64](c *localComm, op string, buf []T) error {
	all := c.g.exchange(c.rank, slices.Clone(buf))
	defer c.g.done()
	for r, a := range all {
		if len(a.([]T)) != len(buf) {
			return fmt.Errorf("dist: %s: rank %d has %d values, rank %d has %d", op, r, len(a.([]T)), c.rank, len(buf))
		}
	}
	clear(buf)
	for _, a := range all {
		for i, v := range a.([]T) {
			buf[i] += v
		}
	}
	return nil
}

func (c *localComm) AllreduceSumFloat32(buf []float32) error {
	return allreduceLocal(c, "AllreduceSumFloat32", buf)
}

func (c *localComm) AllreduceSumFloat64(buf []float64) error {
	return allreduceLocal(c, "AllreduceSumFloat64", buf)
}

func (c *localComm) BcastFloat64(buf []float64, root int) error {
	if err := checkRoot("BcastFloat64", root, c.g.size); err != nil {
		return err
	}
	all := c.g.exchange(c.rank, slices.Clone(buf))
	defer c.g.done()
	src := all[root].([]float64)
	if len(src) != len(buf) {
		return fmt.Errorf("dist: BcastFloat64: root %d has %d values, rank %d has %d", root, len(src), c.rank, len(buf))
	}
	copy(buf, src)
	return nil
}

func (c *localComm) gather(op string, send []float64, counts []int, recv []float64, root int, everyone bool) error {
	if err := checkGather(op, send, counts, recv, c.rank, c.g.size, everyone || c.rank == root); err != nil {
		return err
	}
	all := c.g.exchange(c.rank, slices.Clone(send))
	defer c.g.done()
	if !everyone && c.rank != root {
		return nil
	}
	off := 0
	for r, a := range all {
		s := a.([]float64)
		if len(s) != counts[r] {
			return fmt.Errorf("dist: %s: rank %d sent %d values, its count is %d", op, r, len(s), counts[r])
		}
		off += copy(recv[off:], s)
	}
	return nil
}

func (c *localComm) GathervFloat64(send []float64, counts []int, recv []float64, root int) error {
	if err := checkRoot("GathervFloat64", root, c.g.size); err != nil {
		return err
	}
	return c.gather("GathervFloat64", send, counts, recv, root, false)
}

func (c *localComm) AllgathervFloat64(send []float64, counts []int, recv []float64) error {
	return c.gather("AllgathervFloat64", send, counts, recv, 0, true)
}

func (c *localComm) Barrier() error {
	c.g.wait()
	return nil
}
