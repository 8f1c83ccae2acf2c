package maf

// mtN is the state length of MT19937 (624 words of 32 bits).
const mtN = 624

// RandomState reproduces the draws of NumPy's legacy numpy.random.RandomState
// seeded with a 32-bit integer: the MT19937 Mersenne Twister (Matsumoto and
// Nishimura 1998) initialised with init_genrand(seed), doubles built from two
// 32-bit words as in random_sample, bounded integers by masked rejection
// (random_interval) and the Fisher–Yates shuffle of RandomState.shuffle. It is
// what the MAF preprocessing (Papamakarios et al. 2017, arXiv 1705.07057) uses
// for POWER: RandomState(42).shuffle then RandomState.rand.
//
// A RandomState is not safe for concurrent use.
type RandomState struct {
	mt  [mtN]uint32
	pos int
}

// NewRandomState returns the generator numpy.random.RandomState(seed) starts
// with (integer seeds only; NumPy rejects seeds outside [0, 2³²−1]).
func NewRandomState(seed uint32) *RandomState {
	r := &RandomState{}
	r.mt[0] = seed
	for i := 1; i < mtN; i++ {
		prev := r.mt[i-1]
		r.mt[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	r.pos = mtN
	return r
}

// generate refills the state with the next 624 words (the MT19937 twist).
func (r *RandomState) generate() {
	const (
		m     = 397
		upper = 0x80000000
		lower = 0x7fffffff
		a     = 0x9908b0df
	)
	for i := 0; i < mtN; i++ {
		y := (r.mt[i] & upper) | (r.mt[(i+1)%mtN] & lower)
		v := r.mt[(i+m)%mtN] ^ (y >> 1)
		if y&1 != 0 {
			v ^= a
		}
		r.mt[i] = v
	}
	r.pos = 0
}

// Uint32 returns the next 32-bit output of MT19937 (genrand_int32).
func (r *RandomState) Uint32() uint32 {
	if r.pos >= mtN {
		r.generate()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Uint64 returns two consecutive 32-bit outputs as one 64-bit word, the high
// half first, as NumPy's legacy generator does for 64-bit draws.
func (r *RandomState) Uint64() uint64 {
	hi := uint64(r.Uint32())
	return hi<<32 | uint64(r.Uint32())
}

// Float64 returns a uniform double in [0, 1) with 53 random bits, exactly as
// RandomState.random_sample (and rand) does: (a·2²⁶ + b)/2⁵³ with a the top 27
// bits and b the top 26 bits of two consecutive 32-bit outputs.
func (r *RandomState) Float64() float64 {
	a := r.Uint32() >> 5
	b := r.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// Interval returns a uniform integer in [0, max] by masked rejection sampling,
// as NumPy's random_interval: draw words, keep the bits under the smallest
// all-ones mask ≥ max, reject values above max. Values of max below 2³² use one
// 32-bit word per try, larger ones a 64-bit word.
func (r *RandomState) Interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	if max <= 0xffffffff {
		for {
			if v := uint64(r.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := r.Uint64() & mask; v <= max {
			return v
		}
	}
}

// ShuffleRows permutes the n rows of x (n×d, row-major) in place as
// RandomState.shuffle does on a 2-D array: for i = n−1 down to 1, swap rows i
// and j = Interval(i). It panics if len(x) != n·d (a programming error).
func (r *RandomState) ShuffleRows(x []float64, n, d int) {
	if len(x) != n*d {
		panic("maf: ShuffleRows: len(x) != n·d")
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.Interval(uint64(i)))
		if j == i {
			continue
		}
		a := x[i*d : (i+1)*d]
		b := x[j*d : (j+1)*d]
		for k := range a {
			a[k], b[k] = b[k], a[k]
		}
	}
}
