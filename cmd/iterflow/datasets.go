package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/data/fetch"
	"github.com/iterflow/iterflow/data/registry"
)

func newDatasetsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "datasets",
		Short: "List, describe and download the named datasets",
		Long: `Named datasets can be given to "iterflow train --data NAME": the 2D generators, the small real tables
(red-wine, white-wine, parkinsons, digits, faithful, miniboone-fragment), MNIST, Fashion-MNIST, CIFAR-10 and
the MAF tabular benchmark (power, gas, hepmass, miniboone, bsds300).

Files are searched in --data-dir, then in each directory of $ITERFLOW_DATA, then in the user cache directory
(` + "`" + `iterflow datasets info NAME` + "`" + ` shows where); Fashion-MNIST also where Debian's dataset-fashion-mnist package
installs it. "iterflow datasets fetch NAME" downloads a dataset from its canonical source and verifies its
SHA-256 before anything uses it.`,
	}
	cmd.AddCommand(newDatasetsListCmd(), newDatasetsInfoCmd(), newDatasetsFetchCmd())
	return cmd
}

// datasetRow is one line of `datasets list --json`.
type datasetRow struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Dim   int    `json:"dim"`
	Rows  int    `json:"rows"`
	Train int    `json:"train"`
	Val   int    `json:"val"`
	Test  int    `json:"test"`
}

func newDatasetsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the named datasets (name, kind, dimension, rows and split sizes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			all := registry.List()
			if _, j := globals(cmd); j {
				rows := make([]datasetRow, len(all))
				for i, d := range all {
					rows[i] = datasetRow{d.Name, d.Kind, d.Dim, d.Rows, d.Train, d.Val, d.Test}
				}
				return printJSON(cmd.OutOrStdout(), rows)
			}
			for _, d := range all {
				fmt.Fprintln(cmd.OutOrStdout(), d.Summary())
			}
			return nil
		},
	}
}

func newDatasetsInfoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "info NAME",
		Short: "Describe a dataset: source, licence, shape, split sizes, preprocessing, files and where they are",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return registry.Names(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := registry.Lookup(args[0])
			if err != nil {
				return err
			}
			paths, ferr := registry.Find(d, registry.ResolveDirs(dir))
			if _, j := globals(cmd); j {
				status := "found"
				if ferr != nil {
					status = "missing"
				}
				return printJSON(cmd.OutOrStdout(), struct {
					registry.Dataset
					Status string   `json:"status"`
					Paths  []string `json:"paths,omitempty"`
				}{d, status, paths})
			}
			fmt.Fprint(cmd.OutOrStdout(), d.Info())
			switch {
			case len(d.Files) == 0:
			case ferr != nil:
				fmt.Fprintf(cmd.OutOrStdout(), "\nStatus: missing. %v\n", ferr)
			default:
				fmt.Fprintf(cmd.OutOrStdout(), "\nStatus: found:\n  %s\n", strings.Join(paths, "\n  "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "data-dir", "", "directory searched first (then $ITERFLOW_DATA, then the user cache directory)")
	return cmd
}

func newDatasetsFetchCmd() *cobra.Command {
	var dir, sha, baseURL string
	cmd := &cobra.Command{
		Use:   "fetch NAME",
		Short: "Download a dataset from its canonical source, verify its SHA-256 and unpack it",
		Long: `Download the files of dataset NAME from the canonical source listed by "iterflow datasets info NAME" into
--dir (default: the first directory of $ITERFLOW_DATA, else the user cache directory), with a progress bar.
Each download is checked against its SHA-256 before it is unpacked or used; a mismatch deletes it. Archive
members with absolute paths, ".." or links leaving the directory are refused.

Where no SHA-256 is recorded (the source publishes none, or only an MD5), fetch refuses to run unless you
pass --sha256 with a digest you have checked yourself. --base-url replaces the directory part of every URL
(a mirror, or a local server in tests).`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return registry.Names(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := registry.Lookup(args[0])
			if err != nil {
				return err
			}
			if len(d.Fetch.Downloads) == 0 {
				return fmt.Errorf("dataset %s has no canonical download: %s", d.Name, d.Fetch.Note)
			}
			dest := dir
			if dest == "" {
				dirs := registry.ResolveDirs("")
				if len(dirs) == 0 {
					return errors.New("no data directory: pass --dir, set $ITERFLOW_DATA, or set up a user cache directory")
				}
				dest = dirs[0]
			}
			log, _, _ := reporters(cmd)
			var written []string
			// Group the downloads by URL: one archive may hold several files.
			var urls []string
			byURL := map[string][]registry.Download{}
			for _, dl := range d.Fetch.Downloads {
				if _, ok := byURL[dl.URL]; !ok {
					urls = append(urls, dl.URL)
				}
				byURL[dl.URL] = append(byURL[dl.URL], dl)
			}
			if sha != "" && len(urls) > 1 {
				return fmt.Errorf("--sha256: dataset %s has %d downloads; a single digest cannot verify them all", d.Name, len(urls))
			}
			for _, u := range urls {
				dls := byURL[u]
				want := dls[0].SHA256
				if sha != "" {
					want = sha
				}
				if want == "" {
					msg := fmt.Sprintf("no SHA-256 is recorded for %s; check the source's published checksum and pass --sha256 HEX", u)
					if d.Fetch.Note != "" {
						msg += " (" + d.Fetch.Note + ")"
					}
					return errors.New(msg)
				}
				src := u
				if baseURL != "" {
					pu, err := url.Parse(u)
					if err != nil {
						return fmt.Errorf("url %s: %w", u, err)
					}
					src = strings.TrimSuffix(baseURL, "/") + "/" + path.Base(pu.Path)
				}
				stage := filepath.Join(dest, ".fetch")
				var prog io.Writer
				if log != nil {
					prog = cmd.ErrOrStderr()
				}
				got, err := fetch.Fetch(cmd.Context(), src, want, stage, fetch.Options{Progress: prog})
				if err != nil {
					return err
				}
				if len(dls[0].Members) == 0 {
					out := filepath.Join(dest, filepath.FromSlash(dls[0].Dest))
					if err := moveInto(got, out); err != nil {
						return err
					}
					written = append(written, out)
					continue
				}
				unpacked, err := os.MkdirTemp(stage, "unpack-")
				if err != nil {
					return err
				}
				if err := fetch.Unpack(got, filepath.Join(unpacked, "tree"), fetch.UnpackOptions{}); err != nil {
					os.RemoveAll(unpacked)
					return err
				}
				for _, dl := range dls {
					for _, m := range dl.Members {
						out := filepath.Join(dest, filepath.FromSlash(dl.Dest))
						if err := moveInto(filepath.Join(unpacked, "tree", filepath.FromSlash(m)), out); err != nil {
							os.RemoveAll(unpacked)
							return fmt.Errorf("archive %s: member %s: %w", path.Base(u), m, err)
						}
						written = append(written, out)
					}
				}
				os.RemoveAll(unpacked)
				os.Remove(got)
			}
			os.Remove(filepath.Join(dest, ".fetch"))
			if _, j := globals(cmd); j {
				return printJSON(cmd.OutOrStdout(), struct {
					Dataset string   `json:"dataset"`
					Files   []string `json:"files"`
				}{d.Name, written})
			}
			for _, w := range written {
				fmt.Fprintln(cmd.OutOrStdout(), w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "data directory to write into (default: first of $ITERFLOW_DATA, else the user cache directory)")
	cmd.Flags().StringVar(&sha, "sha256", "", "SHA-256 of the download, for sources where none is recorded")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "replace the directory part of each download URL (a mirror or a local server)")
	return cmd
}

// moveInto renames src to dst, creating dst's directory.
func moveInto(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Rename(src, dst)
}
