package method

import (
	"errors"
	"testing"
)

func TestPushErrorHint(t *testing.T) {
	blow := errors.New("ode: rk4 failed at t = 0.4 (step size 0.1, state norm 1e+151): state beyond 1e+150 in magnitude: y[3] = 1e+151 (the solution blows up)")
	got := pushError("lfm", 2, "training", blow).Error()
	want := "lfm: block 2: pushing the training pool: " + blow.Error() +
		" (the trained velocity field is unstable: lower the learning rate, e.g. --lr, or clip the gradients, --clip)"
	if got != want {
		t.Errorf("blow-up:\n got  %q\n want %q", got, want)
	}
	other := errors.New("context canceled")
	err := pushError("jko: first pass", 0, "validation", other)
	if got, want := err.Error(), "jko: first pass: block 0: pushing the validation pool: context canceled"; got != want {
		t.Errorf("other error:\n got  %q\n want %q", got, want)
	}
	if !errors.Is(err, other) {
		t.Error("pushError does not wrap its error")
	}
}
