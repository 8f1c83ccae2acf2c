package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/iterflow/iterflow/baseline"
)

// Baseline is a classical density model's test NLL, fitted on the run's
// training split and chosen on its validation split, as a statistician would
// try first (full-covariance Gaussian; Gaussian mixture by EM, K by
// validation; Gaussian kernel density estimate, bandwidth by validation).
// NLLs are nats per sample in the units of the user's data (the same
// dequantized split as the flow's).
type Baseline struct {
	// Name is "gaussian", "gmm" or "kde".
	Name string `json:"name"`
	// Setting describes the choice made on validation ("K = 4",
	// "h = 0.31 (standardized units)"); empty for the Gaussian.
	Setting  string  `json:"setting,omitempty"`
	TestNLL  float64 `json:"test_nll"`
	TestSE   float64 `json:"test_nll_se"`
	ValNLL   float64 `json:"val_nll,omitempty"`
	Seconds  float64 `json:"seconds"`
	FitRows  int     `json:"fit_rows"`
	Skipped  string  `json:"skipped,omitempty"`
	Describe string  `json:"describe"`
}

// Limits that keep the baselines' cost next to the flow's on large data: the
// KDE keeps at most kdeMaxTrain training rows (a seeded subsample) and the
// GMM is fitted on at most gmmMaxTrain rows.
const (
	kdeMaxTrain = 5000
	gmmMaxTrain = 20000
)

// fitBaselines fits the Gaussian mixture and the KDE on the standardized
// training split (choosing K and h on the validation split) and scores the
// test split, adding the preprocessing's per-row log-determinants (valLD,
// testLD) so that the NLLs are in data units. trainS, valS and testS are the
// chain-scale (standardized) copies.
func fitBaselines(ctx context.Context, trainS, valS, testS []float64, nTrain, nVal, nTest, d int, valLD, testLD []float64, seed uint64) []Baseline {
	var out []Baseline
	if nVal == 0 {
		return []Baseline{
			{Name: "gmm", Skipped: "no validation split to choose K", Describe: "Gaussian mixture (EM)"},
			{Name: "kde", Skipped: "no validation split to choose the bandwidth", Describe: "kernel density estimate"},
		}
	}

	// Gaussian mixture: K from a small grid limited by the rows per component.
	gm := Baseline{Name: "gmm", Describe: "Gaussian mixture (EM, full covariances, K by validation)"}
	t0 := time.Now()
	xs, ns := subsample(trainS, nTrain, d, gmmMaxTrain, seed^0x6a)
	var ks []int
	for _, k := range []int{1, 2, 3, 4, 6, 8, 10, 15, 20} {
		if ns >= 10*k*(d+1) {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		ks = []int{1}
	}
	opt := baseline.DefaultGMMOptions(1)
	opt.Seed = seed
	opt.Reg = 1e-4 // standardized units: a floor on each component's variance
	if g, scores, err := baseline.SelectGMM(xs, valS, ns, nVal, d, ks, opt); err != nil {
		gm.Skipped = err.Error()
	} else if ctx.Err() == nil {
		gm.Setting = fmt.Sprintf("K = %d of %v", g.K(), ks)
		for _, s := range scores {
			if s.K == g.K() {
				gm.ValNLL = s.ValNLL - mean(valLD)
			}
		}
		m, se, err := dataNLL(g.LogProb, testS, nTest, testLD)
		if err != nil {
			gm.Skipped = err.Error()
		}
		gm.TestNLL, gm.TestSE, gm.FitRows = m, se, ns
	}
	gm.Seconds = time.Since(t0).Seconds()
	out = append(out, gm)

	// KDE: isotropic Gaussian kernel on the standardized data.
	kd := Baseline{Name: "kde", Describe: "Gaussian kernel density estimate (isotropic on standardized data, bandwidth by validation)"}
	t0 = time.Now()
	xk, nk := subsample(trainS, nTrain, d, kdeMaxTrain, seed^0x6b)
	if k, scores, err := baseline.SelectKDE(xk, valS, nk, nVal, d, nil); err != nil {
		kd.Skipped = err.Error()
	} else if ctx.Err() == nil {
		kd.Setting = fmt.Sprintf("h = %.3g (standardized units)", k.H)
		for _, s := range scores {
			if s.Bandwidth == k.H {
				kd.ValNLL = s.ValNLL - mean(valLD)
			}
		}
		m, se, err := dataNLL(k.LogProb, testS, nTest, testLD)
		if err != nil {
			kd.Skipped = err.Error()
		}
		kd.TestNLL, kd.TestSE, kd.FitRows = m, se, nk
	}
	kd.Seconds = time.Since(t0).Seconds()
	out = append(out, kd)
	return out
}

// subsample returns at most max rows of x (n×d), a seeded choice without
// replacement in the original order, or x itself when n ≤ max.
func subsample(x []float64, n, d, max int, seed uint64) ([]float64, int) {
	if n <= max {
		return x, n
	}
	perm := rand.New(rand.NewPCG(seed, 0x5b)).Perm(n)[:max]
	keep := make([]bool, n)
	for _, i := range perm {
		keep[i] = true
	}
	out := make([]float64, 0, max*d)
	for i := 0; i < n; i++ {
		if keep[i] {
			out = append(out, x[i*d:(i+1)*d]...)
		}
	}
	return out, max
}

// mean returns the mean of v (0 for an empty slice).
func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// dataNLL scores the chain-scale rows x (n×d) with logProb, adds each row's
// preprocessing log-determinant ld[i] and returns the NLL (nats per sample,
// data units) and its standard error.
func dataNLL(logProb func(x []float64, n int, out []float64) error, x []float64, n int, ld []float64) (float64, float64, error) {
	lp := make([]float64, n)
	if err := logProb(x, n, lp); err != nil {
		return 0, 0, err
	}
	for i := range lp {
		lp[i] += ld[i]
	}
	m, se := meanSE(lp, -1)
	return m, se, nil
}
