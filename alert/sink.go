package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/flowlens/flowlens/output"
)

// Sink delivers alerts somewhere. Send is given the alerts of one run (or
// the ones being redelivered) and returns an error naming the sink and the
// alerts it could not deliver.
type Sink interface {
	// Name identifies the sink in errors ("webhook https://...").
	Name() string
	// Send delivers alerts.
	Send(ctx context.Context, alerts []Alert) error
}

// Writer writes alerts to w (stdout) in an output format: a table, CSV,
// JSON (an array of objects, samples included) or NDJSON.
type Writer struct {
	W      io.Writer
	Format output.Format
}

var _ Sink = (*Writer)(nil)

// Name returns "stdout".
func (s *Writer) Name() string { return "stdout" }

// Columns are the columns Writer writes, in order: a short set for tables
// and CSV, every field (samples included) for JSON.
func Columns(full bool) []output.Column {
	if !full {
		return []output.Column{
			{Name: "severity"}, {Name: "rule"}, {Name: "key"},
			{Name: "value", Type: output.TypeInt}, {Name: "threshold", Type: output.TypeInt},
			{Name: "window_start", Type: output.TypeTime}, {Name: "first_seen", Type: output.TypeTime},
			{Name: "last_seen", Type: output.TypeTime}, {Name: "flows", Type: output.TypeInt}, {Name: "follow_up"},
		}
	}
	return []output.Column{
		{Name: "id"}, {Name: "severity"}, {Name: "rule"}, {Name: "title"}, {Name: "mitre"}, {Name: "key"},
		{Name: "measure"}, {Name: "value", Type: output.TypeInt}, {Name: "threshold", Type: output.TypeInt},
		{Name: "baseline", Type: output.TypeFloat},
		{Name: "window_start", Type: output.TypeTime}, {Name: "window_end", Type: output.TypeTime},
		{Name: "first_seen", Type: output.TypeTime}, {Name: "last_seen", Type: output.TypeTime},
		{Name: "flows", Type: output.TypeInt}, {Name: "samples"}, {Name: "follow_up"},
	}
}

// Row returns a's values for Columns(full).
func Row(a *Alert, full bool) []any {
	if !full {
		return []any{a.Severity, a.Rule, a.Key.String(), a.Value, a.Threshold, a.WindowStart.UTC(),
			a.FirstSeen.UTC(), a.LastSeen.UTC(), a.Flows, a.FollowUp}
	}
	var base, mitre, samples any
	if a.Baseline != nil {
		base = *a.Baseline
	}
	if a.MITRE != "" {
		mitre = a.MITRE
	}
	if len(a.Samples) > 0 {
		samples = a.Samples
	}
	return []any{a.ID, a.Severity, a.Rule, a.Title, mitre, a.Key, a.Measure, a.Value, a.Threshold, base,
		a.WindowStart.UTC(), a.WindowEnd.UTC(), a.FirstSeen.UTC(), a.LastSeen.UTC(), a.Flows, samples, a.FollowUp}
}

