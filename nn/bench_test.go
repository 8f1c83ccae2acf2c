package nn

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// Benchmarks of the two hot paths, for comparing the pure-Go and openblas
// builds (reference figures: shared/reference/go-stack.md). Run, e.g.,
//
//	GOMAXPROCS=2 OPENBLAS_NUM_THREADS=1 go test -tags openblas ./nn -run '^$' -bench . -benchtime 10x
//
// Each reports ms/op and the BLAS thread count; with -v it logs the backend,
// OpenBLAS kernel set (BLASCore) and the
// OPENBLAS_NUM_THREADS and OPENBLAS_CORETYPE settings.

const benchBatch = 4096

func benchLogEnv(b *testing.B) {
	b.Helper()
	b.Logf("backend %s, BLAS core %q, BLAS threads %d, OPENBLAS_NUM_THREADS=%q, OPENBLAS_CORETYPE=%q",
		Backend(), BLASCore(), BLASThreads(), os.Getenv("OPENBLAS_NUM_THREADS"), os.Getenv("OPENBLAS_CORETYPE"))
}

func benchReport(b *testing.B) {
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/op")
	b.ReportMetric(float64(BLASThreads()), "blas-threads")
}

func benchNormals[T Float](rng *rand.Rand, k int) []T {
	v := make([]T, k)
	for i := range v {
		v[i] = T(rng.NormFloat64())
	}
	return v
}

// BenchmarkTrainStep times one flow-matching training step of the MLP
// [x (2), t] → 256 → 256 → 256 → 2 (softplus) on a batch of 4096: Forward,
// MSELoss, Backward and Adam.Step, with the gradient zeroed each step.
func BenchmarkTrainStep(b *testing.B) {
	b.Run("f32", benchTrainStep[float32])
	b.Run("f64", benchTrainStep[float64])
}

func benchTrainStep[T Float](b *testing.B) {
	benchLogEnv(b)
	spec := Spec{Dim: 2, Hidden: []int{256, 256, 256}, Act: Softplus, Beta: 1, TimeInput: true}
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := NewMLP[T](spec, rng)
	if err != nil {
		b.Fatal(err)
	}
	n, d := benchBatch, spec.Dim
	x, target := benchNormals[T](rng, n*d), benchNormals[T](rng, n*d)
	t := make([]T, n)
	for i := range t {
		t[i] = T(rng.Float64())
	}
	v, dv := make([]T, n*d), make([]T, n*d)
	grad := make([]T, m.NumParams())
	opt := NewAdam[T](m.NumParams(), 1e-4)
	for b.Loop() {
		clear(grad)
		m.Forward(x, t, n, v)
		MSELoss(v, target, dv, n)
		m.Backward(dv, grad, nil)
		opt.Step(m.Params(), grad)
	}
	benchReport(b)
}

// BenchmarkExactTrace times VelocityTrace (velocity and exact divergence) of
// the MLP [x (d), t] → 256 → 256 → 256 → d (softplus) on a batch of 4096,
// for d = 2, 16 and 64.
func BenchmarkExactTrace(b *testing.B) {
	for _, d := range []int{2, 16, 64} {
		b.Run(fmt.Sprintf("f32/d=%d", d), func(b *testing.B) { benchExactTrace[float32](b, d) })
		b.Run(fmt.Sprintf("f64/d=%d", d), func(b *testing.B) { benchExactTrace[float64](b, d) })
	}
}

func benchExactTrace[T Float](b *testing.B, d int) {
	benchLogEnv(b)
	spec := Spec{Dim: d, Hidden: []int{256, 256, 256}, Act: Softplus, Beta: 1, TimeInput: true}
	rng := rand.New(rand.NewPCG(3, 4))
	m, err := NewMLP[T](spec, rng)
	if err != nil {
		b.Fatal(err)
	}
	n := benchBatch
	x := benchNormals[T](rng, n*d)
	v, div := make([]T, n*d), make([]T, n)
	for b.Loop() {
		m.VelocityTrace(0.5, x, n, v, div)
	}
	benchReport(b)
}

// BenchmarkActSoftplus times the activation kernel alone (one goroutine) on
// 4096×256 elements with value, σ′ and σ″; it reports ns per element.
func BenchmarkActSoftplus(b *testing.B) {
	const n = benchBatch * 256
	rng := rand.New(rand.NewPCG(5, 6))
	b.Run("f32", func(b *testing.B) {
		x := benchNormals[float32](rng, n)
		y, d, dd := make([]float32, n), make([]float32, n), make([]float32, n)
		for b.Loop() {
			actEval32(Softplus, 1, x, y, d, dd)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
	})
	b.Run("f64", func(b *testing.B) {
		x := benchNormals[float64](rng, n)
		y, d, dd := make([]float64, n), make([]float64, n), make([]float64, n)
		for b.Loop() {
			actEval64(Softplus, 1, x, y, d, dd)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
	})
}
