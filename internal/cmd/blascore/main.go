// Command blascore prints the OPENBLAS_CORETYPE that the fast build should run
// with on this machine (nn.RecommendedBLASCore), or nothing. The Makefile's
// bench target uses it.
package main

import (
	"fmt"

	"github.com/iterflow/iterflow/nn"
)

func main() {
	if c := nn.RecommendedBLASCore(); c != "" {
		fmt.Println(c)
	}
}
