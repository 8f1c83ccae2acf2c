package fetch

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpackTar unpacks two-member archives with fuzzed names and link
// targets and checks that nothing appears outside the destination.
func FuzzUnpackTar(f *testing.F) {
	f.Add("a/b", "../x", "a/b/c", byte(tar.TypeSymlink))
	f.Add("l", ".", "l/../../evil", byte(tar.TypeReg))
	f.Add("d/h", "../../etc/passwd", "d/x", byte(tar.TypeLink))
	f.Fuzz(func(t *testing.T, name1, link1, name2 string, typ byte) {
		if typ != tar.TypeSymlink && typ != tar.TypeLink && typ != tar.TypeReg {
			typ = tar.TypeSymlink
		}
		root := t.TempDir()
		sub := filepath.Join(root, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		members := []tarMember{{name: "f", body: "x"}, {name: name1, link: link1, typ: typ, body: "y"}, {name: name2, body: "z"}}
		b := func() (b []byte) {
			defer func() {
				if recover() != nil { // archive/tar rejects some headers
					b = nil
				}
			}()
			return buildTarNoFail(members)
		}()
		if b == nil {
			return
		}
		arch := filepath.Join(root, "a.tar")
		if err := os.WriteFile(arch, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = Unpack(arch, filepath.Join(sub, "out"), UnpackOptions{MaxBytes: 1 << 20})
		es, _ := os.ReadDir(root)
		if len(es) != 2 {
			t.Fatalf("root holds %d entries after unpacking %q→%q, %q", len(es), name1, link1, name2)
		}
		es, _ = os.ReadDir(sub)
		if len(es) > 1 || (len(es) == 1 && es[0].Name() != "out") {
			t.Fatalf("sub holds unexpected entries after unpacking %q→%q, %q", name1, link1, name2)
		}
		// Every file under out resolves inside out.
		out, err := filepath.EvalSymlinks(filepath.Join(sub, "out"))
		if err != nil {
			return // nothing unpacked
		}
		_ = filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				return nil // dangling link inside the tree
			}
			if rel, err := filepath.Rel(out, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				t.Fatalf("%s resolves to %s, outside %s", p, real, out)
			}
			return nil
		})
	})
}

// buildTarNoFail is buildTar for fuzzing: it panics on a header archive/tar refuses.
func buildTarNoFail(members []tarMember) []byte {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: 0o644, Linkname: m.link}
		if m.typ == 0 || m.typ == tar.TypeReg {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(m.body))
		}
		if err := w.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := w.Write([]byte(m.body)); err != nil {
				panic(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
