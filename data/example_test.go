package data_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/iterflow/iterflow/data"
)

func ExampleReadCSV() {
	in := "\"fixed acidity\";\"pH\";\"quality\"\n7.4;3.51;5\n7.8;3.2;5\n"
	t, err := data.ReadCSV(strings.NewReader(in), data.CSVOptions{Header: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.N, t.D, t.Names)
	fmt.Println(t.Row(1))
	_, err = data.ReadCSV(strings.NewReader("a,pH\n1,abc\n"), data.CSVOptions{Header: -1})
	fmt.Println(err)
	// Output:
	// 2 3 [fixed acidity pH quality]
	// [7.8 3.2 5]
	// read csv: line 2, column 2 ("pH"): cannot parse "abc" as a number
}

func ExampleTable_Select() {
	t, _ := data.NewTable([]float64{1, 2, 3, 4, 5, 6}, 2, 3, []string{"a", "b", "c"})
	s, _ := t.Select("c,0-1")
	fmt.Println(s.Names, s.X)
	_, err := t.Select("d")
	fmt.Println(err)
	// Output:
	// [c a b] [3 1 2 6 4 5]
	// select "d": unknown column name "d" (table has 3 columns: "a", "b", "c")
}

func ExampleStandardizer() {
	t, _ := data.NewTable([]float64{-1, 6, 3, 14}, 2, 2, nil)
	s, _ := data.FitStandardizer(t)
	y := append([]float64(nil), t.X...)
	s.Forward(y, t.N)
	fmt.Println(s.Mean, s.Std, y)
	// log p_x(x) = log p_y(y) + LogDet(), LogDet = −ln(2·4).
	fmt.Printf("%.6f\n", s.LogDet())
	// Output:
	// [1 10] [2 4] [-1 -1 1 1]
	// -2.079442
}

func ExampleDigits() {
	d := data.Digits()
	fmt.Println(d.N, d.D, d.Names[9], d.Row(0)[:8])
	// Output: 1797 64 pixel_1_1 [0 0 5 13 9 1 0 0]
}

func ExampleLogit() {
	// Pixels in [0, 256) after dequantization, RealNVP's logit with Alpha 0.05.
	l := &data.Logit{Lo: []float64{0, 0}, Hi: []float64{256, 256}, Alpha: 0.05}
	x := []float64{128, 12.5}
	logdet := make([]float64, 1)
	if err := l.ForwardLogDet(x, 1, logdet); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("y = [%.4f %.4f], log|det| = %.4f\n", x[0], x[1], logdet[0])
	_ = l.Inverse(x, 1)
	fmt.Printf("back: [%.4f %.4f]\n", x[0], x[1])
	fmt.Println(l.Forward([]float64{300, 0}, 1))
	// Output:
	// y = [0.0000 -2.2664], log|det| = -7.4511
	// back: [128.0000 12.5000]
	// logit: row 0, column 0: value 300 outside the bounds [0, 256]
}

func ExampleBitsPerDimScaled() {
	// A uniform model on x/256 ∈ [0, 1)^784 has NLL 0 nats on that scale.
	fmt.Printf("%.3f\n", data.BitsPerDimScaled(0, 784, 256))
	// The same model in pixel units: NLL = 784·ln 256.
	fmt.Printf("%.3f\n", data.BitsPerDim(784*math.Log(256), 784))
	// Output:
	// 8.000
	// 8.000
}
