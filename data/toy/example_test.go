package toy_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/iterflow/iterflow/data/toy"
)

func ExampleNames() {
	fmt.Println(toy.Names())
	// Output: [2spirals 8gaussians checkerboard circles gaussian moons pinwheel rose swissroll tree]
}

func ExampleSample() {
	x, err := toy.Sample("checkerboard", 1000, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(x)/2, "points, row-major n×2")
	// Output: 1000 points, row-major n×2
}
