package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// Summary returns one line for `iterflow datasets list`: name, kind, shape and
// split sizes, e.g. "white-wine  table  d=11  4898 rows (3918/490/490)".
func (d Dataset) Summary() string {
	return fmt.Sprintf("%-19s %-5s d=%-5d %d rows (%d/%d/%d)", d.Name, d.Kind, d.Dim, d.Rows, d.Train, d.Val, d.Test)
}

// Info returns the multi-line description printed by `iterflow datasets info
// NAME`: description, kind and shape, split sizes, preprocessing, source,
// licence, citation, files (with SHA-256 where known) and how to fetch them
// (or that there is no canonical download).
func (d Dataset) Info() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", d.Name, d.Description)
	fmt.Fprintf(&b, "kind:          %s\n", d.Kind)
	shape := fmt.Sprintf("%d rows × %d columns", d.Rows, d.Dim)
	if d.Image != (ImageShape{}) {
		shape += fmt.Sprintf(" (images %d×%d, %d channel(s), flattened channel-major)", d.Image.H, d.Image.W, d.Image.C)
	}
	if d.Kind == Kind2D {
		shape = fmt.Sprintf("%d points (default sample count) × 2 columns", d.Rows)
	}
	fmt.Fprintf(&b, "shape:         %s\n", shape)
	fmt.Fprintf(&b, "split:         train %d, val %d, test %d\n", d.Train, d.Val, d.Test)
	fmt.Fprintf(&b, "preprocessing: %s\n", d.Preprocessing)
	fmt.Fprintf(&b, "source:        %s\n", d.Source)
	fmt.Fprintf(&b, "licence:       %s\n", d.Licence)
	fmt.Fprintf(&b, "citation:      %s\n", d.Citation)
	if len(d.Files) == 0 {
		b.WriteString("files:         none\n")
	}
	for i, f := range d.Files {
		label := "files:        "
		if i > 0 {
			label = "              "
		}
		sum := "sha256 not recorded"
		if f.SHA256 != "" {
			sum = "sha256 " + f.SHA256
		}
		fmt.Fprintf(&b, "%s %s (%s)\n", label, f.Path, sum)
	}
	for _, s := range d.SystemDirs {
		fmt.Fprintf(&b, "also searched: %s\n", s)
	}
	if len(d.Fetch.Downloads) == 0 {
		fmt.Fprintf(&b, "fetch:         none (%s)\n", d.Fetch.Note)
		return b.String()
	}
	for i, dl := range d.Fetch.Downloads {
		label := "fetch:        "
		if i > 0 {
			label = "              "
		}
		line := dl.URL + " -> " + dl.Dest
		if len(dl.Members) > 0 {
			line += " (member " + strings.Join(dl.Members, ", ") + ")"
		}
		if dl.SHA256 != "" {
			line += " sha256 " + dl.SHA256
		}
		fmt.Fprintf(&b, "%s %s\n", label, line)
	}
	if d.Fetch.Note != "" {
		fmt.Fprintf(&b, "fetch note:    %s\n", d.Fetch.Note)
	}
	return b.String()
}

// VerifySHA256 checks that the file at path has the lower-case hex SHA-256
// want. It returns an error naming the file and both hashes on a mismatch,
// or the open/read error.
func VerifySHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify sha256: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("verify sha256 %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(want) {
		return fmt.Errorf("verify sha256 %s: got %s, want %s", path, got, want)
	}
	return nil
}
