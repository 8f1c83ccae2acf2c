package report_test

import (
	"fmt"

	"github.com/iterflow/iterflow/report"
)

func ExampleTable() {
	fmt.Print(report.Table([]string{"dataset", "NLL"}, [][]string{{"wine", "10.51"}, {"digits", "31.2"}}))
	// Output:
	// | dataset | NLL   |
	// |---------|-------|
	// | wine    | 10.51 |
	// | digits  | 31.2  |
}
