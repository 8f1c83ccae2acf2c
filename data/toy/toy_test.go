package toy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

func draw(t *testing.T, name string, n int, seed uint64) []float64 {
	t.Helper()
	x, err := Sample(name, n, newRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// within4SE fails unless count is within 4 binomial standard errors of n·p.
func within4SE(t *testing.T, what string, count, n int, p float64) {
	t.Helper()
	se := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(count)-float64(n)*p) > 4*se {
		t.Errorf("%s: count %d, want %.0f ± %.0f (4 SE)", what, count, float64(n)*p, 4*se)
	}
}

// wrap maps an angle to (−π, π].
func wrap(a float64) float64 {
	a = math.Mod(a, 2*math.Pi)
	if a > math.Pi {
		a -= 2 * math.Pi
	} else if a <= -math.Pi {
		a += 2 * math.Pi
	}
	return a
}

func TestNamesAndInfo(t *testing.T) {
	want := []string{"2spirals", "8gaussians", "checkerboard", "circles", "gaussian", "moons", "pinwheel", "rose", "swissroll", "tree"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range want {
		info, err := Info(name)
		if err != nil || info == "" {
			t.Errorf("Info(%q) = %q, %v", name, info, err)
		}
	}
}

func TestErrors(t *testing.T) {
	const unknown = `toy: unknown dataset "spiral" (known: 2spirals, 8gaussians, checkerboard, circles, gaussian, moons, pinwheel, rose, swissroll, tree)`
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"sample unknown", second(Sample("spiral", 10, newRNG(1))), unknown},
		{"info unknown", second(Info("spiral")), unknown},
		{"negative n", second(Sample("moons", -1, newRNG(1))), "toy: sample moons: n = -1, need n ≥ 0"},
		{"nil rng", second(Sample("rose", 5, nil)), "toy: sample rose: nil random source"},
	}
	for _, tc := range tests {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	x, err := Sample("tree", 0, newRNG(1))
	if err != nil || x == nil || len(x) != 0 {
		t.Errorf("Sample(tree, 0) = %v, %v; want empty non-nil slice", x, err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestCommon checks, for every dataset: shape n×2, finite values,
// reproducibility for a seed, difference across seeds, and the documented box.
func TestCommon(t *testing.T) {
	const n = 5000
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			x := draw(t, name, n, 1)
			if len(x) != 2*n {
				t.Fatalf("len = %d, want %d", len(x), 2*n)
			}
			for i, v := range x {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("x[%d] = %v", i, v)
				}
			}
			if y := draw(t, name, n, 1); !slices.Equal(x, y) {
				t.Error("same seed gave different samples")
			}
			if y := draw(t, name, n, 2); slices.Equal(x[:20], y[:20]) {
				t.Error("different seeds gave the same samples")
			}
			ds, _ := lookup(name)
			outside := 0
			for i := 0; i < n; i++ {
				if math.Abs(x[2*i]) > ds.box || math.Abs(x[2*i+1]) > ds.box {
					outside++
				}
			}
			limit := 0
			if !ds.exact {
				limit = 5 // documented probabilities are ≤ 1e-3 per point: mean ≤ 5 for n = 5000
			}
			if outside > limit {
				t.Errorf("%d points outside [−%g, %g]², want ≤ %d", outside, ds.box, ds.box, limit)
			}
		})
	}
}

func TestCheckerboard(t *testing.T) {
	const n = 16000
	x := draw(t, "checkerboard", n, 3)
	counts := map[[2]int]int{}
	for p := 0; p < 2*n; p += 2 {
		if x[p] < -4 || x[p] >= 4 || x[p+1] < -4 || x[p+1] >= 4 {
			t.Fatalf("point (%g, %g) outside [−4, 4)²", x[p], x[p+1])
		}
		i, j := int(math.Floor((x[p]+4)/2)), int(math.Floor((x[p+1]+4)/2))
		if (i+j)%2 != 0 {
			t.Fatalf("point (%g, %g) lies in empty square (%d, %d)", x[p], x[p+1], i, j)
		}
		counts[[2]int{i, j}]++
	}
	if len(counts) != 8 {
		t.Fatalf("points fill %d squares, want 8", len(counts))
	}
	for sq, c := range counts {
		within4SE(t, fmt.Sprintf("square %v", sq), c, n, 1.0/8)
	}
	// Uniform within squares: the offset inside a square has mean 1, var 1/3.
	var s, s2 float64
	for p := 0; p < 2*n; p++ {
		u := x[p] + 4 - 2*math.Floor((x[p]+4)/2)
		s += u
		s2 += u * u
	}
	mean, vr := s/(2*n), s2/(2*n)-(s/(2*n))*(s/(2*n))
	if math.Abs(mean-1) > 0.02 || math.Abs(vr-1.0/3) > 0.02 {
		t.Errorf("offset in square: mean %.4f var %.4f, want 1 and 1/3", mean, vr)
	}
}

