package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := c.Gammas()
	if err != nil || len(g) != 3 || g[0] != 0.2 || g[2] != 0.2*1.5*1.5 {
		t.Fatalf("default gammas %v %v", g, err)
	}
}

func TestLoadConfigOverridesDefaults(t *testing.T) {
	p := writeConfig(t, "data: wine.csv\ncolumns: 0-10\nlfm:\n  gammas: [0.1, 0.2]\n  free_block: false\ntrain:\n  iters: 5\nout: ~\n")
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "wine.csv" || c.Columns != "0-10" || c.Train.Iters != 5 || c.LFM.FreeBlock || c.Out != "" {
		t.Errorf("config %+v", c)
	}
	// Untouched keys keep their defaults.
	if c.Train.BatchSize != DefaultConfig().Train.BatchSize || c.Model.Activation != "softplus" {
		t.Errorf("defaults lost: %+v", c)
	}
	if g, _ := c.Gammas(); len(g) != 2 || g[1] != 0.2 {
		t.Errorf("gammas %v", g)
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"trian:\n  iters: 5\n", `line 1: unknown key "trian"`},
		{"train:\n  iters: many\n", `line 2: key "train.iters": want a whole number, got "many"`},
		{"train:\n  ema: None\n", `line 2: key "train.ema": "None" is read as text, not as "no value"; write a value (0 disables clip and ema), or delete the line to keep the default`},
		{"out: None\n", `key "out": "None" is read as text`},
		{"train:\n  iters: 20.5\n", `line 2: key "train.iters": want a whole number, got 20.5`},
		{"model:\n  hidden: [16, 8.5]\n", `line 2: key "model.hidden": want a whole number, got 8.5`},
		{"train:\n  lr: -1\n", "train.lr: must be positive, got -1"},
		{"model:\n  activation: gelu\n", `model.activation: unknown activation "gelu"`},
		{"lfm:\n  gammas: [0.1, 0]\n", "lfm.gammas: schedule: step 2 is 0"},
		{"eval:\n  solver: dopri5\n  rtol: 0\n", "eval: dopri5 needs positive rtol and atol, got 0 and 1e-05"},
		{"method: ffjord\n", `method: unknown method "ffjord" (available: lfm, jko, cfm, otcfm, rf, mle)`},
		{"dequantize: maybe\n", `dequantize: unknown value "maybe" (want auto, none or all)`},
	} {
		_, err := LoadConfig(writeConfig(t, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to contain %q", tc.text, err, tc.want)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestResolvedConfigRoundTrips(t *testing.T) {
	c := DefaultConfig()
	c.LFM.Gammas = []float64{0.3}
	y, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(writeConfig(t, string(y)))
	if err != nil {
		t.Fatalf("saved config does not load: %v\n%s", err, y)
	}
	y2, _ := back.YAML()
	if string(y) != string(y2) {
		t.Errorf("round trip changed the config:\n%s\n---\n%s", y, y2)
	}
}

func TestSourceNeedsAFlowMatchingMethod(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"method: lfm\nsource: 8gaussians\n", `source: lfm assumes an N(0, I) latent; a source "8gaussians" needs cfm, otcfm or rf`},
		{"method: jko\nsource: 8gaussians\n", `source: jko assumes an N(0, I) latent`},
		{"method: cfm\nsource: nowhere\n", `source: unknown 2D generator "nowhere"`},
		{"method: cfm\nfm:\n  reflow: 2\n", "fm.reflow: reflow rounds are for --method rf, not cfm"},
		{"method: otcfm\nfm:\n  coupling: greedy\n", "fm.coupling: "},
	} {
		_, err := LoadConfig(writeConfig(t, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to contain %q", tc.text, err, tc.want)
		}
	}
	c, err := LoadConfig(writeConfig(t, "method: otcfm\ndata: moons\nsource: 8gaussians\n"))
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := c.fmCoupling(); k.String() != "exact" || c.Train.Iters != 4000 {
		t.Errorf("otcfm defaults: coupling %v, iters %d", k, c.Train.Iters)
	}
}

func TestJKOSettingsNeedJKO(t *testing.T) {
	_, err := LoadConfig(writeConfig(t, "method: lfm\njko:\n  linear: true\n"))
	if err == nil || !strings.Contains(err.Error(), "jko: linear, reparam, refine and steps are settings of --method jko, not lfm") {
		t.Errorf("got %v", err)
	}
}
