package nn

import "golang.org/x/sys/cpu"

// RecommendedBLASCore returns the OPENBLAS_CORETYPE value to set when the
// fast build's OpenBLAS fell back to its SSE3-only "Prescott" kernels on a CPU
// it does not recognise although the CPU has AVX-512 ("SkylakeX") or AVX2 and
// FMA ("Haswell"); Debian 12's OpenBLAS 0.3.21 does so on recent Xeons, and its
// matrix products are then 3–5× slower. It returns "" when nothing needs
// changing: in the pure-Go build, when OpenBLAS chose a kernel set itself, or
// on a CPU without AVX2. OpenBLAS reads OPENBLAS_CORETYPE only when it is
// loaded, so the variable must be set before the process starts (the iterflow
// command restarts itself with it; `make bench` sets it).
func RecommendedBLASCore() string {
	if BLASCore() != "Prescott" {
		return ""
	}
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL:
		return "SkylakeX"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return "Haswell"
	}
	return ""
}
