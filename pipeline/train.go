package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/iterflow/iterflow/data/toy"
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
	// steps are the training steps each block (reflow round; the jointly
	// trained MLE chain) took: fewer than train.iters when a time budget
	// stopped it.
	steps []int
	// headers and rows form the report's per-block table.
	headers []string
	rows    [][]string
	// blocks is the per-block record written to metrics.json.
	blocks any
	// passes describes the JKO passes (first, reparametrized, refined).
	passes []method.JKOPass
	// summary is one line on the schedule for the log and the report.
	summary string
	// reverse marks blocks whose t from 0 to 1 carries latent to data (the
	// flow-matching convention).
	reverse bool
	// straightness holds the flow-matching paths' straightness per round
	// (before and after each reflow).
	straightness []float64
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
		Clip: t.Clip, WeightDecay: t.WeightDecay, EMA: t.EMA, WarmStart: t.WarmStart,
		ValEvery: t.ValEvery, Seed: cfg.Seed, BlockSeconds: t.BlockSeconds, Deadline: deadline(t.Seconds),
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
	return trainMethodCk(ctx, cfg, x, n, val, nv, d, prog, nil)
}

// trainMethodCk is trainMethod with checkpointing (ck may be nil; jko and mle
// ignore it, and so do reflow rounds).
func trainMethodCk(ctx context.Context, cfg *Config, x []float64, n int, val []float64, nv, d int, prog method.Progress, ck *method.Checkpointing) (*trained, error) {
	push, _ := cfg.Push.options("push")
	switch cfg.Method {
	case "jko":
		return trainJKO(ctx, cfg, x, n, val, nv, d, prog)
	case "cfm", "otcfm", "rf":
		return trainFM(ctx, cfg, x, n, val, nv, d, prog, ck)
	case "mle":
		return trainMLE(ctx, cfg, x, n, val, nv, d, prog)
	default:
		ip, _ := interp.ParseInterpolant(cfg.LFM.Interpolant)
		td, _ := interp.ParseTimeDist(cfg.LFM.Time)
		gammas, _ := cfg.Gammas()
		spec := netSpec(cfg, d)
		lcfg := method.LFMConfig{
			Gammas: gammas, FreeBlock: cfg.LFM.FreeBlock, Net: spec, Interpolant: ip, Time: td,
			Push: push, Optim: optimSettings(cfg), Checkpoint: ck,
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
			tr.steps = append(tr.steps, b.Steps)
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
	summary := describeSteps("JKO steps h", hs, false)
	if len(j.Steps) == 0 && len(res.Passes) > 0 && len(res.Passes[0].H) < j.MaxBlocks && j.StopTol > 0 {
		summary += fmt.Sprintf("; stopped after %d of at most %d blocks: relative movement fell below stop_tol %g", len(res.Passes[0].H), j.MaxBlocks, j.StopTol)
	}
	tr := &trained{blocks: res.Blocks, passes: res.Passes, summary: summary,
		headers: []string{"block", "kind", "h", "train loss (last steps)", "kept step", "V", "−∫div", "W2 term", "E|x − T(x)|²", "relative movement", "inversion error", "seconds"}}
	for i, b := range res.Blocks {
		tr.fields = append(tr.fields, res.Fields[i])
		tr.infos = append(tr.infos, model.BlockInfo{Kind: b.Kind, Gamma: b.H})
		tr.curves = append(tr.curves, b.LossCurve)
		tr.lossEvery = append(tr.lossEvery, lossEvery(cfg))
		tr.movement = append(tr.movement, b.Movement)
		tr.steps = append(tr.steps, b.Steps)
		tr.rows = append(tr.rows, []string{fmt.Sprint(b.Index + 1), b.Kind, fmt.Sprintf("%.4g", b.H), f4(b.FinalLoss), keptStep(b.BestStep, cfg.Train.Iters), f4(b.V), f4(-b.Div), f4(b.W2),
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

// fmSource returns the source sampler of a flow-matching run: N(0, I), or
// ToySamples points of the named generator.
func fmSource(cfg *Config, d int) (method.Sampler, error) {
	if cfg.Source == "" {
		return method.StdNormal(d), nil
	}
	if d != 2 {
		return nil, fmt.Errorf("source: the 2D generator %q needs 2-column data, got %d columns", cfg.Source, d)
	}
	z, err := toy.Sample(cfg.Source, cfg.ToySamples, rand.New(rand.NewPCG(cfg.Seed, 0x50c)))
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return method.TableSampler(z, cfg.ToySamples, 2), nil
}

func trainFM(ctx context.Context, cfg *Config, x []float64, n int, val []float64, nv, d int, prog method.Progress, ck *method.Checkpointing) (*trained, error) {
	coupling, _ := cfg.fmCoupling()
	ip, _ := interp.ParseInterpolant(cfg.FM.Interpolant)
	td, _ := interp.ParseTimeDist(cfg.LFM.Time)
	src, err := fmSource(cfg, d)
	if err != nil {
		return nil, err
	}
	otb, _ := cfg.fmOTBatch()
	fcfg := method.FMConfig{Optim: optimSettings(cfg), Coupling: coupling, SinkhornEps: cfg.FM.SinkhornEps,
		Interpolant: ip, Sigma: cfg.FM.Sigma, Source: src, Net: netSpec(cfg, d), Time: td, Checkpoint: ck, OTBatch: otb}
	res, err := method.TrainFM(ctx, x, n, val, nv, d, fcfg, prog)
	if err != nil {
		return nil, err
	}
	tr := &trained{reverse: true,
		headers: []string{"round", "coupling", "train loss", "validation loss (kept step)", "straightness", "seconds"}}
	eopt, _ := cfg.Eval.options("eval")
	srng := rand.New(rand.NewPCG(cfg.Seed, 0x57a))
	add := func(r *method.FMResult, round string) error {
		s, err := method.Straightness(ctx, r.Chain(), r.Source, 2000, 32, srng)
		if err != nil {
			return err
		}
		tr.straightness = append(tr.straightness, s)
		tr.steps = append(tr.steps, r.Block.Steps)
		tr.rows = append(tr.rows, []string{round, coupling.String(), f4(r.Block.FinalLoss), valCell(r.Block.ValLoss, r.Block.BestStep), f4(s), fmt.Sprintf("%.1f", r.Block.Seconds)})
		return nil
	}
	if err := add(res, "1"); err != nil {
		return nil, err
	}
	rounds := []method.BlockResult{res.Block}
	for k := 0; k < cfg.FM.Reflow; k++ {
		if res, err = method.Reflow(ctx, res, cfg.FM.ReflowPairs, fcfg, eopt, prog); err != nil {
			return nil, fmt.Errorf("reflow %d: %w", k+1, err)
		}
		if err := add(res, fmt.Sprintf("reflow %d", k+1)); err != nil {
			return nil, err
		}
		rounds = append(rounds, res.Block)
	}
	b := res.Block
	tr.fields = []model.Field{res.Net}
	tr.infos = []model.BlockInfo{{Kind: cfg.Method, Reverse: true}}
	tr.curves = [][]float64{b.LossCurve}
	tr.lossEvery = []int{b.LossEvery}
	tr.movement = []float64{b.Movement}
	tr.blocks = rounds
	tr.summary = fmt.Sprintf("one block, %s coupling, %s interpolant, %d reflow rounds", coupling, ip, cfg.FM.Reflow)
	return tr, nil
}

// keptStep describes which weights a block kept: the step of the best
// validation loss, or the last step.
func keptStep(best, iters int) string {
	if best < 0 {
		return fmt.Sprint(iters)
	}
	return fmt.Sprint(best)
}

func trainMLE(ctx context.Context, cfg *Config, x []float64, n int, val []float64, nv, d int, prog method.Progress) (*trained, error) {
	probe, _ := flow.ParseProbe(cfg.MLE.Probe)
	mc := method.MLEConfig{Optim: optimSettings(cfg), Blocks: cfg.MLE.Blocks, Net: netSpec(cfg, d),
		RK4Steps: cfg.MLE.RK4Steps, Sigma0: cfg.MLE.Sigma0, Probe: probe,
		KineticWeight: cfg.MLE.KineticWeight, JacobianWeight: cfg.MLE.JacobianWeight}
	res, err := method.TrainMLE(ctx, x, n, val, nv, d, mc, prog)
	if err != nil {
		return nil, err
	}
	tr := &trained{blocks: res.Blocks,
		summary: fmt.Sprintf("%d blocks trained jointly by maximum likelihood (%d rk4 steps each; RNODE λ_K = %g, λ_J = %g); kept step %s, validation NLL %s",
			cfg.MLE.Blocks, cfg.MLE.RK4Steps, cfg.MLE.KineticWeight, cfg.MLE.JacobianWeight, keptStep(res.BestStep, cfg.Train.Iters), f4(res.ValNLL)),
		headers: []string{"block", "∫div (log-det)", "kinetic ∫|f|²", "Jacobian ∫|Jε|²", "E|x − T(x)|²"}}
	for i, b := range res.Blocks {
		tr.fields = append(tr.fields, res.Fields[i])
		tr.infos = append(tr.infos, model.BlockInfo{Kind: "mle"})
		tr.movement = append(tr.movement, b.Movement)
		tr.rows = append(tr.rows, []string{fmt.Sprint(b.Index + 1), f4(b.Div), f4(b.Kinetic), f4(b.Jacobian), f4(b.Movement)})
	}
	// One loss curve and step count for the jointly trained chain.
	tr.curves = [][]float64{res.LossCurve}
	tr.steps = []int{res.Steps}
	tr.lossEvery = []int{lossEvery(cfg)}
	return tr, nil
}

// deadline returns the time seconds from now (zero time for 0: no budget).
func deadline(seconds float64) time.Time {
	if seconds <= 0 {
		return time.Time{}
	}
	return time.Now().Add(time.Duration(seconds * float64(time.Second)))
}
