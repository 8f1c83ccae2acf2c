// Package toy draws seeded samples from 2D toy densities used to test and
// illustrate flow-based generative models: checkerboard, 8gaussians, moons,
// pinwheel, 2spirals, circles, swissroll (the set popularized by FFJORD,
// arXiv 1810.01367), rose and tree (the shapes of JKO-iFlow, arXiv
// 2212.14424, and Local Flow Matching, arXiv 2410.02548, here drawn from
// curves rather than image masks), and the Gaussian N(0, [[7,5],[5,7]]).
//
// Every generator is our own construction; the geometry and scale of each
// dataset is given by Info. Samples are n×2 row-major []float64 slices.
package toy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// dataset describes one generator. box is the half-width B of the square
// [−B, B]² that holds the samples: always when exact, otherwise except with
// the probability stated in the description.
type dataset struct {
	info   string
	box    float64
	exact  bool
	sample func(out []float64, rng *rand.Rand)
}

// datasets returns the registry; built per call so no package state is mutable.
func datasets() map[string]dataset {
	return map[string]dataset{
		"checkerboard": {
			info:   "uniform on the 8 filled 2×2 squares of a 4×4 checkerboard on [−4, 4)² (square (i, j) = [−4+2i, −2+2i)×[−4+2j, −2+2j) is filled when i+j is even); exactly inside [−4, 4)²",
			box:    4,
			exact:  true,
			sample: checkerboard,
		},
		"8gaussians": {
			info:   "equal mixture of 8 isotropic Gaussians with std 1/(2√2) ≈ 0.354 centred on the circle of radius 2√2 ≈ 2.83 at angles kπ/4, k = 0..7; in [−4, 4]² except with probability < 3e-4 per point",
			box:    4,
			sample: eightGaussians,
		},
		"moons": {
			info:   "two interleaved half circles of radius 2, the upper centred at (−1, −0.5) (angles 0..π), the lower at (1, 0.5) (angles π..2π), equal mass, uniform in angle, plus isotropic Gaussian noise of std 0.1; in [−3.5, 3.5]² except with probability < 1e-6 per point",
			box:    3.5,
			sample: moons,
		},
		"pinwheel": {
			info:   "5 arms at base angles 2πk/5: point 2·R(φ)(r, s) with r ~ N(1, 0.3²), s ~ N(0, 0.1²), φ = 2πk/5 + 0.25·e^r; radius about 2 (up to ~4.5 in rare tails); in [−4, 4]² except with probability < 1e-3 per point",
			box:    4,
			sample: pinwheel,
		},
		"2spirals": {
			info:   "two interleaved Archimedean spirals, θ = 3π√u (u uniform), points ±(θ/3)(−cos θ, sin θ) (radius up to π), equal mass, plus isotropic Gaussian noise of std 0.1; in [−4, 4]² except with probability < 1e-6 per point",
			box:    4,
			sample: twoSpirals,
		},
		"circles": {
			info:   "two concentric circles of radii 1.5 and 3, equal mass, uniform in angle, plus isotropic Gaussian noise of std 0.1; in [−4, 4]² except with probability < 1e-6 per point",
			box:    4,
			sample: circles,
		},
		"swissroll": {
			info:   "2D swiss roll: t = 1.5π(1 + 2u) (u uniform), point (t cos t, t sin t)/5 (radius 0.94 to 2.83) plus isotropic Gaussian noise of std 0.1; in [−4, 4]² except with probability < 1e-6 per point",
			box:    4,
			sample: swissroll,
		},
		"rose": {
			info:   "rhodonea curve r = 3.5·cos(4θ) (8 petals of length 3.5 at angles kπ/4), θ uniform on [0, 2π), plus isotropic Gaussian noise of std 0.1; in [−4, 4]² except with probability < 1e-6 per point",
			box:    4,
			sample: rose,
		},
		"tree": {
			info:   "fractal binary tree of 6 levels (63 segments: trunk of length 2.2 from (0, −3.1) upwards, each branch splitting into two children turned ±30° and scaled by 0.7), uniform in arc length, plus isotropic Gaussian noise of std 0.05; tree inside [−3.3, 3.3]², samples in [−4, 4]² except with probability < 1e-6 per point",
			box:    4,
			sample: tree,
		},
		"gaussian": {
			info:   "Gaussian N(0, [[7, 5], [5, 7]]) (not rescaled: per-coordinate std √7 ≈ 2.65, about 3/4 of points in [−4, 4]²; unbounded)",
			box:    math.Inf(1),
			sample: gaussian,
		},
	}
}

