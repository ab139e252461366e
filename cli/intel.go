package cli

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/intel"
	"github.com/flowlens/flowlens/output"
)

func newIntelCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "intel",
		Short: "Fetch and list threat-intel indicator lists",
		Long: `Keep a local cache of public indicator lists (Spamhaus DROP/EDROP, FireHOL
level 1, abuse.ch Feodo Tracker and SSLBL, Tor exit nodes) for
'flowlens hunt --ioc-dir'. The cache is $XDG_CACHE_HOME/flowlens/intel
(~/.cache/flowlens/intel) unless --dir says otherwise.`,
		Args: noArgs,
	}
	c.AddCommand(newIntelUpdateCmd(e), newIntelListCmd(e))
	return c
}

func intelDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return intel.DefaultDir()
}

func newIntelUpdateCmd(e *env) *cobra.Command {
	var dir string
	var urls []string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "update [NAME...]",
		Short: "Download the configured feeds into the cache (conditional GET)",
		Long: `Download the feeds named (all configured feeds when none is named) into the
cache directory. A copy already cached is revalidated with its ETag and
Last-Modified (HTTP 304 keeps it); a new copy replaces the old atomically and
only when it reads as an indicator list. --url name=URL changes a feed's URL or
adds a feed (its format is detected).`,
		Example: `  flowlens intel update
  flowlens intel update feodo sslbl --dir /var/lib/flowlens/intel
  flowlens intel update --url blocklist=https://intel.example.com/ips.txt blocklist`,
		RunE: func(c *cobra.Command, args []string) error {
			d, err := intelDir(dir)
			if err != nil {
				return err
			}
			feeds := intel.DefaultFeeds()
			for _, u := range urls {
				name, url, ok := strings.Cut(u, "=")
				if !ok || name == "" || !(strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")) {
					return usagef("--url %q: want name=http(s)://...", u)
				}
				found := false
				for i := range feeds {
					if feeds[i].Name == name {
						feeds[i].URL, found = url, true
					}
				}
				if !found {
					feeds = append(feeds, intel.Feed{Name: name, URL: url})
				}
			}
			if len(args) > 0 {
				var sel []intel.Feed
				for _, n := range args {
					i := indexFeed(feeds, n)
					if i < 0 {
						var names []string
						for _, f := range feeds {
							names = append(names, f.Name)
						}
						return usagef("unknown feed %q (configured: %s; add one with --url %s=URL)", n, strings.Join(names, ", "), n)
					}
					sel = append(sel, feeds[i])
				}
				feeds = sel
			}
			f := &intel.Fetcher{Dir: d, Client: &http.Client{Timeout: timeout}, UserAgent: "flowlens"}
			failed := 0
			for _, feed := range feeds {
				m, st, err := f.Fetch(c.Context(), feed)
				if err != nil {
					failed++
					fmt.Fprintf(e.stderr, "flowlens: %v\n", err)
					continue
				}
				fmt.Fprintf(e.stderr, "flowlens: %s: %s, %d indicator(s), %d bad line(s)\n", feed.Name, st, m.Indicators, m.Rejected)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d feed(s) failed (cached copies kept)", failed, len(feeds))
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "cache directory (default $XDG_CACHE_HOME/flowlens/intel or ~/.cache/flowlens/intel)")
	c.Flags().StringArrayVar(&urls, "url", nil, "feed URL as name=URL, replacing a default feed's or adding one (repeatable)")
	c.Flags().DurationVar(&timeout, "timeout", time.Minute, "time limit per download")
	return c
}

func indexFeed(feeds []intel.Feed, name string) int {
	for i, f := range feeds {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func newIntelListCmd(e *env) *cobra.Command {
	var dir, of string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the cached indicator lists with their counts",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			d, err := intelDir(dir)
			if err != nil {
				return err
			}
			ofmt, err := outputFormat(of, e)
			if err != nil {
				return err
			}
			metas, err := intel.Cached(d)
			if err != nil {
				return err
			}
			w, err := output.NewResultWriter(ofmt, e.stdout, []output.Column{
				{Name: "list"}, {Name: "format"}, {Name: "indicators", Type: output.TypeInt}, {Name: "bad_lines", Type: output.TypeInt},
				{Name: "bytes", Type: output.TypeInt}, {Name: "fetched_at", Type: output.TypeTime}, {Name: "checked_at", Type: output.TypeTime},
				{Name: "url"}, {Name: "file"},
			})
			if err != nil {
				return err
			}
			for _, m := range metas {
				path := intel.DataPath(d, m.Name)
				if _, err := os.Stat(path); err != nil {
					path = ""
				}
				if err := w.WriteRow([]any{m.Name, m.Format, int64(m.Indicators), int64(m.Rejected), m.Bytes, m.FetchedAt, m.CheckedAt, intel.RedactURL(m.URL), path}); err != nil {
					return err
				}
			}
			return w.Close()
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "cache directory (default $XDG_CACHE_HOME/flowlens/intel or ~/.cache/flowlens/intel)")
	c.Flags().StringVarP(&of, "output", "o", "", "output format: table, csv, json, ndjson, parquet")
	return c
}
