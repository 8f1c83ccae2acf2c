package registry_test

import (
	"context"
	"fmt"

	"github.com/iterflow/iterflow/data/registry"
)

func ExampleLookup() {
	d, err := registry.Lookup("white-wine")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Kind, d.Dim, d.Rows, d.Train, d.Val, d.Test)
	fmt.Println(d.Files[0].Path)
	_, err = registry.Lookup("mnit")
	fmt.Println(err)
	// Output:
	// table 11 4898 3918 490 490
	// uci_small/winequality-white.csv
	// unknown dataset "mnit" (did you mean: mnist?)
}

func ExampleLoad() {
	// The embedded digits need no data directory.
	l, err := registry.Load(context.Background(), "digits", registry.Options{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Train.N, l.Val.N, l.Test.N, l.Train.D)
	fmt.Println(l.Dropped[0].Name, "-", l.Dropped[0].Reason)
	// Output:
	// 1437 180 180 61
	// pixel_0_0 - constant (value 0)
}

func ExampleSplitSizes() {
	fmt.Println(registry.SplitSizes(4898, 0.1, 0.1))
	// Output: 3918 490 490
}
