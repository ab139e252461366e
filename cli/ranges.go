package cli

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/enrich/awsranges"
	"github.com/flowlens/flowlens/output"
)

func newRangesCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "ranges",
		Short: "Keep AWS's ip-ranges.json for the audits",
		Long: `AWS publishes the address ranges of its services (ip-ranges.json). The
egress and ingress audits use it to name AWS destinations (service, region,
network border group) and to drop them (--exclude-service S3). The copy is
kept at $XDG_CACHE_HOME/flowlens/ip-ranges.json (~/.cache/flowlens/...)
unless --file says otherwise; the audits read it from there by default.`,
		Args: noArgs,
	}
	c.AddCommand(newRangesUpdateCmd(e), newRangesServicesCmd(e))
	return c
}

func rangesPath(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	return awsranges.DefaultPath()
}

func newRangesUpdateCmd(e *env) *cobra.Command {
	var file, url string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "update",
		Short: "Download ip-ranges.json (replaced only when the new copy parses)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			path, err := rangesPath(file)
			if err != nil {
				return err
			}
			client := &http.Client{Timeout: timeout}
			r, err := awsranges.Fetch(c.Context(), client, url, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %d prefixes, %d services, sync token %s, created %s\n", path, r.Len(), len(r.Services()), r.SyncToken, r.CreateDate)
			return nil
		},
	}
	c.Flags().StringVar(&file, "file", "", "where to save it (default: the cache directory)")
	c.Flags().StringVar(&url, "url", awsranges.DefaultURL, "where to download it from")
	c.Flags().DurationVar(&timeout, "timeout", time.Minute, "download timeout")
	return c
}

func newRangesServicesCmd(e *env) *cobra.Command {
	var file, out string
	c := &cobra.Command{
		Use:   "services",
		Short: "List the services of the saved ip-ranges.json (names for --exclude-service)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			path, err := rangesPath(file)
			if err != nil {
				return err
			}
			r, err := awsranges.Load(path)
			if err != nil {
				return err
			}
			f, err := outputFormat(out, e)
			if err != nil {
				return err
			}
			res := output.Result{Columns: []output.Column{{Name: "service"}}}
			for _, s := range r.Services() {
				res.Rows = append(res.Rows, []any{s})
			}
			return res.Write(f, e.stdout)
		},
	}
	c.Flags().StringVar(&file, "file", "", "ip-ranges.json to read (default: the cache directory's)")
	c.Flags().StringVarP(&out, "output", "o", "", "output format: table, csv, json, ndjson")
	return c
}