// Names returns the names of the 2D datasets in sorted order.
func Names() []string {
	ds := datasets()
	names := make([]string, 0, len(ds))
	for name := range ds {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func lookup(name string) (dataset, error) {
	ds, ok := datasets()[name]
	if !ok {
		return dataset{}, fmt.Errorf("toy: unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return ds, nil
}

// Info returns a one-line description of the named dataset: its geometry,
// noise and the box that holds its samples. It returns an error for an
// unknown name, listing Names().
func Info(name string) (string, error) {
	ds, err := lookup(name)
	if err != nil {
		return "", err
	}
	return ds.info, nil
}

// Sample draws n points of the named 2D dataset using rng and returns them as
// an n×2 row-major slice (x_i = out[2i], y_i = out[2i+1]). The same rng state
// gives the same points. It returns an error for an unknown name (listing
// Names()), n < 0, or a nil rng; n = 0 gives an empty slice.
func Sample(name string, n int, rng *rand.Rand) ([]float64, error) {
	ds, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("toy: sample %s: n = %d, need n ≥ 0", name, n)
	}
	if rng == nil {
		return nil, fmt.Errorf("toy: sample %s: nil random source", name)
	}
	out := make([]float64, 2*n)
	ds.sample(out, rng)
	return out, nil
}

func checkerboard(out []float64, rng *rand.Rand) {
	for p := 0; p < len(out); p += 2 {
		k := rng.IntN(8)
		j := k / 2         // row 0..3
		i := 2*(k%2) + j%2 // column 0..3 with i+j even
		out[p] = -4 + 2*float64(i) + 2*rng.Float64()
		out[p+1] = -4 + 2*float64(j) + 2*rng.Float64()
	}
}

func eightGaussians(out []float64, rng *rand.Rand) {
	const radius, std = 2 * math.Sqrt2, 1 / (2 * math.Sqrt2)
	for p := 0; p < len(out); p += 2 {
		a := float64(rng.IntN(8)) * math.Pi / 4
		out[p] = radius*math.Cos(a) + std*rng.NormFloat64()
		out[p+1] = radius*math.Sin(a) + std*rng.NormFloat64()
	}
}

func moons(out []float64, rng *rand.Rand) {
	const radius, noise = 2, 0.1
	for p := 0; p < len(out); p += 2 {
		a := math.Pi * rng.Float64()
		cx, cy, sy := -1.0, -0.5, 1.0
		if rng.IntN(2) == 1 {
			cx, cy, sy = 1, 0.5, -1
		}
		out[p] = cx + radius*math.Cos(a) + noise*rng.NormFloat64()
		out[p+1] = cy + sy*radius*math.Sin(a) + noise*rng.NormFloat64()
	}
}

func pinwheel(out []float64, rng *rand.Rand) {
	const arms, radialStd, tangentStd, rate = 5, 0.3, 0.1, 0.25
	for p := 0; p < len(out); p += 2 {
		k := rng.IntN(arms)
		r := 1 + radialStd*rng.NormFloat64()
		s := tangentStd * rng.NormFloat64()
		phi := 2*math.Pi*float64(k)/arms + rate*math.Exp(r)
		c, sn := math.Cos(phi), math.Sin(phi)
		out[p] = 2 * (c*r - sn*s)
		out[p+1] = 2 * (sn*r + c*s)
	}
}

func twoSpirals(out []float64, rng *rand.Rand) {
	const noise = 0.1
	for p := 0; p < len(out); p += 2 {
		th := 3 * math.Pi * math.Sqrt(rng.Float64())
		sgn := 1.0
		if rng.IntN(2) == 1 {
			sgn = -1
		}
		out[p] = sgn*(-th/3)*math.Cos(th) + noise*rng.NormFloat64()
		out[p+1] = sgn*(th/3)*math.Sin(th) + noise*rng.NormFloat64()
	}
}

func circles(out []float64, rng *rand.Rand) {
	const noise = 0.1
	for p := 0; p < len(out); p += 2 {
		r := 1.5
		if rng.IntN(2) == 1 {
			r = 3
		}
		a := 2 * math.Pi * rng.Float64()
		out[p] = r*math.Cos(a) + noise*rng.NormFloat64()
		out[p+1] = r*math.Sin(a) + noise*rng.NormFloat64()
	}
}

func swissroll(out []float64, rng *rand.Rand) {
	const noise = 0.1
	for p := 0; p < len(out); p += 2 {
		t := 1.5 * math.Pi * (1 + 2*rng.Float64())
		out[p] = t*math.Cos(t)/5 + noise*rng.NormFloat64()
		out[p+1] = t*math.Sin(t)/5 + noise*rng.NormFloat64()
	}
}

func rose(out []float64, rng *rand.Rand) {
	const scale, k, noise = 3.5, 4, 0.1
	for p := 0; p < len(out); p += 2 {
		th := 2 * math.Pi * rng.Float64()
		r := scale * math.Cos(k*th)
		out[p] = r*math.Cos(th) + noise*rng.NormFloat64()
		out[p+1] = r*math.Sin(th) + noise*rng.NormFloat64()
	}
}

// segment is a line segment from (x0, y0) to (x1, y1).
type segment struct{ x0, y0, x1, y1 float64 }

func (s segment) length() float64 { return math.Hypot(s.x1-s.x0, s.y1-s.y0) }

// Tree geometry (see Info): levels, trunk, branching angle and length ratio.
const (
	treeLevels = 6
	treeTrunk  = 2.2
	treeBottom = -3.1
	treeAngle  = math.Pi / 6
	treeRatio  = 0.7
	treeNoise  = 0.05
)

// treeSegments returns the 2^treeLevels − 1 segments of the fractal tree in
// breadth-first order (index 0 is the trunk, the last 32 are the leaves).
func treeSegments() []segment {
	type branch struct {
		x, y, dir, length float64
	}
	segs := make([]segment, 0, 1<<treeLevels-1)
	level := []branch{{0, treeBottom, math.Pi / 2, treeTrunk}}
	for l := 0; l < treeLevels; l++ {
		next := make([]branch, 0, 2*len(level))
		for _, b := range level {
			x1 := b.x + b.length*math.Cos(b.dir)
			y1 := b.y + b.length*math.Sin(b.dir)
			segs = append(segs, segment{b.x, b.y, x1, y1})
			next = append(next,
				branch{x1, y1, b.dir + treeAngle, b.length * treeRatio},
				branch{x1, y1, b.dir - treeAngle, b.length * treeRatio})
		}
		level = next
	}
	return segs
}

func tree(out []float64, rng *rand.Rand) {
	segs := treeSegments()
	cum := make([]float64, len(segs))
	total := 0.0
	for i, s := range segs {
		total += s.length()
		cum[i] = total
	}
	for p := 0; p < len(out); p += 2 {
		u := total * rng.Float64()
		i := sort.SearchFloat64s(cum, u)
		if i == len(segs) {
			i--
		}
		s := segs[i]
		a := rng.Float64()
		out[p] = s.x0 + a*(s.x1-s.x0) + treeNoise*rng.NormFloat64()
		out[p+1] = s.y0 + a*(s.y1-s.y0) + treeNoise*rng.NormFloat64()
	}
}

func gaussian(out []float64, rng *rand.Rand) {
	// Cholesky factor of [[7, 5], [5, 7]]: [[√7, 0], [5/√7, √(24/7)]].
	l00, l10, l11 := math.Sqrt(7), 5/math.Sqrt(7), math.Sqrt(24.0/7)
	for p := 0; p < len(out); p += 2 {
		z0, z1 := rng.NormFloat64(), rng.NormFloat64()
		out[p] = l00 * z0
		out[p+1] = l10*z0 + l11*z1
	}
}
