package baseline

import (
	"fmt"
	"math"
)

// Score is the validation result of one candidate in SelectGMM (K set,
// Bandwidth 0) or SelectKDE (Bandwidth set, K 0). ValNLL is the mean
// negative log-likelihood of the validation rows in nats and ValSE its
// standard error. Err is non-empty when the candidate could not be fitted
// or evaluated (then ValNLL and ValSE are 0 and it was not eligible).
type Score struct {
	K         int
	Bandwidth float64
	ValNLL    float64
	ValSE     float64
	Err       string
}

// SelectGMM fits FitGMM(train, opt with K = k) for each k in ks and returns
// the fit with the lowest validation NLL (the first in ks order on a tie),
// with the scores of every candidate in ks order. train is nTrain×d and val
// nVal×d, row-major. A candidate that fails to fit (for example too few rows
// for k components) is recorded in its Score.Err and skipped.
//
// It returns an error if ks is empty, a k < 1, val has a bad shape or
// non-finite values, or no candidate could be fitted (the error lists
// why).
func SelectGMM(train, val []float64, nTrain, nVal, d int, ks []int, opt GMMOptions) (*GMM, []Score, error) {
	if len(ks) == 0 {
		return nil, nil, fmt.Errorf("select gmm: no candidate K")
	}
	for _, k := range ks {
		if k < 1 {
			return nil, nil, fmt.Errorf("select gmm: need K ≥ 1 components, got %d", k)
		}
	}
	if err := checkShape("select gmm: val", val, nVal, d); err != nil {
		return nil, nil, err
	}
	scores := make([]Score, len(ks))
	var best *GMM
	bestNLL := math.Inf(1)
	for i, k := range ks {
		scores[i].K = k
		o := opt
		o.K = k
		g, err := FitGMM(train, nTrain, d, o)
		if err == nil {
			scores[i].ValNLL, scores[i].ValSE, err = g.NLL(val, nVal)
		}
		if err != nil {
			scores[i] = Score{K: k, Err: err.Error()}
			continue
		}
		if scores[i].ValNLL < bestNLL {
			best, bestNLL = g, scores[i].ValNLL
		}
	}
	if best == nil {
		return nil, scores, fmt.Errorf("select gmm: no K could be fitted (first failure: %s)", scores[0].Err)
	}
	return best, scores, nil
}

// SelectKDE evaluates FitKDE(train, h) on the validation rows for each h in
// bandwidths (nil: DefaultBandwidths(train)) and returns the KDE with the
// lowest validation NLL (the first on a tie), with the scores of every
// bandwidth in order. train is nTrain×d and val nVal×d, row-major. Cost
// O(len(bandwidths)·nVal·nTrain·d): subsample large training sets first.
//
// It returns an error if train or val has a bad shape or non-finite values,
// a bandwidth is not finite and positive, or DefaultBandwidths fails.
func SelectKDE(train, val []float64, nTrain, nVal, d int, bandwidths []float64) (*KDE, []Score, error) {
	if err := checkShape("select kde: train", train, nTrain, d); err != nil {
		return nil, nil, err
	}
	if err := checkShape("select kde: val", val, nVal, d); err != nil {
		return nil, nil, err
	}
	if bandwidths == nil {
		var err error
		if bandwidths, err = DefaultBandwidths(train, nTrain, d); err != nil {
			return nil, nil, fmt.Errorf("select kde: %w", err)
		}
	}
	if len(bandwidths) == 0 {
		return nil, nil, fmt.Errorf("select kde: no candidate bandwidth")
	}
	for i, h := range bandwidths {
		if !(h > 0) || math.IsInf(h, 0) {
			return nil, nil, fmt.Errorf("select kde: bandwidth %d is %v, want finite and > 0", i, h)
		}
	}
	scores := make([]Score, len(bandwidths))
	var best *KDE
	bestNLL := math.Inf(1)
	for i, h := range bandwidths {
		k := &KDE{X: train, N: nTrain, D: d, H: h}
		mean, se, err := k.NLL(val, nVal)
		scores[i] = Score{Bandwidth: h, ValNLL: mean, ValSE: se}
		if err != nil {
			// Not expected (the log-sum-exp is taken relative to its
			// largest term), but never silently kept.
			scores[i] = Score{Bandwidth: h, Err: err.Error()}
			continue
		}
		if mean < bestNLL {
			best, bestNLL = k, mean
		}
	}
	if best == nil {
		return nil, scores, fmt.Errorf("select kde: no bandwidth gave a finite validation NLL (first failure: %s)", scores[0].Err)
	}
	return best, scores, nil
}
