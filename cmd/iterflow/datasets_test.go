package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDatasetsListAndInfo(t *testing.T) {
	out, _, err := run(t, "datasets", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []datasetRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	got := map[string]datasetRow{}
	for _, r := range rows {
		got[r.Name] = r
	}
	if w := got["white-wine"]; w.Dim != 11 || w.Rows != 4898 || w.Train != 3918 || w.Val != 490 || w.Test != 490 {
		t.Errorf("white-wine: %+v", w)
	}
	if m := got["miniboone"]; m.Dim != 43 || m.Train != 29556 || m.Val != 3284 || m.Test != 3648 {
		t.Errorf("miniboone: %+v", m)
	}
	empty := t.TempDir()
	t.Setenv("ITERFLOW_DATA", empty)
	out, _, err = run(t, "datasets", "info", "red-wine", "--data-dir", empty)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"shape:         1599 rows × 11 columns", "licence:       CC BY 4.0", "Status: missing.", "iterflow datasets fetch red-wine"} {
		if !strings.Contains(out, want) {
			t.Errorf("info red-wine lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(t, "datasets", "info", "white-whine"); err == nil || !strings.Contains(err.Error(), "white-wine") {
		t.Errorf("unknown name: %v (want a suggestion of white-wine)", err)
	}
}

// TestDatasetsFetch serves a MAF-layout archive from a local HTTP server and
// fetches the miniboone file from it: verified, unpacked into the data
// directory; a missing or wrong digest leaves nothing behind.
func TestDatasetsFetch(t *testing.T) {
	payload := []byte("\x93NUMPY fake miniboone payload")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		body []byte
	}{{"data/miniboone/data.npy", payload}, {"data/power/data.npy", []byte("power")}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.body)
	}
	tw.Close()
	zw.Close()
	archive := buf.Bytes()
	sum := sha256.Sum256(archive)
	digest := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/data.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(archive)
	}))
	defer srv.Close()

	dir := t.TempDir()
	_, _, err := run(t, "datasets", "fetch", "miniboone", "--dir", dir, "--base-url", srv.URL, "-q")
	if err == nil || !strings.HasPrefix(err.Error(), "no SHA-256 is recorded for https://zenodo.org/") || !strings.Contains(err.Error(), "pass --sha256 HEX") {
		t.Fatalf("without a digest: %v", err)
	}
	bad := strings.Repeat("0", 64)
	_, _, err = run(t, "datasets", "fetch", "miniboone", "--dir", dir, "--base-url", srv.URL, "--sha256", bad, "-q")
	if err == nil || !strings.Contains(err.Error(), "SHA-256 mismatch: expected "+bad+", got "+digest) {
		t.Fatalf("wrong digest: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "miniboone", "data.npy")); !os.IsNotExist(err) {
		t.Fatalf("a file was left after a digest mismatch: %v", err)
	}
	out, _, err := run(t, "datasets", "fetch", "miniboone", "--dir", dir, "--base-url", srv.URL, "--sha256", digest, "-q")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "miniboone", "data.npy")
	if strings.TrimSpace(out) != want {
		t.Errorf("printed %q, want %q", out, want)
	}
	b, err := os.ReadFile(want)
	if err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("fetched file: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "power")); !os.IsNotExist(err) {
		t.Errorf("other archive members were installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".fetch")); !os.IsNotExist(err) {
		t.Errorf("staging directory left behind: %v", err)
	}
}
