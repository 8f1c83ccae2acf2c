package interp

// The row scan of the assignment solver: the candidate pass, reselect and
// the auction's row rescans all call
//
//	scanBelow(row, v []float64, thr float64, bk []float64, bj []int32, nb, k int) (cnt int, thr float64, finite bool)
//
// which feeds the values x_j = row[j] − v[j] (v at least as long as row;
// zeros for the raw costs) below thr into the buffer bk, bj (values,
// columns; room for nb+scanSlack entries), cutting it back to the k least
// by quickselect (selectSmallest) whenever it holds nb or more, which lowers
// thr to the k-th least. It returns the entries kept, the final threshold
// (every value of the row not kept is ≥ it) and whether every x_j is finite
// (their sum times 0 is NaN otherwise). The entries kept are the same in
// both implementations up to ties; only the moments of the cuts differ.
//
// scan_pure.go holds the pure-Go loop (unrolled by four), scan_cgo.go the
// fast build's C loop (AVX2, eight columns per iteration), which the
// auction's rescans — each reads a whole 8 KB cost row at n = 1024 from
// the last-level cache — made worth writing.

// scanSlack is the room the scan buffers need past nb: a scan may append up
// to a whole group of columns (eight in the C loop) after the buffer
// reaches nb−1 entries.
const scanSlack = 8
