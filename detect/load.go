package detect

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// shipped holds the rule set that ships with flowlens and its tests.
//
//go:embed rules/*.yaml rules/tests/*.yaml
var shipped embed.FS

// Shipped returns the embedded rule set, sorted by ID.
func Shipped() ([]*Rule, error) {
	return loadFS(shipped, "rules", "rules/")
}

// ShippedFS returns the embedded rules (rules/*.yaml) and their tests
// (rules/tests/*.yaml).
func ShippedFS() fs.FS { return shipped }

// LoadDir reads every *.yaml and *.yml file of dir (not its
// subdirectories) as a rule, sorted by ID. Errors are *Error with the file
// and line; every bad file is reported.
func LoadDir(dir string) ([]*Rule, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if !info.IsDir() {
		r, err := LoadFile(dir)
		if err != nil {
			return nil, err
		}
		return []*Rule{r}, nil
	}
	return loadFS(os.DirFS(dir), ".", strings.TrimSuffix(dir, "/")+"/")
}

// LoadFile reads one rule file.
func LoadFile(p string) (*Rule, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return Parse(p, data)
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

func loadFS(fsys fs.FS, dir, prefix string) ([]*Rule, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var rules []*Rule
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !isYAML(e.Name()) {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("rules: %w", err))
			continue
		}
		r, err := Parse(prefix+e.Name(), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("rules: no *.yaml rule files in %s", strings.TrimSuffix(prefix, "/"))
	}
	if err := checkUnique(rules); err != nil {
		return nil, err
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, nil
}
