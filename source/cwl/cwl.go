// Package cwl reads flow logs from Amazon CloudWatch Logs:
// cwl://log-group[/stream-prefix]. It pages through FilterLogEvents over
// the group (optionally narrowed to streams with a name prefix), between
// an optional start and end time, riding out throttling with the SDK's
// retryer.
//
// Each event's message is one flow-log record (CloudWatch delivers records
// without a header line), so the events are handed to the source pipeline
// as text, one line per event, and parsed there like any other input.
//
// Two ways to read:
//   - Input streams every event of the time range as one source.Input
//     (read, query, top: no state kept).
//   - Poll reads only the events not seen before, according to a State of
//     durable per-stream cursors, and hands them over in Batches that the
//     caller commits together with the updated cursors (ingest). Follow
//     polls until its context ends.
package cwl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowlens/flowlens/awsconf"
)

// Scheme is the URL scheme of CloudWatch Logs sources.
const Scheme = "cwl"

// Config says how to reach CloudWatch Logs and which events to read.
type Config struct {
	// Options are the credentials, API region and retries (throttling
	// included: ThrottlingException is retried).
	awsconf.Options
	// EndpointURL overrides the CloudWatch Logs endpoint. Empty keeps the
	// SDK's resolution, which honours AWS_ENDPOINT_URL_CLOUDWATCH_LOGS and
	// AWS_ENDPOINT_URL.
	EndpointURL string
	// Since and Until bound the event time read (startTime and endTime of
	// the requests; Until is exclusive). Zero means unbounded.
	Since, Until time.Time
	// Lookback is how far before a stream's cursor a poll reads again, so
	// that events ingested by CloudWatch later than their timestamp (late
	// events) are still picked up; event ids dedupe what was seen.
	Lookback time.Duration
	// PageLimit is the limit of one FilterLogEvents request (1-10000; 0
	// leaves the API's default of 10,000 events or 1 MB).
	PageLimit int
	// BatchEvents and BatchBytes bound one Batch handed to Poll's caller
	// (one ingest transaction).
	BatchEvents int
	BatchBytes  int
	// PollInterval is the pause between two polls in Follow.
	PollInterval time.Duration
	// Format is the record format of the events (the AWS '${field}'
	// string); empty asks FormatLookup, then means the default v2.
	Format string
	// FormatLookup, when set, supplies the record format of a log group
	// when Format is empty (e.g. from EC2 DescribeFlowLogs).
	FormatLookup func(ctx context.Context, logGroup string) (string, error)
}

// DefaultConfig returns the settings the CLI starts from.
func DefaultConfig() Config {
	return Config{
		Options:      awsconf.DefaultOptions(),
		Lookback:     10 * time.Minute,
		BatchEvents:  100_000,
		BatchBytes:   32 << 20,
		PollInterval: 10 * time.Second,
	}
}

// Validate checks the settings.
func (c *Config) Validate() error {
	switch {
	case !c.Since.IsZero() && !c.Until.IsZero() && !c.Until.After(c.Since):
		return errors.New("cwl: until must be after since")
	case c.Lookback < 0:
		return errors.New("cwl: the look-back must not be negative")
	case c.PageLimit < 0 || c.PageLimit > 10000:
		return fmt.Errorf("cwl: page limit %d: want 1 to 10000 (0: the API's default)", c.PageLimit)
	case c.PollInterval < 0:
		return errors.New("cwl: the poll interval must not be negative")
	}
	if err := c.Options.Validate(); err != nil {
		return fmt.Errorf("cwl: %w", err)
	}
	return nil
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.BatchEvents <= 0 {
		c.BatchEvents = d.BatchEvents
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = d.BatchBytes
	}
	if c.PollInterval <= 0 {
		c.PollInterval = d.PollInterval
	}
}

// NewClient builds a CloudWatch Logs client from cfg: credentials, region,
// role and retry policy are resolved as for every AWS client (awsconf).
func NewClient(ctx context.Context, cfg Config) (*cloudwatchlogs.Client, error) {
	cfg.fill()
	ac, err := awsconf.Load(ctx, cfg.Options)
	if err != nil {
		return nil, err
	}
	return cloudwatchlogs.NewFromConfig(ac, func(o *cloudwatchlogs.Options) {
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
	}), nil
}

