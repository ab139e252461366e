package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/cwl"
	"github.com/flowlens/flowlens/source/local"
)

// sourceFlags are the flags shared by every command that reads SOURCE args.
type sourceFlags struct {
	format   string
	strict   bool
	workers  int
	progress string
	aws      awsFlags // S3/SQS access and key-layout pruning (s3.go)
}

func (f *sourceFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.format, "format", "", "record format of headerless input: AWS '${field} ...' string or plain field names (default: v2; S3 header lines win)")
	fl.BoolVar(&f.strict, "strict", false, "stop at the first bad record")
	fl.IntVar(&f.workers, "workers", 0, "parsing goroutines (default: all cores)")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when a terminal), always, never")
	f.aws.register(c)
}

// config builds the pipeline settings; want is the set of fields needed.
func (f *sourceFlags) config(want schema.Set) (source.Config, error) {
	cfg := source.DefaultConfig()
	if f.format != "" {
		fm, err := parseFormatFlag(f.format)
		if err != nil {
			return cfg, &UsageError{err}
		}
		cfg.Format = fm
	}
	if f.workers > 0 {
		cfg.Workers = f.workers
	}
	cfg.Strict = f.strict
	cfg.Want = want
	cfg.Parquet = parquetReader
	if f.aws.remote {
		// Remote objects are latency-bound: keep more GETs going.
		cfg.InputsInFlight = max(remoteInFlight, cfg.Workers+1)
	}
	switch f.progress {
	case "auto", "always", "never":
	default:
		return cfg, usagef("--progress must be auto, always or never")
	}
	return cfg, nil
}

// parseFormatFlag accepts a format string or the names of the defaults.
func parseFormatFlag(s string) (*flowlog.Format, error) {
	switch s {
	case "v2", "default":
		return flowlog.V2, nil
	case "tgw", "transit-gateway":
		return flowlog.TGW, nil
	}
	return flowlog.ParseFormat(s)
}

// readSources expands args and runs the pipeline into sink, showing
// progress and reporting bad records on stderr.
func readSources(ctx context.Context, e *env, f *sourceFlags, args []string, want schema.Set, sink source.Sink) (*source.Report, error) {
	if _, err := f.config(want); err != nil {
		return nil, err
	}
	inputs, err := expandSources(ctx, e, f, args)
	if err != nil {
		return nil, err
	}
	return readInputs(ctx, e, f, inputs, want, sink)
}

// readInputs runs the pipeline over resolved inputs.
func readInputs(ctx context.Context, e *env, f *sourceFlags, inputs []source.Input, want schema.Set, sink source.Sink) (*source.Report, error) {
	cfg, err := f.config(want)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, in := range inputs {
		if in.Size() > 0 {
			total += in.Size()
		}
	}
	show := f.progress == "always" || f.progress == "auto" && isTerminal(e.stderr) && total > 32<<20
	var bar *progressbar.ProgressBar
	if show {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription(fmt.Sprintf("reading %d input(s)", len(inputs))),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		var n atomic.Int64
		cfg.Progress = func(d int64) {
			n.Add(d)
			_ = bar.Add64(d)
		}
	}
	rep, err := source.Run(ctx, cfg, inputs, sink)
	if bar != nil {
		_ = bar.Finish()
	}
	if rep != nil {
		locateErrors(inputs, rep)
		reportProblems(e.stderr, rep)
	}
	if err != nil {
		return rep, err
	}
	if rep.Failed > 0 {
		return rep, &incompleteError{failed: rep.Failed, inputs: len(inputs)}
	}
	return rep, nil
}

// incompleteError says that some inputs could not be read to their end (a
// truncated gzip, a read error); the records before the damage were
// delivered and the report counts them.
type incompleteError struct{ failed, inputs int }

func (e *incompleteError) Error() string {
	return fmt.Sprintf("%d of %d input(s) could not be read completely", e.failed, e.inputs)
}

// expander resolves the SOURCE arguments of one URL scheme into inputs.
type expander func(ctx context.Context, f *sourceFlags, args []string) ([]source.Input, error)

// expanders maps URL schemes (s3://, cwl://) to their expanders; anything
// without a known scheme is a local path.
func expanders() map[string]expander {
	return map[string]expander{"s3": expandS3, cwl.Scheme: expandCWL}
}

// expandSources resolves SOURCE arguments, keeping their order. A local
// file named more than once (twice on the command line, inside a folder
// also given, through a symbolic link) is read once, with a note.
func expandSources(ctx context.Context, e *env, f *sourceFlags, args []string) ([]source.Input, error) {
	ex := expanders()
	var out []source.Input
	seen := map[string]bool{}
	dups := 0
	for _, a := range args {
		scheme, _, ok := strings.Cut(a, "://")
		if ok {
			fn, known := ex[scheme]
			if !known {
				return nil, usagef("%s: unsupported source scheme %q", a, scheme)
			}
			ins, err := fn(ctx, f, []string{a})
			if err != nil {
				return nil, err
			}
			out = append(out, ins...)
			continue
		}
		ins, err := local.Expand([]string{a})
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			if lf, ok := in.(*local.File); ok {
				id := localID(lf.Path)
				if seen[id] {
					dups++
					continue
				}
				seen[id] = true
			}
			out = append(out, in)
		}
	}
	if dups > 0 {
		fmt.Fprintf(e.stderr, "flowlens: note: %d input(s) named more than once (directly, in a folder also given, or through a link) are read once\n", dups)
	}
	return out, nil
}

// locateErrors names where bad records came from when their input knows
// better than a line number (a CloudWatch event: stream and event id).
func locateErrors(inputs []source.Input, rep *source.Report) {
	loc := map[string]cwl.Locator{}
	for _, in := range inputs {
		if l, ok := in.(cwl.Locator); ok {
			loc[in.Name()] = l
		}
	}
	if len(loc) == 0 {
		return
	}
	fix := func(errs []flowlog.ParseError) {
		for i := range errs {
			if l := loc[errs[i].Source]; l != nil {
				if where, ok := l.Locate(errs[i].Line); ok {
					errs[i].Source = where + ","
				}
			}
		}
	}
	fix(rep.Errors)
	for _, in := range rep.Inputs {
		fix(in.Errors)
	}
}

// reportProblems prints the first bad records in full, then the counts.
func reportProblems(w io.Writer, rep *source.Report) {
	for _, in := range rep.Inputs {
		if in.Err != nil {
			fmt.Fprintf(w, "flowlens: error: %v\n", in.Err)
		}
	}
	if rep.Total.Bad == 0 {
		return
	}
	for _, pe := range rep.Errors {
		fmt.Fprintf(w, "flowlens: bad record: %v\n", &pe)
	}
	files := 0
	for _, in := range rep.Inputs {
		if in.Stats.Bad > 0 {
			files++
		}
	}
	fmt.Fprintf(w, "flowlens: %d bad record(s) in %d input(s) skipped (%s); %d good record(s) kept\n",
		rep.Total.Bad, files, source.ReasonSummary(&rep.Total), rep.Total.Records)
}