func TestEightGaussians(t *testing.T) {
	const n = 16000
	x := draw(t, "8gaussians", n, 4)
	r, std := 2*math.Sqrt2, 1/(2*math.Sqrt2)
	var count [8]int
	var sx, sy, sxx, syy [8]float64
	for p := 0; p < 2*n; p += 2 {
		best, bd := 0, math.Inf(1)
		for k := 0; k < 8; k++ {
			a := float64(k) * math.Pi / 4
			if d := math.Hypot(x[p]-r*math.Cos(a), x[p+1]-r*math.Sin(a)); d < bd {
				best, bd = k, d
			}
		}
		count[best]++
		dx, dy := x[p]-r*math.Cos(float64(best)*math.Pi/4), x[p+1]-r*math.Sin(float64(best)*math.Pi/4)
		sx[best] += dx
		sy[best] += dy
		sxx[best] += dx * dx
		syy[best] += dy * dy
	}
	for k := 0; k < 8; k++ {
		within4SE(t, "cluster", count[k], n, 1.0/8)
		c := float64(count[k])
		if mx, my := sx[k]/c, sy[k]/c; math.Hypot(mx, my) > 0.03 {
			t.Errorf("cluster %d: mean offset from centre (%.3f, %.3f)", k, mx, my)
		}
		for _, v := range []float64{sxx[k] / c, syy[k] / c} {
			if s := math.Sqrt(v); math.Abs(s-std) > 0.05*std {
				t.Errorf("cluster %d: std %.4f, want %.4f ± 5%%", k, s, std)
			}
		}
	}
}

func TestGaussian(t *testing.T) {
	const n = 20000
	x := draw(t, "gaussian", n, 5)
	var m [2]float64
	var c [2][2]float64
	for p := 0; p < 2*n; p += 2 {
		for i := 0; i < 2; i++ {
			m[i] += x[p+i]
			for j := 0; j < 2; j++ {
				c[i][j] += x[p+i] * x[p+j]
			}
		}
	}
	sigma := [2][2]float64{{7, 5}, {5, 7}}
	for i := 0; i < 2; i++ {
		m[i] /= n
		if se := math.Sqrt(sigma[i][i] / n); math.Abs(m[i]) > 3*se {
			t.Errorf("mean[%d] = %.4f, want 0 ± %.4f", i, m[i], 3*se)
		}
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			cov := c[i][j]/n - m[i]*m[j]
			// Var(x_i x_j) = Σii Σjj + Σij² for a centred Gaussian.
			se := math.Sqrt((sigma[i][i]*sigma[j][j] + sigma[i][j]*sigma[i][j]) / n)
			if math.Abs(cov-sigma[i][j]) > 3*se {
				t.Errorf("cov[%d,%d] = %.4f, want %g ± %.4f (3 SE)", i, j, cov, sigma[i][j], 3*se)
			}
		}
	}
}

func TestCircles(t *testing.T) {
	const n = 10000
	x := draw(t, "circles", n, 6)
	const width = 0.25
	hist := make([]int, 18) // radii [0, 4.5)
	var inner, outer int
	var sIn, sOut float64
	for p := 0; p < 2*n; p += 2 {
		rad := math.Hypot(x[p], x[p+1])
		hist[min(int(rad/width), len(hist)-1)]++
		if rad < 2.25 {
			inner++
			sIn += rad
		} else {
			outer++
			sOut += rad
		}
	}
	// Local maxima of the histogram: exactly the bins holding 1.5 and 3.
	var modes []float64
	for b := range hist {
		left, right := -1, -1
		if b > 0 {
			left = hist[b-1]
		}
		if b+1 < len(hist) {
			right = hist[b+1]
		}
		if hist[b] > 0.02*n && hist[b] >= left && hist[b] > right {
			modes = append(modes, (float64(b)+0.5)*width)
		}
	}
	if len(modes) != 2 || math.Abs(modes[0]-1.5) > width || math.Abs(modes[1]-3) > width {
		t.Errorf("radius histogram modes at %v, want 1.5 and 3 (histogram %v)", modes, hist)
	}
	if hist[int(2.25/width)] > n/200 {
		t.Errorf("%d points with radius in [2.25, 2.5), want a gap between the circles", hist[9])
	}
	within4SE(t, "inner circle", inner, n, 0.5)
	if mi, mo := sIn/float64(inner), sOut/float64(outer); math.Abs(mi-1.5) > 0.01 || math.Abs(mo-3) > 0.01 {
		t.Errorf("mean radii %.4f, %.4f; want 1.5, 3", mi, mo)
	}
}

