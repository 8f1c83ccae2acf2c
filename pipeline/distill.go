package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/metrics"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/ode"
)

// DistillConfig switches on one-step distillation of every block after
// training (Local Flow Matching, arXiv 2410.02548, few-step generation): a
// student block per teacher block regresses onto the teacher's sampling map,
// so that sampling takes one Euler step per block.
type DistillConfig struct {
	// Iters is the number of training steps per student block; 0 turns
	// distillation off.
	Iters int `yaml:"iters"`
	// Pool is the number of latent draws pushed through the chain to train
	// the students.
	Pool int `yaml:"pool"`
}

// DistillResult is the sample quality of the distilled one-step-per-block
// sampler beside the teacher's Euler sampler at the same NFE.
type DistillResult struct {
	Iters int `json:"iters"`
	Pool  int `json:"pool"`
	// NFE is the number of velocity evaluations per sample (one per block).
	NFE int `json:"nfe"`
	// SlicedW2 of the students' samples and of the teacher's Euler samples
	// with one step per block (the same NFE), against the test split (data
	// units); TeacherAccurate is the teacher with the evaluation solver.
	SlicedW2        float64 `json:"sliced_w2"`
	TeacherSlicedW2 float64 `json:"teacher_sliced_w2"`
	TeacherAccurate float64 `json:"teacher_accurate_sliced_w2"`
	Seconds         float64 `json:"seconds"`
	// Dir is the run subdirectory holding the students (a model whose blocks
	// are sampled with one Euler step each; not for likelihoods).
	Dir string `json:"dir"`
}

// DistilledDir is the run subdirectory of the distilled students.
const DistilledDir = "distilled"

// reversedField is f̃(x, t) = −f(x, 1 − t): integrating it from 0 to 1 is
// integrating f from 1 to 0.
type reversedField struct{ f flow.VelocityField }

func (r reversedField) Dim() int { return r.f.Dim() }
func (r reversedField) Velocity(t float64, x []float64, n int, v []float64) {
	r.f.Velocity(1-t, x, n, v)
	for i := range v[:n*r.f.Dim()] {
		v[i] = -v[i]
	}
}

// distill trains one student per block of m on the sampling direction and
// measures the students' one-step sample quality. The students are returned
// as a model (blocks with Reverse = true, sampled 0 → 1 with one Euler step).
func distill(ctx context.Context, cfg *Config, m *model.Model, test *data.Table, prog method.Progress) (*model.Model, *DistillResult, error) {
	t0 := time.Now()
	d := m.Dim()
	c := m.Chain()
	src, err := fmSource(cfg, d)
	if err != nil {
		return nil, nil, err
	}
	n := cfg.Distill.Pool
	pool := make([]float64, n*d)
	if err := src.Sample(n, rand.New(rand.NewPCG(cfg.Seed, 0xd1)), pool); err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	solver, err := cfg.Eval.options("eval")
	if err != nil {
		return nil, nil, err
	}
	fcfg := method.FMConfig{Optim: optimSettings(cfg), Net: netSpec(cfg, d)}
	fcfg.Iters = cfg.Distill.Iters
	fcfg.BatchSize = min(fcfg.BatchSize, n)
	fields := make([]model.Field, len(c.Blocks))
	infos := make([]model.BlockInfo, len(c.Blocks))
	// Sampling runs the chain from its last block (latent side) to its first.
	for k := len(c.Blocks) - 1; k >= 0; k-- {
		b := c.Blocks[k]
		teacher := b
		if !b.Reverse { // sampling integrates 1 → 0: distill the time-reversed field
			teacher = flow.Block{Field: reversedField{b.Field}, Reverse: true}
		}
		fcfg.Seed = cfg.Seed + uint64(k)
		student, _, err := method.Distill(ctx, teacher, pool, n, d, fcfg, solver, prog)
		if err != nil {
			return nil, nil, fmt.Errorf("distill block %d: %w", k, err)
		}
		fields[k] = student
		infos[k] = model.BlockInfo{Kind: "distilled", Gamma: m.Blocks[k].Gamma, Reverse: true}
		// The next block's pool: the teacher's map of this one.
		f := func(t float64, y, dy []float64) error {
			teacher.Field.Velocity(t, y, n, dy)
			return nil
		}
		if _, err := ode.Solve(ctx, f, pool, 0, 1, solver); err != nil {
			return nil, nil, fmt.Errorf("distill block %d: teacher map: %w", k, err)
		}
	}
	sm := &model.Model{Method: m.Method + "-distilled", Spec: netSpec(cfg, d), Blocks: infos, Fields: fields,
		Standardizer: m.Standardizer, Dequantized: m.Dequantized, Columns: m.Columns, Source: m.Source}
	if err := sm.Validate(); err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}

	// Sample quality at one Euler step per block: students and teacher.
	k := min(test.N, 5000)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x3e8))
	one := flow.Options{Solver: ode.Options{Method: ode.Euler, Steps: 1}}
	res := &DistillResult{Iters: cfg.Distill.Iters, Pool: n, Dir: DistilledDir}
	for i, mm := range []*model.Model{sm, m, m} {
		opt := one
		if i == 2 {
			opt.Solver = solver
		}
		opt.Rand = rand.New(rand.NewPCG(cfg.Seed, 0xfe))
		x, st, err := mm.Sample(ctx, k, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("distill: sample: %w", err)
		}
		w, err := metrics.SlicedW2(x, test.X[:k*d], k, k, d, 200, rng)
		if err != nil {
			return nil, nil, fmt.Errorf("distill: %w", err)
		}
		switch i {
		case 0:
			res.SlicedW2, res.NFE = w, st.NFE
		case 1:
			res.TeacherSlicedW2 = w
		case 2:
			res.TeacherAccurate = w
		}
	}
	res.Seconds = time.Since(t0).Seconds()
	return sm, res, nil
}

var _ flow.VelocityField = reversedField{}
