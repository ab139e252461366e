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

// Result is what Dispatch did.
type Result struct {
	// New are the alerts stored by this call (the ones not suppressed).
	New []Alert
	// Suppressed counts alerts dropped as duplicates of stored ones.
	Suppressed int
	// DeliveryErr joins the errors of the sinks that failed; the alerts
	// are in the store whatever it says.
	DeliveryErr error
}

// Dispatch stores each candidate alert (dedupe against the store with its
// suppression period, given per alert by suppress), then hands the new
// ones, plus any earlier alerts given in redeliver, to every sink, and
// records each alert's delivery outcome in the store. A store error stops
// it; sink errors are collected in Result.DeliveryErr.
func Dispatch(ctx context.Context, st Store, candidates []Alert, suppress func(*Alert) time.Duration, redeliver []Alert, sinks []Sink) (Result, error) {
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
	send := append(append([]Alert(nil), redeliver...), res.New...)
	if len(send) == 0 {
		return res, nil
	}
	var errs []error
	failed := map[string]string{}
	for _, s := range sinks {
		if err := s.Send(ctx, send); err != nil {
			errs = append(errs, err)
			var de *DeliveryError
			if errors.As(err, &de) && len(de.Failed) > 0 {
				for _, id := range de.Failed {
					failed[id] = err.Error()
				}
				continue
			}
			for _, a := range send {
				failed[a.ID] = err.Error()
			}
		}
	}
	for _, a := range send {
		if err := st.SetDelivery(context.WithoutCancel(ctx), a.ID, failed[a.ID]); err != nil {
			return res, fmt.Errorf("record delivery of alert %s: %w", a.ID, err)
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
