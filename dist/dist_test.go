package dist

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestShardTiles(t *testing.T) {
	for _, tc := range []struct{ n, size int }{{10, 1}, {10, 2}, {10, 3}, {7, 4}, {2, 5}, {0, 3}} {
		next := 0
		for r := 0; r < tc.size; r++ {
			lo, hi := Shard(tc.n, r, tc.size)
			if lo != next || hi < lo || hi-lo > tc.n/tc.size+1 || hi-lo < tc.n/tc.size {
				t.Fatalf("Shard(%d, %d, %d) = [%d, %d), want to start at %d with %d or %d rows", tc.n, r, tc.size, lo, hi, next, tc.n/tc.size, tc.n/tc.size+1)
			}
			next = hi
		}
		if next != tc.n {
			t.Fatalf("shards of %d rows over %d ranks end at %d", tc.n, tc.size, next)
		}
	}
	if got := Counts(10, 3, 3); !slices.Equal(got, []int{9, 9, 12}) {
		t.Fatalf("Counts(10, 3, 3) = %v, want [9 9 12]", got)
	}
}

func TestRankSeed(t *testing.T) {
	if RankSeed(42, 0) != 42 {
		t.Fatalf("rank 0 must keep the run seed, got %d", RankSeed(42, 0))
	}
	seen := map[uint64]bool{}
	for r := 0; r < 64; r++ {
		s := RankSeed(42, r)
		if seen[s] {
			t.Fatalf("rank %d repeats seed %d", r, s)
		}
		seen[s] = true
	}
	if RankSeed(42, 1) == RankSeed(43, 1) {
		t.Fatal("rank seeds do not depend on the run seed")
	}
}

// onRanks runs f on every rank of a local group concurrently and returns the
// errors in rank order.
func onRanks(size int, f func(c Comm) error) []error {
	cs := Local(size)
	errs := make([]error, size)
	var wg sync.WaitGroup
	for r, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = f(c)
		}()
	}
	wg.Wait()
	return errs
}

func TestLocalCollectives(t *testing.T) {
	const size = 3
	var mu sync.Mutex
	got := map[string][]float64{}
	put := func(k string, v []float64) { mu.Lock(); got[k] = v; mu.Unlock() }
	errs := onRanks(size, func(c Comm) error {
		r := c.Rank()
		if c.Size() != size {
			return fmt.Errorf("size %d", c.Size())
		}
		// Sums: rank r contributes (r+1)·[1, 2]; the sum is 6·[1, 2].
		f32 := []float32{float32(r + 1), float32(2 * (r + 1))}
		if err := c.AllreduceSumFloat32(f32); err != nil {
			return err
		}
		f64 := []float64{float64(r + 1), 0.5}
		if err := c.AllreduceSumFloat64(f64); err != nil {
			return err
		}
		b := []float64{float64(r), float64(r)}
		if err := c.BcastFloat64(b, 2); err != nil {
			return err
		}
		// Rank r sends r+1 copies of r.
		counts := []int{1, 2, 3}
		send := slices.Repeat([]float64{float64(r)}, r+1)
		all := make([]float64, 6)
		if err := c.AllgathervFloat64(send, counts, all); err != nil {
			return err
		}
		var root []float64
		if r == 1 {
			root = make([]float64, 6)
		}
		if err := c.GathervFloat64(send, counts, root, 1); err != nil {
			return err
		}
		if err := c.Barrier(); err != nil {
			return err
		}
		put(fmt.Sprint("f32/", r), []float64{float64(f32[0]), float64(f32[1])})
		put(fmt.Sprint("f64/", r), f64)
		put(fmt.Sprint("bcast/", r), b)
		put(fmt.Sprint("allgather/", r), all)
		if r == 1 {
			put("gather", root)
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := 0; r < size; r++ {
		for k, want := range map[string][]float64{
			"f32": {6, 12}, "f64": {6, 1.5}, "bcast": {2, 2}, "allgather": {0, 1, 1, 2, 2, 2},
		} {
			if g := got[fmt.Sprint(k, "/", r)]; !slices.Equal(g, want) {
				t.Errorf("rank %d %s = %v, want %v", r, k, g, want)
			}
		}
	}
	if g := got["gather"]; !slices.Equal(g, []float64{0, 1, 1, 2, 2, 2}) {
		t.Errorf("gather at root = %v", g)
	}
}

func TestLocalErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(c Comm) error
		want string
	}{
		{"allreduce lengths", func(c Comm) error { return c.AllreduceSumFloat64(make([]float64, 1+c.Rank())) },
			"dist: AllreduceSumFloat64: rank 1 has 2 values, rank 0 has 1"},
		{"bcast root", func(c Comm) error { return c.BcastFloat64([]float64{1}, 2) }, "dist: BcastFloat64: root 2 outside [0, 2)"},
		{"gather counts", func(c Comm) error { return c.AllgathervFloat64([]float64{1}, []int{1}, make([]float64, 1)) },
			"dist: AllgathervFloat64: 1 counts for 2 ranks"},
		{"gather send", func(c Comm) error { return c.AllgathervFloat64([]float64{1, 2}, []int{1, 1}, make([]float64, 2)) },
			"dist: AllgathervFloat64: rank 0 sends 2 values, its count is 1"},
		{"gather recv", func(c Comm) error { return c.AllgathervFloat64([]float64{1}, []int{1, 1}, make([]float64, 3)) },
			"dist: AllgathervFloat64: receive buffer has 3 values, the counts sum to 2"},
		{"negative count", func(c Comm) error { return c.AllgathervFloat64(nil, []int{-1, 1}, nil) },
			"dist: AllgathervFloat64: count of rank 0 is negative (-1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := onRanks(2, tc.f)
			if errs[0] == nil || errs[0].Error() != tc.want {
				t.Fatalf("rank 0 error = %v, want %q", errs[0], tc.want)
			}
		})
	}
}

// TestLocalOrder checks that a long run of collectives keeps the ranks in
// step (no generation of the barrier is skipped).
func TestLocalOrder(t *testing.T) {
	errs := onRanks(4, func(c Comm) error {
		buf := []float64{0}
		for i := 0; i < 500; i++ {
			buf[0] = float64(i * (c.Rank() + 1))
			if err := c.AllreduceSumFloat64(buf); err != nil {
				return err
			}
			if buf[0] != float64(10*i) {
				return fmt.Errorf("step %d: sum %g, want %d", i, buf[0], 10*i)
			}
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
}
