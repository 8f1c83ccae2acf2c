package registry

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ulikunitz/xz"
)

// maxArrayBytes bounds the size an IDX or NPY header may declare (1 TiB);
// memory is only committed as data actually arrives.
const maxArrayBytes = 1 << 40

// ReadIDX reads an IDX array of unsigned bytes (type code 0x08), the format
// of the MNIST and Fashion-MNIST files (http://yann.lecun.com/exdb/mnist/):
// two zero bytes, the type code, the number of dimensions (1 to 8), each
// dimension as a big-endian uint32, then the values in row-major order.
// gzip-compressed input is detected by its magic bytes and decompressed.
// It returns the dimensions and the values (len(data) = product of dims).
//
// Errors start with "read idx: " and report a bad magic number, a type other
// than unsigned byte, a bad number of dimensions, a data section shorter than
// the dimensions declare ("data ends after 100 of 784 bytes of item 3")
// or followed by trailing bytes, and gzip errors.
func ReadIDX(r io.Reader) (dims []int, data []byte, err error) {
	dims, data, err = readIDX(context.Background(), r, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read idx: %w", err)
	}
	return dims, data, nil
}

// selector picks, given the number n of items (first dimension) of an array,
// the increasing indices of the items to keep; nil keeps all.
type selector func(n int) []int

// readIDX reads an IDX array keeping the items chosen by sel.
func readIDX(ctx context.Context, r io.Reader, sel selector) ([]int, []byte, error) {
	src, closeSrc, err := decompress(r)
	if err != nil {
		return nil, nil, err
	}
	defer closeSrc()
	var head [4]byte
	if _, err := io.ReadFull(src, head[:]); err != nil {
		return nil, nil, fmt.Errorf("header: %w", noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, nil, fmt.Errorf("bad magic number % x, want 00 00 08 <ndim>", head[:])
	}
	if head[2] != 0x08 {
		return nil, nil, fmt.Errorf("element type 0x%02x, want 0x08 (unsigned byte)", head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 8 {
		return nil, nil, fmt.Errorf("%d dimensions, want 1 to 8", nd)
	}
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(src, raw); err != nil {
		return nil, nil, fmt.Errorf("header (%d dimensions): %w", nd, noEOF(err))
	}
	dims := make([]int, nd)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
	}
	data, dims, err := readItems(ctx, src, dims, sel)
	if err != nil {
		return nil, nil, err
	}
	return dims, data, nil
}

// readItems reads the row-major uint8 data of an array of shape dims from src,
// keeping the items (indices of the first dimension) chosen by sel, and checks
// that src then ends. It returns the kept data and the shape with the first
// dimension replaced by the number of kept items.
func readItems(ctx context.Context, src io.Reader, dims []int, sel selector) ([]byte, []int, error) {
	item := 1
	for _, d := range dims[1:] {
		if d > 0 && item > maxArrayBytes/d {
			return nil, nil, fmt.Errorf("shape %v declares more than %d bytes", dims, int64(maxArrayBytes))
		}
		item *= d
	}
	n := dims[0]
	if item > 0 && n > maxArrayBytes/item {
		return nil, nil, fmt.Errorf("shape %v declares more than %d bytes", dims, int64(maxArrayBytes))
	}
	var keep []int
	if sel != nil {
		keep = sel(n)
	}
	nKeep := n
	if keep != nil {
		nKeep = len(keep)
	}
	if item == 0 { // no data at all, however many items
		n = 0
	}
	// Grow the output as data arrives (in chunks of at most 64 KiB), so that a
	// header declaring a huge shape over a short stream fails without
	// committing the memory.
	out := make([]byte, 0, min(nKeep*item, 1<<20))
	chunk := make([]byte, min(item, 1<<16))
	next := 0 // position in keep
	for i := 0; i < n; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		if keep != nil && next == len(keep) {
			// Nothing more to keep: skip the rest, still checking its length.
			rest := int64(n-i) * int64(item)
			got, err := io.CopyN(io.Discard, src, rest)
			if err != nil {
				return nil, nil, fmt.Errorf("data ends after %d of %d bytes (shape %v): %w", int64(i)*int64(item)+got, int64(n)*int64(item), dims, noEOF(err))
			}
			break
		}
		kept := keep == nil || keep[next] == i
		for got := 0; got < item; {
			k, err := io.ReadFull(src, chunk[:min(len(chunk), item-got)])
			if kept {
				out = append(out, chunk[:k]...)
			}
			got += k
			if err != nil {
				return nil, nil, fmt.Errorf("data ends after %d of %d bytes of item %d (shape %v): %w", got, item, i, dims, noEOF(err))
			}
		}
		if kept {
			next++
		}
	}
	var one [1]byte
	k, err := io.ReadFull(src, one[:])
	if k > 0 {
		return nil, nil, fmt.Errorf("trailing data after the %d bytes of shape %v", int64(n)*int64(item), dims)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("after the data: %w", err)
	}
	shape := append([]int{nKeep}, dims[1:]...)
	return out, shape, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a header or data section
// any end of input is premature.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// decompress wraps r in a gzip or xz reader when its first bytes are the
// magic of one, and returns a function releasing the decoder.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 1<<16)
	peek, _ := br.Peek(len(xzMagic))
	switch {
	case bytes.HasPrefix(peek, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return bufio.NewReaderSize(zr, 1<<16), func() { zr.Close() }, nil
	case bytes.HasPrefix(peek, xzMagic):
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", err)
		}
		return bufio.NewReaderSize(zr, 1<<16), func() {}, nil
	}
	return br, func() {}, nil
}

// readIDXFile reads the IDX file at path keeping the items chosen by sel;
// errors start with "read idx <path>: ".
func readIDXFile(ctx context.Context, path string, sel selector) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read idx %s: %w", path, err)
	}
	defer f.Close()
	dims, data, err := readIDX(ctx, f, sel)
	if err != nil {
		return nil, nil, fmt.Errorf("read idx %s: %w", path, err)
	}
	return dims, data, nil
}
