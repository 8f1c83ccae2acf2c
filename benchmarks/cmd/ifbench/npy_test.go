package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		x     []float64
		shape []int
	}{
		{"matrix", []float64{1, -2.5, 3e-300, 4, 5, 6}, []int{3, 2}},
		{"vector", []float64{0.1, 0.2, 0.3}, []int{3}},
		{"empty", nil, []int{0, 4}},
	} {
		p := filepath.Join(t.TempDir(), tc.name+".npy")
		if err := writeNPY(p, tc.x, tc.shape...); err != nil {
			t.Fatal(err)
		}
		if tc.shape[0] == 0 {
			continue
		}
		tab, err := readNPY(p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tab.N != tc.shape[0] || len(tab.X) != len(tc.x) {
			t.Fatalf("%s: got %d×%d, want shape %v", tc.name, tab.N, tab.D, tc.shape)
		}
		for i, v := range tc.x {
			if tab.X[i] != v {
				t.Errorf("%s: value %d = %g, want %g", tc.name, i, tab.X[i], v)
			}
		}
	}
	if err := writeNPY(filepath.Join(t.TempDir(), "bad.npy"), []float64{1, 2, 3}, 2, 2); err == nil ||
		!strings.HasSuffix(err.Error(), "bad.npy: 3 values for shape [2 2]") {
		t.Errorf("shape mismatch: err = %v", err)
	}
}

func TestParseInts(t *testing.T) {
	got, err := parseInts("256, 128,64")
	if err != nil || len(got) != 3 || got[0] != 256 || got[1] != 128 || got[2] != 64 {
		t.Fatalf("parseInts = %v, %v", got, err)
	}
	if _, err := parseInts("256,x"); err == nil {
		t.Fatal("parseInts(\"256,x\") gave no error")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 4}, 4}, {[]float64{4, 1, 3, 2}, 2.5}} {
		in := slices.Clone(c.xs)
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %g, want %g", in, got, c.want)
		}
		if !slices.Equal(in, c.xs) {
			t.Errorf("median reordered its input: %v", c.xs)
		}
	}
}
