package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
)

var errLimit = errors.New("limit reached")

func newReadCmd(e *env) *cobra.Command {
	var (
		sf     storeFlags
		fields string
		limit  int64
		count  bool
	)
	c := &cobra.Command{
		Use:   "read SOURCE...",
		Short: "Parse flow logs and print or convert the records",
		Long: `Parse flow-log files, folders (recursive), globs or - (stdin), plain or gzip,
text (S3 with header lines, CloudWatch exports), JSON wrappers or Parquet, and print
the records as a table, CSV, JSON, NDJSON or Parquet.`,
		Example: `  flowlens read flows.log.gz
  flowlens read -o parquet AWSLogs/ > flows.parquet
  flowlens read --fields srcaddr,dstaddr,dstport,action --limit 20 flows.log
  aws logs filter-log-events ... | flowlens read -o csv -`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ids, err := parseFieldList(fields)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usagef("--limit %d: want a number of records, or 0 for all", limit)
			}
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			// Derived fields the filter reads are filled, as top and query
			// do over SOURCE files; without that they would be NULL and
			// match nothing. The enrichment data is loaded only then: the
			// records printed carry no derived fields.
			var fill *enrich.Filler
			if derivedIn(sf.expr) != (schema.Set{}) {
				done, err := sf.loadFill(c, e, schema.Set{}, false)
				if err != nil {
					return err
				}
				defer done()
				fill = sf.filler()
			}
			if count {
				var kept int64
				rep, err := readSources(c.Context(), e, &sf.sourceFlags, args, sf.want(schema.SetOf(schema.FVersion)), source.SinkFunc(func(b *flowlog.Batch) error {
					if !sf.filtered() {
						return nil
					}
					filled(fill, b)
					for i := 0; i < b.N; i++ {
						if sf.keep(b, i) {
							kept++
						}
					}
					return nil
				}))
				// With inputs cut short, the counts of what was read are
				// still printed, and the run still fails.
				var ie *incompleteError
				if err != nil && !errors.As(err, &ie) {
					return err
				}
				if sf.filtered() {
					fmt.Fprintf(e.stdout, "%d records match of ", kept)
				}
				fmt.Fprintf(e.stdout, "%d records, %d bad, %d inputs\n", rep.Total.Records, rep.Total.Bad, len(rep.Inputs))
				return err
			}
			ofmt, err := outputFormat(sf.output, e)
			if err != nil {
				return err
			}
			want := schema.SetOf(ids...)
			if len(ids) == 0 {
				want = schema.All()
			}
			want = sf.want(want)
			kept := flowlog.NewBatch()
			var w output.RecordWriter
			var n int64
			sink := func(b *flowlog.Batch) error {
				if sf.filtered() {
					filled(fill, b)
					kept.Reset(b.Present)
					kept.Format, kept.Source, kept.Line = b.Format, b.Source, b.Line
					for i := 0; i < b.N; i++ {
						if sf.keep(b, i) {
							kept.AppendRowFrom(b, i)
						}
					}
					b = kept
				}
				if w == nil {
					cols := ids
					if len(cols) == 0 {
						// Without --fields, print the columns of the first
						// format seen, in its order.
						cols = formatColumns(b)
					}
					w, err = output.NewRecordWriter(ofmt, e.stdout, cols)
					if err != nil {
						return err
					}
				}
				if limit > 0 && n+int64(b.N) >= limit {
					b.N = int(limit - n)
					n = limit
					if err := w.WriteBatch(b); err != nil {
						return err
					}
					return errLimit
				}
				n += int64(b.N)
				return w.WriteBatch(b)
			}
			_, err = readSources(c.Context(), e, &sf.sourceFlags, args, want, source.SinkFunc(sink))
			if errors.Is(err, errLimit) {
				err = nil
			}
			if w == nil && err == nil {
				cols := ids
				if len(cols) == 0 {
					cols = flowlog.V2.IDs
				}
				if w, err = output.NewRecordWriter(ofmt, e.stdout, cols); err != nil {
					return err
				}
			}
			if w != nil {
				if cerr := w.Close(); err == nil {
					err = cerr
				}
			}
			return err
		},
	}
	sf.sourceFlags.register(c)
	c.Flags().StringVarP(&sf.output, "output", "o", "", "output format: table, csv, json, ndjson, parquet (default: table on a terminal, csv otherwise)")
	c.Flags().StringVar(&sf.where, "where", "", "only records matching this filter, e.g. 'dstport = 22 and action = REJECT'")
	c.Flags().StringVar(&sf.since, "since", "", "only records at or after this time: RFC 3339 or a duration back from now (24h, 7d)")
	c.Flags().StringVar(&sf.until, "until", "", "only records before this time")
	c.Flags().StringVar(&fields, "fields", "", "comma-separated fields to print, in order (default: the input's fields)")
	c.Flags().Int64Var(&limit, "limit", 0, "stop after N records")
	c.Flags().BoolVar(&count, "count", false, "only count good and bad records")
	sf.registerFill(c)
	return c
}

// formatColumns lists the known fields of the batch's format, in its order,
// then the other parsed fields present; derived fields (filled for a
// filter) are not printed.
func formatColumns(b *flowlog.Batch) []int {
	var cols []int
	if b.Format != nil {
		for _, id := range b.Format.IDs {
			if id >= 0 {
				cols = append(cols, id)
			}
		}
	}
	for _, id := range b.Present.IDs() {
		if schema.IsDerived(id) {
			continue
		}
		found := false
		for _, c := range cols {
			found = found || c == id
		}
		if !found {
			cols = append(cols, id)
		}
	}
	return cols
}

// parseFieldList resolves --fields.
func parseFieldList(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ids []int
	for _, name := range strings.Split(s, ",") {
		f, ok := schema.Lookup(name)
		if !ok {
			return nil, usagef("unknown field %q (see 'flowlens fields')", strings.TrimSpace(name))
		}
		ids = append(ids, f.ID)
	}
	return ids, nil
}

// outputFormat resolves -o, defaulting by whether stdout is a terminal.
func outputFormat(s string, e *env) (output.Format, error) {
	if s == "" {
		return output.DefaultFormat(isTerminal(e.stdout)), nil
	}
	f, err := output.ParseFormat(s)
	if err != nil {
		return f, &UsageError{err}
	}
	return f, nil
}