// API is the part of the CloudWatch Logs client the source uses.
type API interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput,
		opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

var _ API = (*cloudwatchlogs.Client)(nil)

// Target is a log group and an optional stream-name prefix.
type Target struct {
	Group  string
	Prefix string
}

// String renders the target as a URL.
func (t Target) String() string {
	if t.Prefix == "" {
		return Scheme + "://" + t.Group
	}
	return Scheme + "://" + t.Group + ":" + t.Prefix
}

// ParseURL reads cwl://log-group[/stream-prefix]. Log group names may hold
// slashes themselves (/aws/vpc/flow-logs), so the URL can mean several
// targets: the whole path as the group first, then shorter groups with the
// rest as the stream prefix. A colon (cwl://group:prefix) separates the
// two unambiguously, as neither names may contain one.
func ParseURL(u string) ([]Target, error) {
	rest, ok := strings.CutPrefix(u, Scheme+"://")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%s: want cwl://log-group[/stream-prefix]", u)
	}
	if len(rest) > 1 {
		rest = strings.TrimSuffix(rest, "/")
	}
	if g, p, ok := strings.Cut(rest, ":"); ok {
		if err := checkNames(u, g, p); err != nil {
			return nil, err
		}
		return []Target{{Group: g, Prefix: p}}, nil
	}
	var out []Target
	for i := len(rest); i > 0; i = strings.LastIndexByte(rest[:i], '/') {
		g, p := rest[:i], ""
		if i < len(rest) {
			p = rest[i+1:]
		}
		if checkNames(u, g, p) == nil {
			out = append(out, Target{Group: g, Prefix: p})
		}
	}
	if len(out) == 0 {
		return nil, checkNames(u, rest, "")
	}
	return out, nil
}

// checkNames applies the API's naming rules.
func checkNames(u, group, prefix string) error {
	if group == "" || len(group) > 512 {
		return fmt.Errorf("%s: log group name must be 1 to 512 characters", u)
	}
	for _, c := range group {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/#", c)) {
			return fmt.Errorf("%s: log group name %q: %q is not allowed (letters, digits, . _ - / #)", u, group, c)
		}
	}
	if len(prefix) > 512 || strings.ContainsAny(prefix, ":*") {
		return fmt.Errorf("%s: stream prefix %q: at most 512 characters, no ':' or '*'", u, prefix)
	}
	return nil
}

// Source reads one log group.
type Source struct {
	client     API
	cfg        Config
	candidates []Target
	target     Target
	resolved   bool
}

// New returns a Source for the cwl:// URL u, reading through client.
func New(client API, cfg Config, u string) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	ts, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	s := &Source{client: client, cfg: cfg, candidates: ts, target: ts[0]}
	s.resolved = len(ts) == 1
	return s, nil
}

// Config returns the settings in effect.
func (s *Source) Config() Config { return s.cfg }

// Target returns the group and prefix read (after Resolve, the group that
// exists).
func (s *Source) Target() Target { return s.target }

// Name is the source's name in messages: cwl://group[/prefix], or
// cwl://group:prefix when the group name holds slashes.
func (s *Source) Name() string { return s.target.Name() }

// Name renders the target as a URL: cwl://group[/prefix], or
// cwl://group:prefix when the group name holds slashes.
func (t Target) Name() string {
	if t.Prefix == "" || !strings.Contains(t.Group, "/") {
		return Scheme + "://" + t.Group + pick(t.Prefix != "", "/", "") + t.Prefix
	}
	return t.String()
}

