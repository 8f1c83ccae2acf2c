package fetch

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// tarMember describes one member of a test archive.
type tarMember struct {
	name, body, link string
	typ              byte
}

func buildTar(t *testing.T, members []tarMember, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, m := range members {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: m.name, Typeflag: typ, Mode: 0o644, Linkname: m.link}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(m.body))
		}
		if typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := w.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := w.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fixture is a MAF-like bundle: data/miniboone/data.npy and data/power/README.
var fixture = []tarMember{
	{name: "data/", typ: tar.TypeDir},
	{name: "data/miniboone/data.npy", body: "not really npy"},
	{name: "data/power/README", body: "power data\n"},
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func serve(t *testing.T, body []byte, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		if r.URL.Path != "/data.tar.gz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchAndUnpack(t *testing.T) {
	body := buildTar(t, fixture, true)
	var hits atomic.Int64
	srv := serve(t, body, &hits)
	dir := t.TempDir()
	var progress bytes.Buffer
	p, err := Fetch(context.Background(), srv.URL+"/data.tar.gz", strings.ToUpper(sum(body)), dir, Options{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(dir, "data.tar.gz") {
		t.Errorf("path %s", p)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("downloaded file differs (%v)", err)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("destDir holds %v, want only data.tar.gz", names)
	}
	if !strings.Contains(progress.String(), "data.tar.gz") {
		t.Errorf("progress output %q lacks the file name", progress.String())
	}
	// A second call finds the verified file and does not download.
	if _, err := Fetch(context.Background(), srv.URL+"/data.tar.gz", sum(body), dir, Options{}); err != nil || hits.Load() != 1 {
		t.Errorf("second fetch: err %v, %d requests, want 1", err, hits.Load())
	}
	out := filepath.Join(dir, "maf")
	if err := Unpack(p, out, UnpackOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, m := range fixture[1:] {
		b, err := os.ReadFile(filepath.Join(out, m.name))
		if err != nil || string(b) != m.body {
			t.Errorf("%s: %q, %v; want %q", m.name, b, err, m.body)
		}
	}
	if names := listDir(t, dir); len(names) != 2 {
		t.Errorf("after unpack destDir holds %v, want data.tar.gz and maf", names)
	}
	// A non-empty destination is refused.
	err = Unpack(p, out, UnpackOptions{})
	if want := "unpack " + p + ": destination " + out + " exists and is not empty"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func TestFetchErrors(t *testing.T) {
	body := buildTar(t, fixture, true)
	srv := serve(t, body, nil)
	wrong := strings.Repeat("ab", 32)
	cases := []struct {
		name, url, hash, want string
	}{
		{"hash mismatch", srv.URL + "/data.tar.gz", wrong,
			"fetch " + srv.URL + "/data.tar.gz: SHA-256 mismatch: expected " + wrong + ", got " + sum(body)},
		{"404", srv.URL + "/missing.tar.gz", wrong,
			"fetch " + srv.URL + "/missing.tar.gz: HTTP 404 Not Found"},
		{"scheme", "ftp://example.com/data.tar.gz", wrong,
			`fetch ftp://example.com/data.tar.gz: unsupported URL scheme "ftp" (want http or https)`},
		{"file scheme", "file:///etc/passwd", wrong,
			`fetch file:///etc/passwd: unsupported URL scheme "file" (want http or https)`},
		{"bad hash", srv.URL + "/data.tar.gz", "abc",
			"fetch " + srv.URL + `/data.tar.gz: bad SHA-256 "abc": want 64 hexadecimal digits`},
		{"no name", srv.URL + "/", wrong,
			"fetch " + srv.URL + `/: cannot derive a file name from the URL path "/"; set Options.FileName`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := Fetch(context.Background(), c.url, c.hash, dir, Options{})
			if err == nil || err.Error() != c.want {
				t.Fatalf("error %v\nwant  %s", err, c.want)
			}
			if p != "" {
				t.Errorf("path %q on error", p)
			}
			if names := listDir(t, dir); len(names) != 0 {
				t.Errorf("files left: %v", names)
			}
		})
	}
}

func TestFetchCancel(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write(make([]byte, 4096))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	dir := t.TempDir()
	_, err := Fetch(ctx, srv.URL+"/big.bin", strings.Repeat("0", 64), dir, Options{Progress: &bytes.Buffer{}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("partial files left: %v", names)
	}
}

func buildZip(t *testing.T, members []tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, m := range members {
		fh := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		switch m.typ {
		case tar.TypeSymlink:
			fh.SetMode(os.ModeSymlink | 0o777)
			m.body = m.link
		case tar.TypeChar:
			fh.SetMode(os.ModeDevice | os.ModeCharDevice | 0o644)
		default:
			fh.SetMode(0o644)
		}
		f, err := w.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnpackRejects(t *testing.T) {
	ok := tarMember{name: "data/ok.txt", body: "ok"}
	cases := []struct {
		name    string
		members []tarMember
		want    string
	}{
		{"dotdot", []tarMember{ok, {name: "../evil", body: "x"}}, `member "../evil" has a ".." path element`},
		{"inner dotdot", []tarMember{{name: "data/../../evil", body: "x"}}, `member "data/../../evil" has a ".." path element`},
		{"absolute", []tarMember{{name: "/abs", body: "x"}}, `member "/abs" has an absolute path`},
		{"symlink escape", []tarMember{{name: "data/link", link: "../../outside", typ: tar.TypeSymlink}},
			`symbolic link "data/link" points outside the destination (target "../../outside")`},
		{"symlink absolute", []tarMember{{name: "link", link: "/etc", typ: tar.TypeSymlink}},
			`symbolic link "link" has an absolute or invalid target "/etc"`},
		{"write through symlink", []tarMember{{name: "link", link: "data", typ: tar.TypeSymlink}, {name: "link/x", body: "x"}},
			`member "link/x" lies under the symbolic link "link"`},
		{"symlink through symlink", []tarMember{{name: "a/b", link: "..", typ: tar.TypeSymlink}, {name: "c", link: "a/b/x", typ: tar.TypeSymlink}},
			`symbolic link "c" points through the symbolic link "a/b" (target "a/b/x")`},
		{"hardlink escape", []tarMember{{name: "h", link: "../../etc/passwd", typ: tar.TypeLink}},
			`hard link "h" points outside the destination or to an invalid target "../../etc/passwd"`},
		{"hardlink to missing", []tarMember{{name: "h", link: "nothere", typ: tar.TypeLink}},
			`hard link "h" points to "nothere", which is not an earlier regular file of the archive`},
		{"char device", []tarMember{{name: "dev/null", typ: tar.TypeChar}}, `member "dev/null" is a device file`},
		{"block device", []tarMember{{name: "sda", typ: tar.TypeBlock}}, `member "sda" is a device file`},
		{"fifo", []tarMember{{name: "pipe", typ: tar.TypeFifo}}, `member "pipe" is a FIFO`},
	}
	for _, c := range cases {
		for _, format := range []string{"tar.gz", "tar", "zip"} {
			if format == "zip" && c.members[len(c.members)-1].typ != 0 && c.members[len(c.members)-1].typ != tar.TypeSymlink && c.members[len(c.members)-1].typ != tar.TypeChar {
				continue // zip has no hard links, block devices or FIFOs
			}
			t.Run(c.name+"/"+format, func(t *testing.T) {
				root := t.TempDir()
				arch := filepath.Join(root, "a."+format)
				var b []byte
				switch format {
				case "zip":
					b = buildZip(t, c.members)
				default:
					b = buildTar(t, c.members, format == "tar.gz")
				}
				if err := os.WriteFile(arch, b, 0o644); err != nil {
					t.Fatal(err)
				}
				dest := filepath.Join(root, "sub", "out")
				err := Unpack(arch, dest, UnpackOptions{})
				want := "unpack " + arch + ": " + c.want
				if err == nil || err.Error() != want {
					t.Fatalf("error %v\nwant  %s", err, want)
				}
				// Nothing outside, no destination, no temporary directory left.
				if names := listDir(t, root); len(names) != 2 {
					t.Errorf("root holds %v, want a.%s and sub", names, format)
				}
				if names := listDir(t, filepath.Join(root, "sub")); len(names) != 0 {
					t.Errorf("sub holds %v, want nothing", names)
				}
			})
		}
	}
}

func TestUnpackCap(t *testing.T) {
	members := []tarMember{{name: "a", body: strings.Repeat("z", 600)}, {name: "b", body: strings.Repeat("z", 600)}}
	for _, format := range []string{"tgz", "zip"} {
		root := t.TempDir()
		arch := filepath.Join(root, "bomb."+format)
		b := buildZip(t, members)
		if format == "tgz" {
			b = buildTar(t, members, true)
		}
		if err := os.WriteFile(arch, b, 0o644); err != nil {
			t.Fatal(err)
		}
		err := Unpack(arch, filepath.Join(root, "out"), UnpackOptions{MaxBytes: 1000})
		want := map[string]string{
			"tgz": `member "b": unpacked size exceeds the cap of 1000 bytes`,
			"zip": "members declare 1200 unpacked bytes, over the cap of 1000 bytes",
		}[format]
		if err == nil || err.Error() != "unpack "+arch+": "+want {
			t.Errorf("%s: error %v, want %s", format, err, want)
		}
		if names := listDir(t, root); len(names) != 1 {
			t.Errorf("%s: root holds %v", format, names)
		}
		if err := Unpack(arch, filepath.Join(root, "out"), UnpackOptions{MaxBytes: 1200}); err != nil {
			t.Errorf("%s: at the cap: %v", format, err)
		}
	}
}

func TestUnpackInsideLinks(t *testing.T) {
	root := t.TempDir()
	arch := filepath.Join(root, "a.tar")
	b := buildTar(t, []tarMember{
		{name: "d/f.txt", body: "hello"},
		{name: "d/link", link: "./f.txt", typ: tar.TypeSymlink},
		{name: "e/up", link: "../d/f.txt", typ: tar.TypeSymlink},
		{name: "hard", link: "d/f.txt", typ: tar.TypeLink},
		{name: "d/f.txt", body: "again"}, // a later member replaces an earlier one
	}, false)
	if err := os.WriteFile(arch, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	if err := Unpack(arch, out, UnpackOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"d/link": "again", "e/up": "again", "hard": "hello"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
	if tgt, err := os.Readlink(filepath.Join(out, "d/link")); err != nil || tgt != "f.txt" {
		t.Errorf("d/link target %q, %v; want the cleaned f.txt", tgt, err)
	}
	err := Unpack(filepath.Join(root, "a.rar"), filepath.Join(root, "x"), UnpackOptions{})
	if want := "unpack " + filepath.Join(root, "a.rar") + ": unsupported archive type (want .tar.gz, .tgz, .tar or .zip)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
