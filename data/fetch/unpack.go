package fetch

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultMaxUnpackedBytes is the cap on the total unpacked size when
// UnpackOptions.MaxBytes is 0: 64 GiB.
const DefaultMaxUnpackedBytes int64 = 64 << 30

// UnpackOptions configures Unpack. The zero value is valid.
type UnpackOptions struct {
	// MaxBytes caps the total size of the unpacked regular files, in bytes,
	// counted as they are written (headers are not trusted); 0 means
	// DefaultMaxUnpackedBytes.
	MaxBytes int64
}

// Unpack extracts the archive at archivePath (.tar.gz, .tgz, .tar or .zip,
// chosen by extension, case-insensitive) into destDir, which must not exist
// or be an empty directory. It extracts into a temporary directory next to
// destDir and renames that to destDir at the end, so destDir appears
// complete or not at all.
//
// Members are refused, with an error naming the member, when the name is
// absolute, contains a ".." element, or lies under a symbolic link from the
// archive; when a symbolic link's target is absolute, leaves the archive's
// tree or passes through another link; when a hard link's target is outside
// the tree or not an earlier regular file; and for device files, FIFOs and
// other special types. Symbolic links are written with their lexically
// cleaned targets ("a/../b" becomes "b"). Extraction stops once the unpacked
// bytes exceed the cap (a zip whose headers already declare more is refused
// before writing). Regular files get mode 0644, or 0755 when the member has
// an execute bit. On error nothing is left: no destDir, no temporary
// directory. Errors start with "unpack <archivePath>: ".
func Unpack(archivePath, destDir string, opt UnpackOptions) error {
	if err := unpack(archivePath, destDir, opt); err != nil {
		return fmt.Errorf("unpack %s: %w", archivePath, err)
	}
	return nil
}

