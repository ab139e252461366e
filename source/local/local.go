// Package local turns command-line arguments (files, folders, globs and "-")
// into inputs for the source pipeline.
package local

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/flowlens/flowlens/source"
)

// File is a local file input.
type File struct {
	Path    string
	size    int64
	ModTime time.Time
}

var _ source.ReaderAtInput = (*File)(nil)

// NewFile describes the file at path.
func NewFile(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return &File{Path: path, size: st.Size(), ModTime: st.ModTime()}, nil
}

// Name returns the path.
func (f *File) Name() string { return f.Path }

// Size returns the size in bytes.
func (f *File) Size() int64 { return f.size }

// Open opens the file.
func (f *File) Open(context.Context) (io.ReadCloser, error) { return os.Open(f.Path) }

// OpenReaderAt opens the file for random access.
func (f *File) OpenReaderAt(context.Context) (source.ReaderAtCloser, error) { return os.Open(f.Path) }

// Expand resolves arguments into inputs: "-" is standard input, a folder is
// walked recursively (hidden entries skipped, files in name order), a
// pattern with * ? or [ is globbed; anything else must be a file.
func Expand(args []string) ([]source.Input, error) {
	var out []source.Input
	seen := make(map[string]bool)
	add := func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		f, err := NewFile(path)
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	}
	for _, a := range args {
		if a == "-" {
			out = append(out, source.Stdin)
			continue
		}
		if strings.ContainsAny(a, "*?[") {
			matches, err := filepath.Glob(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: no files match", a)
			}
			for _, m := range matches {
				if err := expandPath(m, add); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := expandPath(a, add); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func expandPath(p string, add func(string) error) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return add(p)
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != p && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if err := add(f); err != nil {
			return err
		}
	}
	return nil
}