// arcDistance is the distance from q to the arc of radius 2 centred at c that
// spans the angles [a0, a0+π].
func arcDistance(qx, qy, cx, cy, a0 float64) float64 {
	dx, dy := qx-cx, qy-cy
	a := wrap(math.Atan2(dy, dx) - a0)
	if a >= 0 && a <= math.Pi {
		return math.Abs(math.Hypot(dx, dy) - 2)
	}
	e0 := math.Hypot(dx-2*math.Cos(a0), dy-2*math.Sin(a0))
	e1 := math.Hypot(dx+2*math.Cos(a0), dy+2*math.Sin(a0))
	return math.Min(e0, e1)
}

func TestMoons(t *testing.T) {
	const n = 10000
	x := draw(t, "moons", n, 7)
	upper := 0
	var ss float64
	for p := 0; p < 2*n; p += 2 {
		du := arcDistance(x[p], x[p+1], -1, -0.5, 0)
		dl := arcDistance(x[p], x[p+1], 1, 0.5, math.Pi)
		if du < dl {
			upper++
		}
		d := math.Min(du, dl)
		ss += d * d
	}
	within4SE(t, "upper moon", upper, n, 0.5)
	// The radial part of isotropic noise of std 0.1 has RMS 0.1.
	if rms := math.Sqrt(ss / n); math.Abs(rms-0.1) > 0.01 {
		t.Errorf("RMS distance to the moons %.4f, want 0.1 ± 0.01", rms)
	}
}

func TestPinwheel(t *testing.T) {
	const n = 10000
	x := draw(t, "pinwheel", n, 8)
	var count [5]int
	near := 0
	for p := 0; p < 2*n; p += 2 {
		rho := math.Hypot(x[p], x[p+1]) / 2
		psi := math.Atan2(x[p+1], x[p]) - 0.25*math.Exp(rho)
		k := int(math.Round(psi/(2*math.Pi/5))) % 5
		k = (k + 5) % 5
		count[k]++
		if math.Abs(wrap(psi-2*math.Pi*float64(k)/5)) < 0.4 {
			near++
		}
	}
	for k := range count {
		within4SE(t, "arm", count[k], n, 0.2)
	}
	if frac := float64(near) / n; frac < 0.95 {
		t.Errorf("%.3f of points within 0.4 rad of an arm, want ≥ 0.95", frac)
	}
}

func TestTwoSpirals(t *testing.T) {
	const n = 10000
	x := draw(t, "2spirals", n, 9)
	var m, first, near int
	for p := 0; p < 2*n; p += 2 {
		rho := math.Hypot(x[p], x[p+1])
		if rho < 1 {
			continue
		}
		m++
		// Spiral +: polar angle π − 3ρ; spiral −: −3ρ.
		res := wrap(math.Atan2(x[p+1], x[p]) + 3*rho - math.Pi)
		if math.Abs(res) < math.Pi/2 {
			first++
		}
		if math.Abs(res) < 0.6 || math.Pi-math.Abs(res) < 0.6 {
			near++
		}
	}
	within4SE(t, "first spiral", first, m, 0.5)
	// ρ = π√u (noise aside): P(ρ < π/2) = 1/4, and the 90% quantile is π√0.9.
	rho := make([]float64, n)
	inner := 0
	for i := range rho {
		rho[i] = math.Hypot(x[2*i], x[2*i+1])
		if rho[i] < math.Pi/2 {
			inner++
		}
	}
	within4SE(t, "radius < π/2", inner, n, 0.25)
	sort.Float64s(rho)
	if q, want := rho[n*90/100], math.Pi*math.Sqrt(0.9); math.Abs(q-want) > 0.05 {
		t.Errorf("90%% radius quantile %.4f, want %.4f ± 0.05", q, want)
	}
	if frac := float64(near) / float64(m); frac < 0.85 {
		t.Errorf("%.3f of points with radius > 1 within 0.6 rad of a spiral, want ≥ 0.85", frac)
	}
}

