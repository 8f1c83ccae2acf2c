package pipeline

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/nn"
)

// trained is what every method hands to evaluation and the report: the
// blocks, and per-block figures in a method-specific table.
type trained struct {
	fields []model.Field
	infos  []model.BlockInfo
	// curves are the per-block training-loss curves, one point per
	// lossEvery[k] steps.
	curves    [][]float64
	lossEvery []int
	// movement is E|x − T(x)|² per block of the final pass.
	movement []float64
	// headers and rows form the report's per-block table.
	headers []string
	rows    [][]string
	// blocks is the per-block record written to metrics.json.
	blocks any
	// passes describes the JKO passes (first, reparametrized, refined).
	passes []method.JKOPass
	// summary is one line on the schedule for the log and the report.
	summary string
}

func netSpec(cfg *Config, d int) nn.Spec {
	act, _ := nn.ParseActivation(cfg.Model.Activation)
	return nn.Spec{Dim: d, Hidden: cfg.Model.Hidden, Act: act, Beta: cfg.Model.Beta, TimeInput: cfg.Model.TimeInput}
}

// optimSettings returns the optimizer settings of every method from the
// train section and the run's seed; LossEvery stays 0 (the method's default).
func optimSettings(cfg *Config) method.Optim {
	t := cfg.Train
	return method.Optim{
		Iters: t.Iters, BatchSize: t.BatchSize,
		LR: t.LR, LRDecay: t.LRDecay, LRDecayEvery: t.LRDecayEvery,
		Clip: t.Clip, EMA: t.EMA, WarmStart: t.WarmStart,
		ValEvery: t.ValEvery, Seed: cfg.Seed,
		// One loss-curve point per lossEvery(cfg) steps for every method.
		LossEvery: lossEvery(cfg),
	}
}

// lossEvery is the number of steps averaged into one point of a loss curve:
// 50, or fewer for short runs (about 20 points).
func lossEvery(cfg *Config) int {
	return max(1, min(50, cfg.Train.Iters/20))
}

// trainMethod dispatches to the configured method.
func trainMethod(ctx context.Context, cfg *Config, x []float64, n int, val []float64, nv, d int, prog method.Progress) (*trained, error) {
	push, _ := cfg.Push.options("push")
	switch cfg.Method {
	case "jko":
		return trainJKO(ctx, cfg, x, n, val, nv, d, prog)
	default:
		ip, _ := interp.ParseInterpolant(cfg.LFM.Interpolant)
		td, _ := interp.ParseTimeDist(cfg.LFM.Time)
		gammas, _ := cfg.Gammas()
		spec := netSpec(cfg, d)
		lcfg := method.LFMConfig{
			Gammas: gammas, FreeBlock: cfg.LFM.FreeBlock, Net: spec, Interpolant: ip, Time: td,
			Push: push, Optim: optimSettings(cfg),
		}
		res, err := method.TrainLFM(ctx, x, n, val, nv, d, lcfg, prog)
		if err != nil {
			return nil, err
		}
		tr := &trained{blocks: res.Blocks, summary: describeGammas(gammas, cfg.LFM.FreeBlock),
			headers: []string{"block", "kind", "γ", "train loss", "validation loss (kept step)", "E|x − T(x)|²", "relative movement", "seconds"}}
		for i, b := range res.Blocks {
			tr.fields = append(tr.fields, res.Nets[i])
			tr.infos = append(tr.infos, model.BlockInfo{Kind: b.Kind, Gamma: b.Gamma})
			tr.curves = append(tr.curves, b.LossCurve)
			tr.lossEvery = append(tr.lossEvery, b.LossEvery)
			tr.movement = append(tr.movement, b.Movement)
			g := "—"
			if b.Kind == "ou" {
				g = fmt.Sprintf("%.4g", b.Gamma)
			}
			tr.rows = append(tr.rows, []string{fmt.Sprint(b.Index + 1), b.Kind, g, f4(b.FinalLoss), valCell(b.ValLoss, b.BestStep),
				f4(b.Movement), f4(b.RelMovement), fmt.Sprintf("%.1f", b.Seconds)})
		}
		return tr, nil
	}
}

func trainJKO(ctx context.Context, cfg *Config, x []float64, n int, val []float64, nv, d int, prog method.Progress) (*trained, error) {
	push, _ := cfg.Push.options("push")
	probe, _ := flow.ParseProbe(cfg.JKO.Probe)
	j := cfg.JKO
	jcfg := method.JKOConfig{
		Steps: j.Steps, H0: j.H0, Rho: j.Rho, HMax: j.HMax, MaxBlocks: j.MaxBlocks, StopTol: j.StopTol,
		FreeBlock: j.FreeBlock, Linear: j.Linear, Net: netSpec(cfg, d), RK4Steps: j.RK4Steps, Sigma0: j.Sigma0, Probe: probe,
		Push: push, Reparam: j.Reparam, Eta: j.Eta, Refine: j.Refine, Optim: optimSettings(cfg),
	}
	res, err := method.TrainJKO(ctx, x, n, val, nv, d, jcfg, prog)
	if err != nil {
		return nil, err
	}
	var hs []float64
	for _, b := range res.Blocks {
		hs = append(hs, b.H)
	}
	tr := &trained{blocks: res.Blocks, passes: res.Passes, summary: describeSteps("JKO steps h", hs, false),
		headers: []string{"block", "kind", "h", "loss", "V", "−∫div", "W2 term", "E|x − T(x)|²", "relative movement", "inversion error", "seconds"}}
	for i, b := range res.Blocks {
		tr.fields = append(tr.fields, res.Fields[i])
		tr.infos = append(tr.infos, model.BlockInfo{Kind: b.Kind, Gamma: b.H})
		tr.curves = append(tr.curves, b.LossCurve)
		tr.lossEvery = append(tr.lossEvery, lossEvery(cfg))
		tr.movement = append(tr.movement, b.Movement)
		tr.rows = append(tr.rows, []string{fmt.Sprint(b.Index + 1), b.Kind, fmt.Sprintf("%.4g", b.H), f4(b.FinalLoss), f4(b.V), f4(-b.Div), f4(b.W2),
			f4(b.Movement), f4(b.RelMovement), fmt.Sprintf("%.2g", b.InversionError), fmt.Sprintf("%.1f", b.Seconds)})
	}
	return tr, nil
}

func valCell(v float64, step int) string {
	if math.IsNaN(v) || v < 0 {
		return "—"
	}
	return fmt.Sprintf("%.4f (step %d)", v, step)
}

func describeGammas(g []float64, free bool) string {
	return describeSteps("OU steps γ", g, free)
}

func describeSteps(name string, g []float64, free bool) string {
	parts := make([]string, len(g))
	for i, v := range g {
		parts[i] = fmt.Sprintf("%.4g", v)
	}
	s := name + " = [" + strings.Join(parts, ", ") + "]"
	if free {
		s += " + free block"
	}
	return s
}