func unpack(archivePath, destDir string, opt UnpackOptions) error {
	limit := opt.MaxBytes
	if limit == 0 {
		limit = DefaultMaxUnpackedBytes
	}
	if limit < 0 {
		return fmt.Errorf("negative MaxBytes %d", limit)
	}
	lower := strings.ToLower(archivePath)
	var kind string
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		kind = "tgz"
	case strings.HasSuffix(lower, ".tar"):
		kind = "tar"
	case strings.HasSuffix(lower, ".zip"):
		kind = "zip"
	default:
		return errors.New("unsupported archive type (want .tar.gz, .tgz, .tar or .zip)")
	}
	if entries, err := os.ReadDir(destDir); err == nil {
		if len(entries) > 0 {
			return fmt.Errorf("destination %s exists and is not empty", destDir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(filepath.Clean(destDir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(destDir)+".unpack-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	x := &extractor{root: tmp, left: limit, limit: limit, links: map[string]bool{}, files: map[string]bool{}}
	switch kind {
	case "zip":
		err = x.zip(archivePath)
	default:
		err = x.tar(archivePath, kind == "tgz")
	}
	if err != nil {
		return err
	}
	// An empty destDir is replaced; os.Remove refuses a non-empty one.
	if err := os.Remove(destDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, destDir); err != nil {
		return err
	}
	ok = true
	return nil
}

// extractor writes members under root, tracking the links it created.
type extractor struct {
	root        string
	left, limit int64
	links       map[string]bool // clean relative paths of symbolic links written
	files       map[string]bool // clean relative paths of regular files written
}

// memberPath checks an archive member name and returns its clean relative
// slash path ("" for the root itself).
func (x *extractor) memberPath(name string) (string, error) {
	if name == "" {
		return "", errors.New("member with an empty name")
	}
	if strings.HasPrefix(name, "/") || filepath.IsAbs(name) || (len(name) > 1 && name[1] == ':') {
		return "", fmt.Errorf("member %q has an absolute path", name)
	}
	for _, el := range strings.Split(strings.ReplaceAll(name, `\`, "/"), "/") {
		if el == ".." {
			return "", fmt.Errorf("member %q has a \"..\" path element", name)
		}
	}
	rel := path.Clean(name)
	if rel == "." {
		return "", nil
	}
	if err := x.checkNoLinkPrefix(rel); err != nil {
		return "", fmt.Errorf("member %q %w", name, err)
	}
	return rel, nil
}

// checkNoLinkPrefix refuses a path whose parent directories include a
// symbolic link written from the archive.
func (x *extractor) checkNoLinkPrefix(rel string) error {
	for dir := path.Dir(rel); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if x.links[dir] {
			return fmt.Errorf("lies under the symbolic link %q", dir)
		}
	}
	return nil
}

// clearTarget removes a non-directory already at rel (a later member of the
// same name replaces it, as tar does) so that writing never follows a link.
func (x *extractor) clearTarget(rel string) error {
	p := filepath.Join(x.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("member %q would replace a directory", rel)
	}
	delete(x.links, rel)
	delete(x.files, rel)
	return os.Remove(p)
}

func (x *extractor) mkdir(rel string) error {
	if rel == "" {
		return nil
	}
	p := filepath.Join(x.root, filepath.FromSlash(rel))
	if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
		return fmt.Errorf("directory member %q collides with a file or link", rel)
	}
	return os.MkdirAll(p, 0o755)
}

func (x *extractor) writeFile(name, rel string, r io.Reader, mode fs.FileMode) error {
	if rel == "" {
		return fmt.Errorf("member %q is a file at the archive root", name)
	}
	if err := x.clearTarget(rel); err != nil {
		return err
	}
	p := filepath.Join(x.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, x.left+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("member %q: %w", name, err)
	}
	if n > x.left {
		return fmt.Errorf("member %q: unpacked size exceeds the cap of %d bytes", name, x.limit)
	}
	x.left -= n
	x.files[rel] = true
	return nil
}

// symlink creates a symbolic link at rel pointing to target, refusing targets
// that are absolute, leave the tree, or pass through another archive link.
func (x *extractor) symlink(name, rel, target string) error {
	if rel == "" {
		return fmt.Errorf("member %q is a link at the archive root", name)
	}
	if target == "" || strings.HasPrefix(target, "/") || filepath.IsAbs(target) || strings.Contains(target, `\`) {
		return fmt.Errorf("symbolic link %q has an absolute or invalid target %q", name, target)
	}
	// Write the lexically cleaned target: only leading ".." elements remain,
	// and they climb real directories (no member lies under an archive link
	// and no directory is ever replaced), so the check below is physical.
	target = path.Clean(target)
	cur := path.Dir(rel)
	for _, el := range strings.Split(target, "/") {
		switch el {
		case "", ".":
			continue
		case "..":
			if cur == "." {
				return fmt.Errorf("symbolic link %q points outside the destination (target %q)", name, target)
			}
			cur = path.Dir(cur)
		default:
			cur = path.Join(cur, el)
			if x.links[cur] {
				return fmt.Errorf("symbolic link %q points through the symbolic link %q (target %q)", name, cur, target)
			}
		}
	}
	if err := x.clearTarget(rel); err != nil {
		return err
	}
	p := filepath.Join(x.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(target, p); err != nil {
		return err
	}
	x.links[rel] = true
	return nil
}

// hardlink makes rel a copy-free hard link to an earlier regular file.
func (x *extractor) hardlink(name, rel, target string) error {
	if rel == "" {
		return fmt.Errorf("member %q is a link at the archive root", name)
	}
	trel, err := x.memberPath(target)
	if err != nil || trel == "" {
		return fmt.Errorf("hard link %q points outside the destination or to an invalid target %q", name, target)
	}
	if !x.files[trel] {
		return fmt.Errorf("hard link %q points to %q, which is not an earlier regular file of the archive", name, target)
	}
	if err := x.clearTarget(rel); err != nil {
		return err
	}
	p := filepath.Join(x.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Link(filepath.Join(x.root, filepath.FromSlash(trel)), p); err != nil {
		return err
	}
	x.files[rel] = true
	return nil
}

func (x *extractor) tar(archivePath string, gz bool) error {
	f, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("decompress: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			continue // metadata, handled by archive/tar
		}
		rel, err := x.memberPath(hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = x.mkdir(rel)
		case tar.TypeReg:
			err = x.writeFile(hdr.Name, rel, tr, fs.FileMode(hdr.Mode))
		case tar.TypeSymlink:
			err = x.symlink(hdr.Name, rel, hdr.Linkname)
		case tar.TypeLink:
			err = x.hardlink(hdr.Name, rel, hdr.Linkname)
		case tar.TypeChar, tar.TypeBlock:
			err = fmt.Errorf("member %q is a device file", hdr.Name)
		case tar.TypeFifo:
			err = fmt.Errorf("member %q is a FIFO", hdr.Name)
		default:
			err = fmt.Errorf("member %q has unsupported type %q", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

// maxSymlinkTarget bounds the length read for a zip symbolic link's target.
const maxSymlinkTarget = 4096

func (x *extractor) zip(archivePath string) error {
	zr, err := zip.OpenReader(archivePath)
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	defer zr.Close()
	var declared uint64
	for _, zf := range zr.File {
		declared += zf.UncompressedSize64
	}
	if declared > uint64(x.limit) {
		return fmt.Errorf("members declare %d unpacked bytes, over the cap of %d bytes", declared, x.limit)
	}
	for _, zf := range zr.File {
		rel, err := x.memberPath(zf.Name)
		if err != nil {
			return err
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			err = x.mkdir(rel)
		case mode&fs.ModeSymlink != 0:
			var target []byte
			target, err = readZipMember(zf, maxSymlinkTarget)
			if err == nil {
				err = x.symlink(zf.Name, rel, string(target))
			}
		case mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			err = fmt.Errorf("member %q is a device file", zf.Name)
		case mode.IsRegular():
			var rc io.ReadCloser
			rc, err = zf.Open()
			if err == nil {
				err = x.writeFile(zf.Name, rel, rc, mode)
				rc.Close()
			}
		default:
			err = fmt.Errorf("member %q has unsupported mode %v", zf.Name, mode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func readZipMember(zf *zip.File, max int64) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("member %q: %w", zf.Name, err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(rc, max+1)); err != nil {
		return nil, fmt.Errorf("member %q: %w", zf.Name, err)
	}
	if int64(b.Len()) > max {
		return nil, fmt.Errorf("member %q: symbolic link target longer than %d bytes", zf.Name, max)
	}
	return b.Bytes(), nil
}
