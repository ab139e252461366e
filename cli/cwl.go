package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/inventory/awsapi"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/cwl"
)

// cwlSinceSlack widens the event-time window of --since for the read
// commands: an event's timestamp is the start of its record's capture
// window, and a record that started before --since but ended after it is in
// the range. The records themselves are cut exactly by their start and end.
// Ingest reads exactly the events of [--since, --until) and keeps them
// whole.
const cwlSinceSlack = 15 * time.Minute

// cwlFlags tune ingestion from CloudWatch Logs (ingest only: the other
// commands read the time range and keep no cursor).
type cwlFlags struct {
	lookback     time.Duration
	follow       bool
	interval     time.Duration
	lookupFormat bool
	pageLimit    int
}

// register adds the CloudWatch flags and --since/--until to ingest.
func (w *cwlFlags) register(c *cobra.Command, sf *storeFlags) {
	fl := c.Flags()
	fl.StringVar(&sf.since, "since", "", "S3 objects named for this time or later, CloudWatch events from this time: RFC 3339 or a duration back from now (24h, 7d); what is read is ingested whole")
	fl.StringVar(&sf.until, "until", "", "S3 objects named for before this time (plus the delivery slack), CloudWatch events before this time")
	fl.DurationVar(&w.lookback, "cwl-lookback", 10*time.Minute, "cwl://: read again this far before each stream's cursor, so events CloudWatch ingests late are picked up (event ids dedupe)")
	fl.BoolVar(&w.follow, "follow", false, "cwl://: keep polling for new events until interrupted, committing each poll")
	fl.DurationVar(&w.interval, "poll-interval", 10*time.Second, "cwl://: pause between two polls with --follow")
	fl.BoolVar(&w.lookupFormat, "lookup-format", false, "cwl://: without --format, look the record format up with EC2 DescribeFlowLogs (needs ec2:DescribeFlowLogs)")
	fl.IntVar(&w.pageLimit, "cwl-page-limit", 0, "cwl://: events per FilterLogEvents request, 1-10000 (default: the API's, 10000 or 1 MB)")
}

// isCWL reports whether args name a CloudWatch Logs group.
func isCWL(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, cwl.Scheme+"://") {
			return true
		}
	}
	return false
}

// newCWLSource builds the source of one cwl:// argument from the AWS flags
// and the command's --since/--until, and resolves its log group. w is nil
// for the commands that keep no cursor.
func newCWLSource(ctx context.Context, f *sourceFlags, w *cwlFlags, u string, now time.Time) (*cwl.Source, error) {
	if _, err := cwl.ParseURL(u); err != nil {
		return nil, &UsageError{err}
	}
	base, err := f.aws.s3Config(now)
	if err != nil {
		return nil, err
	}
	cfg := cwl.DefaultConfig()
	cfg.Options = base.Options
	cfg.EndpointURL = base.EndpointURL
	cfg.Since = base.Since
	if !base.Since.IsZero() && w == nil {
		cfg.Since = base.Since.Add(-cwlSinceSlack)
	}
	cfg.Until = base.Until
	cfg.Format = f.format
	if w != nil {
		cfg.Lookback, cfg.PollInterval, cfg.PageLimit = w.lookback, w.interval, w.pageLimit
		if w.lookupFormat && f.format == "" {
			cfg.FormatLookup = func(ctx context.Context, group string) (string, error) {
				clients, err := awsapi.NewClients(ctx, awsapi.Config{Regions: nonEmpty(base.Region), Profile: base.Profile,
					RoleARN: base.RoleARN, ExternalID: base.ExternalID, MaxAttempts: base.MaxAttempts, MaxBackoff: base.MaxBackoff})
				if err != nil {
					return "", err
				}
				return awsapi.FlowLogFormat(ctx, clients[0].Client, group)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, &UsageError{err}
	}
	client, err := cwl.NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	src, err := cwl.New(client, cfg, u)
	if err != nil {
		return nil, &UsageError{err}
	}
	if err := src.Resolve(ctx); err != nil {
		return nil, err
	}
	return src, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// expandCWL turns cwl:// arguments into inputs that read the events of the
// time range (no cursor).
func expandCWL(ctx context.Context, f *sourceFlags, args []string) ([]source.Input, error) {
	var out []source.Input
	for _, a := range args {
		src, err := newCWLSource(ctx, f, nil, a, time.Now())
		if err != nil {
			return nil, err
		}
		out = append(out, src.Input())
	}
	return out, nil
}

// ingestCWL ingests the new events of one log group: each batch's records
// and the streams' cursors commit in one transaction, so a run that stops
// anywhere (Ctrl-C, kill -9) resumes where the last commit left off, and
// repeated runs add exactly the events that are new. With --follow it
// polls until interrupted.
func ingestCWL(ctx context.Context, e *env, sf *storeFlags, w *cwlFlags, args []string) error {
	if len(args) != 1 {
		return usagef("ingest takes one cwl:// log group, and no other SOURCE with it")
	}
	src, err := newCWLSource(ctx, &sf.sourceFlags, w, args[0], time.Now())
	if err != nil {
		return err
	}
	format, err := src.RecordFormat(ctx)
	if err != nil {
		return err
	}
	if format != "" && sf.format == "" {
		sf.format = format
		fmt.Fprintf(e.stderr, "flowlens: %s: record format %q (DescribeFlowLogs)\n", src.Name(), format)
	}
	if _, err := sf.config(schema.All()); err != nil {
		return err
	}
	st, dcfg, err := sf.openWritable()
	if err != nil {
		return err
	}
	defer st.Close()
	group := src.Target().Group
	state, err := cwl.LoadState(ctx, st, group)
	if err != nil {
		return err
	}
	var total cwl.PollStats
	var records, bad int64
	start := time.Now()
	commit := func(ctx context.Context, b *cwl.Batch) error {
		// A batch read to its end commits even when the run is being
		// stopped: its cursor goes with it.
		ctx = context.WithoutCancel(ctx)
		// Whole events: their ids go into the cursor, so records left out
		// now could not be read again.
		sink, err := newStoreSink(ctx, st, nil, sf.filler())
		if err != nil {
			return err
		}
		defer func() { sink.tx.Rollback() }()
		rep, err := readInputs(ctx, e, &sf.sourceFlags, []source.Input{b.Input()}, schema.All(), sink)
		if err != nil {
			return err
		}
		cw, ok := sink.tx.(cwl.CursorWriter)
		if !ok {
			return errors.New("this store keeps no CloudWatch cursors")
		}
		if err := b.Save(ctx, cw); err != nil {
			return err
		}
		if err := sink.tx.Commit(ctx); err != nil {
			return err
		}
		records += sink.records
		bad += rep.Total.Bad
		return nil
	}
	add := func(ps cwl.PollStats) {
		total.Add(ps)
		if w.follow && ps.New > 0 {
			fmt.Fprintf(e.stderr, "flowlens: %s: %d new event(s) committed\n", src.Name(), ps.New)
		}
	}
	if w.follow {
		err = src.Follow(ctx, state, commit, add)
	} else {
		var ps cwl.PollStats
		ps, err = src.Poll(ctx, state, commit)
		add(ps)
	}
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "flowlens: ingested %s into %s: %d new event(s), %d records, %d bad, in %.2fs; %d seen before skipped (look-back), %d older than the cursors skipped; %d requests (%d empty pages)\n",
		src.Name(), dcfg.Path, total.New, records, bad, el.Seconds(), total.Duplicates, total.BeforeCursor, total.Requests, total.EmptyPages)
	return err
}
