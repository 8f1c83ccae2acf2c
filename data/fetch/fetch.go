// Package fetch downloads dataset archives over HTTP(S), verifies their
// SHA-256 digest before anything uses them, and unpacks .tar.gz, .tgz, .tar
// and .zip archives safely (no member may land outside the destination, no
// device files, a cap on the unpacked size).
package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Options configures Fetch. The zero value is valid.
type Options struct {
	// Progress receives a progress bar (bytes, rate, ETA); nil is silent.
	Progress io.Writer
	// Client performs the request; nil uses http.DefaultClient.
	Client *http.Client
	// FileName is the name of the file written in destDir; "" uses the last
	// element of the URL path.
	FileName string
}

// Fetch downloads rawURL (http or https only) into destDir (created if
// needed) and returns the path of the downloaded file, destDir/FileName.
//
// The body is written to a temporary file in destDir while its SHA-256
// digest is computed; only if the digest equals sha256hex (64 hex digits,
// case-insensitive) is the file renamed, atomically, to its final name. If the
// final file already exists with the expected digest, nothing is downloaded.
//
// Errors start with "fetch <url>: " and cover a malformed URL or digest, a
// non-http(s) scheme, an HTTP status other than 200 ("HTTP 404 Not Found"),
// network and disk errors, context cancellation (errors.Is(err,
// context.Canceled) holds) and a digest mismatch ("SHA-256 mismatch: expected
// <hex>, got <hex>"). On every error the temporary file is removed and no
// file is left under the final name.
func Fetch(ctx context.Context, rawURL, sha256hex, destDir string, opt Options) (string, error) {
	p, err := fetch(ctx, rawURL, sha256hex, destDir, opt)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	return p, nil
}

func fetch(ctx context.Context, rawURL, sha256hex, destDir string, opt Options) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("bad URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("unsupported URL scheme %q (want http or https)", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("URL has no host")
	}
	want := strings.ToLower(strings.TrimSpace(sha256hex))
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("bad SHA-256 %q: want 64 hexadecimal digits", sha256hex)
	}
	name := opt.FileName
	if name == "" {
		name = path.Base(u.Path)
	}
	if name == "" || name == "." || name == "/" || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("cannot derive a file name from the URL path %q; set Options.FileName", u.Path)
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(destDir, name)
	if got, err := fileSHA256(final); err == nil && got == want {
		return final, nil
	}

	client := opt.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}

	tmp, err := os.CreateTemp(destDir, "."+name+".*.part")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	var w io.Writer = io.MultiWriter(tmp, h)
	var bar *progressbar.ProgressBar
	if opt.Progress != nil {
		bar = progressbar.NewOptions64(resp.ContentLength,
			progressbar.OptionSetWriter(opt.Progress),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetSpinnerChangeInterval(0), // no background goroutine
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(opt.Progress) }),
		)
		w = io.MultiWriter(w, bar)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("download interrupted after %d bytes: %w", n, ctxErr)
		}
		return "", fmt.Errorf("download interrupted after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("got %d bytes, Content-Length says %d", n, resp.ContentLength)
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", fmt.Errorf("SHA-256 mismatch: expected %s, got %s", want, got)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	ok = true
	return final, nil
}

// fileSHA256 returns the hex SHA-256 of the file at p.
func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