func pick(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// ErrGroupNotFound is matched (errors.Is) by the error for a log group
// that does not exist.
var ErrGroupNotFound = errors.New("log group not found")

// Resolve picks, among the targets the URL may mean, the first whose log
// group exists (a cheap FilterLogEvents over an empty time range tells).
// It is a no-op when the URL was unambiguous; the first read then reports
// a missing group.
func (s *Source) Resolve(ctx context.Context) error {
	if s.resolved {
		return nil
	}
	var tried []string
	for _, t := range s.candidates {
		_, err := s.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String(t.Group), StartTime: aws.Int64(1), EndTime: aws.Int64(1), Limit: aws.Int32(1),
		})
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			tried = append(tried, fmt.Sprintf("%q", t.Group))
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		s.target, s.resolved = t, true
		return nil
	}
	return fmt.Errorf("cwl://%s: %w: no log group named %s", s.candidates[0].Group, ErrGroupNotFound, strings.Join(tried, " or "))
}

// RecordFormat returns the record format to parse the events with:
// Config.Format, else what FormatLookup says for the group, else "" (the
// default v2 format).
func (s *Source) RecordFormat(ctx context.Context) (string, error) {
	if s.cfg.Format != "" || s.cfg.FormatLookup == nil {
		return s.cfg.Format, nil
	}
	f, err := s.cfg.FormatLookup(ctx, s.target.Group)
	if err != nil {
		return "", fmt.Errorf("%s: record format lookup: %w", s.Name(), err)
	}
	return f, nil
}

// Event is one log event.
type Event struct {
	Stream    string
	ID        string
	Timestamp int64 // ms since the epoch
	Ingestion int64 // ms since the epoch
	Message   string
}

// ScanStats counts the requests and pages of reads.
type ScanStats struct {
	Requests   int64 // FilterLogEvents calls answered
	Pages      int64 // pages with events
	EmptyPages int64 // pages without events (not the end unless the last)
	Events     int64 // events received
}

// timeRange returns the requests' startTime and endTime (inclusive, ms).
func (s *Source) timeRange() (start, end *int64) {
	if !s.cfg.Since.IsZero() {
		start = aws.Int64(max(s.cfg.Since.UnixMilli(), 0))
	}
	if !s.cfg.Until.IsZero() {
		end = aws.Int64(max(s.cfg.Until.UnixMilli()-1, 0))
	}
	return start, end
}

// scan pages through the events of [start, end] and calls fn with each
// page's events, in the API's order (event timestamp). An empty page with
// a nextToken is not the end.
func (s *Source) scan(ctx context.Context, start, end *int64, st *ScanStats, fn func([]types.FilteredLogEvent) error) error {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(s.target.Group), StartTime: start, EndTime: end}
	if s.target.Prefix != "" {
		in.LogStreamNamePrefix = aws.String(s.target.Prefix)
	}
	if s.cfg.PageLimit > 0 {
		in.Limit = aws.Int32(int32(s.cfg.PageLimit))
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		out, err := s.client.FilterLogEvents(ctx, in)
		if err != nil {
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				return fmt.Errorf("%s: %w: %q: %w", s.Name(), ErrGroupNotFound, s.target.Group, err)
			}
			return fmt.Errorf("%s: FilterLogEvents: %w", s.Name(), err)
		}
		st.Requests++
		if len(out.Events) == 0 {
			st.EmptyPages++
		} else {
			st.Pages++
			st.Events += int64(len(out.Events))
			if err := fn(out.Events); err != nil {
				return err
			}
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return nil
		}
		if in.NextToken != nil && *in.NextToken == next && len(out.Events) == 0 {
			// The same token again with nothing new: the scan is at the
			// head of the group.
			return nil
		}
		in.NextToken = aws.String(next)
	}
}

// eventOf copies an API event.
func eventOf(e *types.FilteredLogEvent) Event {
	return Event{
		Stream:    aws.ToString(e.LogStreamName),
		ID:        aws.ToString(e.EventId),
		Timestamp: aws.ToInt64(e.Timestamp),
		Ingestion: aws.ToInt64(e.IngestionTime),
		Message:   aws.ToString(e.Message),
	}
}

// appendLine appends an event's message as one line: line breaks inside
// a message (never in a flow-log record) become spaces, so that line n of
// an input is event n.
func appendLine(dst []byte, msg string) []byte {
	msg = strings.TrimRight(msg, "\r\n")
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\n' || c == '\r' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\n')
}