// Send writes the alerts. A table with no alerts says so in its footer.
func (s *Writer) Send(_ context.Context, alerts []Alert) error {
	structured := s.Format == output.JSON || s.Format == output.NDJSON || s.Format == output.Parquet
	w, err := output.NewResultWriter(s.Format, s.W, Columns(structured))
	if err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	for i := range alerts {
		if err := w.WriteRow(Row(&alerts[i], structured)); err != nil {
			return fmt.Errorf("stdout: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

// File appends alerts as NDJSON (one Alert object per line) to a file,
// creating it when missing.
type File struct {
	Path string
	mu   sync.Mutex
}

var _ Sink = (*File)(nil)

// Name returns "file PATH".
func (s *File) Name() string { return "file " + s.Path }

// Send appends one line per alert and syncs the file.
func (s *File) Send(_ context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf []byte
	for i := range alerts {
		b, err := json.Marshal(&alerts[i])
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		buf = append(append(buf, b...), '\n')
	}
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	return nil
}

// SinkID returns the name under which the store records s's failures:
// s.ID() when s has one (sinks whose redacted names can be equal, such as
// two Slack webhooks), else s.Name().
func SinkID(s Sink) string {
	if i, ok := s.(interface{ ID() string }); ok {
		return i.ID()
	}
	return s.Name()
}

// Result is what Dispatch did.
type Result struct {
	// New are the alerts stored by this call (the ones not suppressed).
	New []Alert
	// Suppressed counts alerts dropped as duplicates of stored ones.
	Suppressed int
	// Redelivered counts the earlier alerts sent again, each to the sinks
	// that had failed it.
	Redelivered int
	// Unconfigured maps the SinkID of every sink that failed earlier
	// alerts but is not among this call's sinks to the number of those
	// alerts; they stay stored as undelivered for it. The key "" stands for
	// sinks an older flowlens did not record, when no sink is configured.
	Unconfigured map[string]int
	// DeliveryErr joins the errors of the sinks that failed; the alerts
	// are in the store whatever it says.
	DeliveryErr error
}

// Dispatch stores each candidate alert (dedupe against the store with its
// suppression period, given per alert by suppress), then hands the new
// ones to every sink, and each earlier alert given in redeliver to the
// sinks that failed it (to every sink when those are unknown). It records
// per alert the sinks that have still not delivered it: those that failed
// now, and those of earlier failures that are not among sinks (reported
// in Result.Unconfigured). A store error stops it; sink errors are
// collected in Result.DeliveryErr.
func Dispatch(ctx context.Context, st Store, candidates []Alert, suppress func(*Alert) time.Duration, redeliver []Pending, sinks []Sink) (Result, error) {
	var res Result
	for i := range candidates {
		a := candidates[i]
		if a.ID == "" {
			a.SetID()
		}
		ok, err := st.SaveAlert(ctx, &a, suppress(&a))
		if err != nil {
			return res, fmt.Errorf("store alert %s: %w", a.ID, err)
		}
		if !ok {
			res.Suppressed++
			continue
		}
		res.New = append(res.New, a)
	}
	ids := make([]string, len(sinks))
	configured := map[string]bool{}
	for i, s := range sinks {
		ids[i] = SinkID(s)
		configured[ids[i]] = true
	}
	// An outcome is an alert being delivered this call: the sinks it goes
	// to, and its failures (kept from earlier, then new).
	type outcome struct {
		alert  Alert
		to     map[string]bool
		failed []Failure
	}
	var outs []*outcome
	for _, a := range res.New {
		outs = append(outs, &outcome{alert: a, to: configured})
	}
	for _, p := range redeliver {
		o := &outcome{alert: p.Alert, to: map[string]bool{}}
		for _, f := range p.Failed {
			switch {
			case f.Sink == "" && len(sinks) > 0:
				for id := range configured {
					o.to[id] = true
				}
			case configured[f.Sink]:
				o.to[f.Sink] = true
			default:
				o.failed = append(o.failed, f)
				if res.Unconfigured == nil {
					res.Unconfigured = map[string]int{}
				}
				res.Unconfigured[f.Sink]++
			}
		}
		if len(o.to) > 0 {
			outs = append(outs, o)
			res.Redelivered++
		}
	}
	var errs []error
	for i, s := range sinks {
		var batch []Alert
		var sent []*outcome
		for _, o := range outs {
			if o.to[ids[i]] {
				batch = append(batch, o.alert)
				sent = append(sent, o)
			}
		}
		if len(batch) == 0 {
			continue
		}
		err := s.Send(ctx, batch)
		if err == nil {
			continue
		}
		errs = append(errs, err)
		var de *DeliveryError
		failedIDs := map[string]bool{}
		if errors.As(err, &de) && len(de.Failed) > 0 {
			for _, id := range de.Failed {
				failedIDs[id] = true
			}
		} else {
			de = nil
			for _, a := range batch {
				failedIDs[a.ID] = true
			}
		}
		for _, o := range sent {
			if !failedIDs[o.alert.ID] {
				continue
			}
			msg := err.Error()
			if de != nil && de.Reasons[o.alert.ID] != nil {
				msg = s.Name() + ": " + de.Reasons[o.alert.ID].Error()
			}
			o.failed = append(o.failed, Failure{Sink: ids[i], Error: msg})
		}
	}
	for _, o := range outs {
		if err := st.SetDelivery(context.WithoutCancel(ctx), o.alert.ID, o.failed); err != nil {
			return res, fmt.Errorf("record delivery of alert %s: %w", o.alert.ID, err)
		}
	}
	res.DeliveryErr = errors.Join(errs...)
	return res, nil
}

// DeliveryError says which alerts a sink could not deliver.
type DeliveryError struct {
	// Sink is the sink's Name.
	Sink string
	// Failed lists the IDs of the alerts not delivered.
	Failed []string
	// Err is the last failure.
	Err error
	// Reasons holds each failed alert's own error, by alert ID.
	Reasons map[string]error
	// Attempts is the number of tries of the last failed alert.
	Attempts int
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("%s: %d alert(s) not delivered after %d attempt(s): %v", e.Sink, len(e.Failed), e.Attempts, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