func TestSwissroll(t *testing.T) {
	const n = 10000
	x := draw(t, "swissroll", n, 10)
	near, inRange := 0, 0
	for p := 0; p < 2*n; p += 2 {
		rho := math.Hypot(x[p], x[p+1])
		if math.Abs(wrap(math.Atan2(x[p+1], x[p])-5*rho)) < 1 {
			near++
		}
		if rho > 1.5*math.Pi/5-0.4 && rho < 4.5*math.Pi/5+0.4 {
			inRange++
		}
	}
	if frac := float64(near) / n; frac < 0.9 {
		t.Errorf("%.3f of points within 1 rad of the roll, want ≥ 0.9", frac)
	}
	if inRange != n {
		t.Errorf("%d of %d radii in [0.94 − 0.4, 2.83 + 0.4]", inRange, n)
	}
}

func TestRose(t *testing.T) {
	const n = 16000
	x := draw(t, "rose", n, 11)
	var petals [8]int
	for p := 0; p < 2*n; p += 2 {
		phi := math.Atan2(x[p+1], x[p])
		k := (int(math.Round(phi/(math.Pi/4))) + 8) % 8
		petals[k]++
	}
	for k := range petals {
		within4SE(t, "petal", petals[k], n, 1.0/8)
	}
	// Distance to the curve r = 3.5 cos 4θ, discretized finely (spacing < 0.02).
	const m = 4000
	cx, cy := make([]float64, m), make([]float64, m)
	for i := range cx {
		th := 2 * math.Pi * float64(i) / m
		r := 3.5 * math.Cos(4*th)
		cx[i], cy[i] = r*math.Cos(th), r*math.Sin(th)
	}
	const nd = 2000
	dist := make([]float64, nd)
	for i := range dist {
		bd := math.Inf(1)
		for j := range cx {
			bd = math.Min(bd, math.Hypot(x[2*i]-cx[j], x[2*i+1]-cy[j]))
		}
		dist[i] = bd
	}
	sort.Float64s(dist)
	// For noise of std 0.1 the normal component's median |·| is 0.0674.
	if med := dist[nd/2]; math.Abs(med-0.0674) > 0.01 {
		t.Errorf("median distance to the rose curve %.4f, want 0.0674 ± 0.01", med)
	}
}

func TestTree(t *testing.T) {
	segs := treeSegments()
	if len(segs) != 63 {
		t.Fatalf("%d segments, want 63", len(segs))
	}
	total := 0.0
	for _, s := range segs {
		for _, v := range []float64{s.x0, s.y0, s.x1, s.y1} {
			if math.Abs(v) > 3.3 {
				t.Fatalf("segment %v leaves [−3.3, 3.3]²", s)
			}
		}
		total += s.length()
	}
	// Each level has 2^l segments of length 2.2·0.7^l: total 2.2·Σ 1.4^l.
	if want := 2.2 * (math.Pow(1.4, 6) - 1) / 0.4; math.Abs(total-want) > 1e-12 {
		t.Errorf("total length %.6f, want %.6f", total, want)
	}
	const n = 10000
	x := draw(t, "tree", n, 12)
	trunk, near := 0, 0
	dist := make([]float64, 0, n)
	for p := 0; p < 2*n; p += 2 {
		best, bd := 0, math.Inf(1)
		for i, s := range segs {
			if d := segDistance(x[p], x[p+1], s); d < bd {
				best, bd = i, d
			}
		}
		if bd < 0.2 { // 4σ for noise of std 0.05
			near++
		}
		dist = append(dist, bd)
		// The trunk is far from every other segment except near its top.
		if best == 0 && x[p+1] < -1.2 {
			trunk++
		}
	}
	if frac := float64(near) / n; frac < 0.99 {
		t.Errorf("%.4f of points within 4σ of a segment, want ≥ 0.99", frac)
	}
	// The normal component of noise of std 0.05 has median |·| 0.0337; the
	// nearest segment can only be closer.
	sort.Float64s(dist)
	if med := dist[n/2]; med < 0.028 || med > 0.037 {
		t.Errorf("median distance to the tree %.4f, want about 0.0337 (in [0.028, 0.037])", med)
	}
	// Points on the trunk below y = −1.2: length 1.9 of the total.
	within4SE(t, "trunk", trunk, n, 1.9/total)
}

func segDistance(px, py float64, s segment) float64 {
	dx, dy := s.x1-s.x0, s.y1-s.y0
	a := ((px-s.x0)*dx + (py-s.y0)*dy) / (dx*dx + dy*dy)
	a = math.Max(0, math.Min(1, a))
	return math.Hypot(px-s.x0-a*dx, py-s.y0-a*dy)
}

func BenchmarkSample(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			rng := newRNG(1)
			for b.Loop() {
				if _, err := Sample(name, 10000, rng); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
