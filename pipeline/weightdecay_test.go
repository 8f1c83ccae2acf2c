package pipeline

import (
	"strings"
	"testing"
)

// train.weight_decay parses, reaches method.Optim, round-trips through the
// resolved config.yaml, and is left out of it when 0 (so that runs without
// weight decay keep their config text and checkpoint hash).
func TestWeightDecayKey(t *testing.T) {
	c, err := ParseConfig([]byte("train:\n  lr: 0.002\n  weight_decay: 0.01\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.WeightDecay != 0.01 {
		t.Fatalf("train.weight_decay = %g, want 0.01", c.Train.WeightDecay)
	}
	if o := optimSettings(&c); o.WeightDecay != 0.01 || o.LR != 0.002 {
		t.Errorf("method.Optim: WeightDecay %g, LR %g, want 0.01 and 0.002", o.WeightDecay, o.LR)
	}
	y, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(y), "\n    weight_decay: 0.01\n") {
		t.Errorf("config.yaml lacks weight_decay: 0.01:\n%s", y)
	}
	back, err := ParseConfig(y)
	if err != nil {
		t.Fatal(err)
	}
	if back.Train.WeightDecay != 0.01 {
		t.Errorf("round trip: weight_decay %g, want 0.01", back.Train.WeightDecay)
	}
	for _, m := range []string{"lfm", "jko", "cfm", "otcfm", "rf", "mle"} {
		d := DefaultConfigFor(m)
		if d.Train.WeightDecay != 0 {
			t.Errorf("%s: default weight decay %g, want 0", m, d.Train.WeightDecay)
		}
		y, err := d.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(y), "weight_decay") {
			t.Errorf("%s: default config.yaml names weight_decay:\n%s", m, y)
		}
	}
}

func TestWeightDecayErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"train:\n  weight_decay: -0.1\n", "train.weight_decay: must be finite and non-negative (0 disables weight decay), got -0.1"},
		{"train:\n  weight_decay: .inf\n", "train.weight_decay: must be finite and non-negative (0 disables weight decay), got +Inf"},
		{"train:\n  weight_decay: .nan\n", "train.weight_decay: must be finite and non-negative (0 disables weight decay), got NaN"},
		{"train:\n  lr: 0.01\n  weight_decay: 100\n", "train.weight_decay: must be below 1/train.lr = 100 (each step multiplies the weights by 1 − lr·weight_decay), got 100"},
		{"train:\n  weight_decay: None\n", `line 2: key "train.weight_decay": "None" is read as text, not as "no value"; write a value (0 disables weight decay), or delete the line to keep the default`},
		{"train:\n  weight_decay: lots\n", `line 2: key "train.weight_decay": want a number, got "lots"`},
	} {
		_, err := ParseConfig([]byte(tc.text))
		if err == nil || err.Error() != tc.want {
			t.Errorf("config %q: error %v, want %q", tc.text, err, tc.want)
		}
	}
	if _, err := ParseConfig([]byte("train:\n  lr: 0.01\n  weight_decay: 99.5\n")); err != nil {
		t.Errorf("lr·λ = 0.995: %v", err)
	}
}
