package maf_test

import (
	"fmt"

	"github.com/iterflow/iterflow/data/maf"
)

func ExampleSplitSizes() {
	tr, va, te := maf.SplitSizes(36488) // MINIBOONE
	fmt.Println(tr, va, te)
	s, _ := maf.Sizes("miniboone")
	fmt.Printf("%+v\n", s)
	// Output:
	// 29556 3284 3648
	// {D:43 Train:29556 Val:3284 Test:3648}
}

func ExampleRandomState() {
	r := maf.NewRandomState(42) // numpy.random.RandomState(42)
	fmt.Printf("%.8f %.8f\n", r.Float64(), r.Float64())
	// Output: 0.37454012 0.95071431
}
