package data

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkReadCSV(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 5000; i++ {
		for j := 0; j < 12; j++ {
			if j > 0 {
				buf.WriteByte(';')
			}
			fmt.Fprintf(&buf, "%.4f", float64(i*j)/7)
		}
		buf.WriteByte('\n')
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ReadCSV(bytes.NewReader(in), CSVOptions{Header: -1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigits(b *testing.B) {
	for b.Loop() {
		_ = Digits()
	}
}
