package intel

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ListName derives a list name from a file path: the base name without its
// extensions ("feodo.csv" -> "feodo", "firehol_level1.netset" ->
// "firehol_level1").
func ListName(path string) string {
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}

// LoadFile reads and parses one indicator list. An empty list name is
// derived from the path (ListName). The LineErrors of the result carry the
// path.
func LoadFile(path string, f Format, list string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("indicator list: %w", err)
	}
	if list == "" {
		list = ListName(path)
	}
	res := Parse(data, f, list)
	for i := range res.Errors {
		res.Errors[i].File = path
	}
	return res, nil
}

// ListFiles returns the indicator lists in dir, sorted: regular files that
// are not hidden, not Fetcher metadata (*.meta.json) and not partial
// downloads (*.tmp).
func ListFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("indicator directory: %w", err)
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, metaSuffix) || strings.HasSuffix(name, ".tmp") {
			continue
		}
		out = append(out, filepath.Join(dir, name))
	}
	sort.Strings(out)
	return out, nil
}
