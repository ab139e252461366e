package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/gen"
)

func newGenCmd(e *env) *cobra.Command {
	cfg := gen.DefaultConfig()
	var out gen.Output
	c := &cobra.Command{
		Use:   "gen",
		Short: "Generate realistic sample flow logs (deterministic, with planted incidents)",
		Long: `Generate flow-log records for a modelled AWS estate: instances, NAT gateways,
load balancers and databases talking to each other and to the internet, with
REJECT noise, NODATA/SKIPDATA records and IPv6, plus planted scenarios (a port
scan, an SSH brute force, an exfiltration, contact with addresses on an IOC list).
The same seed and options always give the same bytes.`,
		Example: `  flowlens gen --records 100000 --out flows.log.gz
  flowlens gen --format all --header --out v11.log
  flowlens gen --tree demo/ --duration 2h --ioc-out iocs.csv --truth-out truth.json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := cfg.Validate(); err != nil {
				return &UsageError{err}
			}
			t, files, err := gen.Run(cfg, out, e.stdout)
			if err != nil {
				return err
			}
			if out.Path != "" && out.Path != "-" || out.TreeDir != "" {
				fmt.Fprintf(e.stderr, "flowlens: wrote %d records to %d file(s)\n", t.Stats.Records, len(files))
			}
			return nil
		},
	}
	cfg.AddFlags(c.Flags())
	out.AddFlags(c.Flags())
	return c
}
