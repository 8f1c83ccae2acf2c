//go:build !openblas || !cgo

package nn

// The pure-Go build runs the Go reference kernels of tkern.go.

func tanInitK[T Float](out, wx, s []T, lo, hi, d, w int) { tanInitGo(out, wx, s, lo, hi, d, w) }

func scaleRowsK[T Float](t, s []T, lo, hi, k, w int) { scaleRowsGo(t, s, lo, hi, k, w) }

func traceDotK[T Float](div, tan, s, wlt []T, lo, hi, d, w int) {
	traceDotGo(div, tan, s, wlt, lo, hi, d, w)
}
