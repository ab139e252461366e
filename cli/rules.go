package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/output"
)

func newRulesCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "rules",
		Short: "List and test detection rules",
	}
	c.AddCommand(newRulesListCmd(e), newRulesTestCmd(e))
	return c
}

func newRulesListCmd(e *env) *cobra.Command {
	var dir, of string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the detection rules (the shipped set, or --rules DIR)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			f, err := outputFormat(of, e)
			if err != nil {
				return err
			}
			rules, err := loadRules(dir, nil)
			if err != nil {
				return err
			}
			w, err := output.NewResultWriter(f, e.stdout, []output.Column{
				{Name: "id"}, {Name: "severity"}, {Name: "mitre"}, {Name: "group_by"}, {Name: "measure"},
				{Name: "threshold", Type: output.TypeInt}, {Name: "window"}, {Name: "mode"}, {Name: "title"}, {Name: "filter"},
			})
			if err != nil {
				return err
			}
			for _, r := range rules {
				keys := make([]string, len(r.GroupBy))
				for i, k := range r.GroupBy {
					keys[i] = detect.FilterName(k)
				}
				mode := "threshold"
				switch {
				case r.Baseline != nil:
					mode = fmt.Sprintf("baseline x%g of %d windows", r.Baseline.Factor, r.Baseline.Windows)
				case r.NewKey != nil:
					mode = "new key, lookback " + r.NewKey.Lookback.String()
				}
				var mitre any
				if r.MITRE != "" {
					mitre = r.MITRE
				}
				if err := w.WriteRow([]any{r.ID, r.Severity, mitre, strings.Join(keys, ","), r.Measure.String(), r.Threshold,
					r.Window.String(), mode, r.Title, strings.Join(strings.Fields(r.Filter), " ")}); err != nil {
					return err
				}
			}
			return w.Close()
		},
	}
	c.Flags().StringVar(&dir, "rules", "", "directory (or file) of rule YAML files instead of the shipped set")
	c.Flags().StringVarP(&of, "output", "o", "", "output format: table, csv, json, ndjson")
	return c
}

func newRulesTestCmd(e *env) *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "test [DIR|FILE...]",
		Short: "Run rule unit tests (input records and expected alerts)",
		Long: `Run rule unit tests: YAML files that name rule files (rule_files, relative to
the test file) and list test cases, each with input records (flow-log lines,
or records by field with repeat/vary), optional enrichment inputs (internal
networks, entities, allow-lists, threat lists, AWS service ranges) and the
alerts expected. A failing case prints a diff of the expected and raised
alerts and the command exits with code 1. Without arguments the tests of the
shipped rule set run.

  rule_files: [../portscan-vertical.yaml]
  tests:
    - name: one source probing 30 closed ports
      records:
        - {srcaddr: 45.33.10.7, dstaddr: 10.0.1.5, dstport: 1000, action: REJECT,
           repeat: 30, vary: {dstport: 1, at: 5s}}
      expect:
        - rule: portscan-vertical
          key: {srcaddr: 45.33.10.7, dstaddr: 10.0.1.5}
          value: 30`,
		RunE: func(c *cobra.Command, args []string) error {
			var res []detect.TestResult
			var err error
			if len(args) == 0 {
				res, err = detect.RunShippedTests(c.Context())
			} else {
				res, err = detect.RunTestFiles(c.Context(), args)
			}
			failed := 0
			for _, r := range res {
				if r.Err != nil {
					failed++
					fmt.Fprintf(e.stdout, "FAIL %s: %s\n  %s\n", r.File, r.Name, strings.ReplaceAll(r.Err.Error(), "\n", "\n  "))
				} else if verbose {
					fmt.Fprintf(e.stdout, "ok   %s: %s\n", r.File, r.Name)
				}
			}
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d rule test(s) failed", failed, len(res))
			}
			if len(res) == 0 {
				// A mistyped or empty directory must not pass a CI step.
				return fmt.Errorf("no rule tests found in %s (test files are *.yaml with a tests: list)", strings.Join(args, ", "))
			}
			fmt.Fprintf(e.stdout, "%d rule test(s) passed\n", len(res))
			return nil
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "list the tests that passed too")
	return c
}
