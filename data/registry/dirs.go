package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvData is the environment variable naming the data directory (or several,
// separated by the OS path-list separator, ':' on Unix).
const EnvData = "ITERFLOW_DATA"

// ResolveDirs returns the data directories to search, in order: flagDir (when
// not empty), then each entry of $ITERFLOW_DATA (a path list; empty entries
// skipped), then os.UserCacheDir()/iterflow (omitted when the user cache
// directory is unknown). Directories need not exist. A data directory holds
// the files at the relative paths of Dataset.Files, so a directory laid out
// like the offline bundle (uci_small/, mnist/, cifar10/, …) works as is.
func ResolveDirs(flagDir string) []string {
	var dirs []string
	if flagDir != "" {
		dirs = append(dirs, flagDir)
	}
	for _, d := range filepath.SplitList(os.Getenv(EnvData)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if c, err := os.UserCacheDir(); err == nil && c != "" {
		dirs = append(dirs, filepath.Join(c, "iterflow"))
	}
	return dirs
}

// MissingError reports a dataset file found in none of the searched places.
// Searched lists every path tried, in order; Dirs the directories they are
// in; Hint is the advice at the end of the message: the fetch command, or
// where to get the file when there is no canonical download.
type MissingError struct {
	Dataset  string
	File     string
	Dirs     []string
	Searched []string
	Hint     string
}

// Error returns, for example,
//
//	dataset "mnist": file mnist/train-images-idx3-ubyte.gz not found; searched: /a, /b; run `iterflow datasets fetch mnist`
func (e *MissingError) Error() string {
	dirs := "no data directory (set --data-dir or " + EnvData + ")"
	if len(e.Dirs) > 0 {
		dirs = "searched: " + strings.Join(e.Dirs, ", ")
	}
	return fmt.Sprintf("dataset %q: file %s not found; %s; %s", e.Dataset, e.File, dirs, e.Hint)
}

// fetchHint is the last part of a MissingError message for ds.
func fetchHint(ds Dataset) string {
	if len(ds.Fetch.Downloads) > 0 {
		return fmt.Sprintf("run `iterflow datasets fetch %s`", ds.Name)
	}
	if strings.HasPrefix(ds.Fetch.Note, "no canonical download") {
		return ds.Fetch.Note
	}
	return "no canonical download: " + ds.Fetch.Note
}

// Find returns the path of each file of ds (in the order of ds.Files): for
// each file the first existing regular file among dir/File.Path for dir in
// dirs, then dir/base(File.Path) for dir in ds.SystemDirs. It returns a
// *MissingError for the first file found nowhere. A dataset without files
// (2D generators, the embedded digits) gives an empty slice.
func Find(ds Dataset, dirs []string) ([]string, error) {
	paths := make([]string, len(ds.Files))
	for i, f := range ds.Files {
		var searched, tried []string
		rel := filepath.FromSlash(f.Path)
		for _, d := range dirs {
			searched = append(searched, d)
			tried = append(tried, filepath.Join(d, rel))
		}
		for _, d := range ds.SystemDirs {
			searched = append(searched, d)
			tried = append(tried, filepath.Join(d, filepath.Base(rel)))
		}
		for _, p := range tried {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				paths[i] = p
				break
			}
		}
		if paths[i] == "" {
			return nil, &MissingError{Dataset: ds.Name, File: f.Path, Dirs: searched, Searched: tried, Hint: fetchHint(ds)}
		}
	}
	return paths, nil
}
