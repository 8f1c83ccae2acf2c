package baseline

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// rowChunk is the number of rows one goroutine handles at a time in LogProb
// and the EM E-step. Chunk boundaries depend only on n, never on GOMAXPROCS,
// so results (and chunk-ordered reductions) are identical for any number of
// threads.
const rowChunk = 256

// forChunks calls fn(c, lo, hi, buf) for every chunk c = [lo, hi) of
// rowChunk rows of [0, n), on up to GOMAXPROCS goroutines that it waits for.
// Each goroutine gets its own buffers from newWorker, allocated once, so fn
// runs without allocating.
func forChunks[W any](n int, newWorker func() W, fn func(c, lo, hi int, buf W)) {
	chunks := (n + rowChunk - 1) / rowChunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		buf := newWorker()
		for c := 0; c < chunks; c++ {
			fn(c, c*rowChunk, min(n, (c+1)*rowChunk), buf)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := newWorker()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				fn(c, c*rowChunk, min(n, (c+1)*rowChunk), buf)
			}
		}()
	}
	wg.Wait()
}

// nllFromLogProb returns the mean of −lp and its standard error
// sd(−lp)/√n (sample standard deviation with n−1; 0 when n = 1). It returns
// an error naming the first row whose log-density is NaN or ±Inf.
func nllFromLogProb(lp []float64) (mean, se float64, err error) {
	n := len(lp)
	for i, v := range lp {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, fmt.Errorf("log-density of row %d is %v", i, v)
		}
		mean -= v
	}
	mean /= float64(n)
	if n == 1 {
		return mean, 0, nil
	}
	var ss float64
	for _, v := range lp {
		dv := -v - mean
		ss += dv * dv
	}
	return mean, math.Sqrt(ss / float64(n-1) / float64(n)), nil
}

// checkShape validates an n×d row-major matrix argument named what.
func checkShape(what string, x []float64, n, d int) error {
	if n < 1 || d < 1 {
		return fmt.Errorf("%s: need n ≥ 1 and d ≥ 1, got %d×%d", what, n, d)
	}
	if len(x) != n*d {
		return fmt.Errorf("%s: len = %d, want n·d = %d·%d = %d", what, len(x), n, d, n*d)
	}
	if err := checkFinite(x, d); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
