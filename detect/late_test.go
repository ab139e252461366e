package detect

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/enrich/netclass"
)

// TestLateRecordsAndDedupe runs detect over a store three times: the first
// run sees a scan below the threshold; late records of the same window are
// ingested; the second run raises the alert once with the late records
// counted; a third run raises nothing new. A window that is not complete
// yet (within the rule's lateness of the watermark) is left pending.
func TestLateRecordsAndDedupe(t *testing.T) {
	ctx := context.Background()
	st := memStore(t)
	en := &enrich.Enricher{Class: netclass.New(netclass.Config{})}
	rule := shippedRules(t)["portscan-vertical"]
	base := DefaultTestStart.Unix()
	line := func(ts int64, src string, port int) string {
		return fmt.Sprintf("2 123456789012 eni-0a %s 10.0.1.5 40000 %d 6 1 44 %d %d REJECT OK\n", src, port, ts, ts+1)
	}
	// 20 probes at 00:00-00:05, and traffic up to 00:30 that moves the
	// watermark past the window and its lateness.
	var first bytes.Buffer
	for i := 0; i < 20; i++ {
		first.WriteString(line(base+int64(i*10), "45.33.10.7", 1000+i))
	}
	first.WriteString(line(base+1800, "45.33.10.99", 80))
	appendLog(t, st, "first.log", first.Bytes(), en)

	run := func() (*Report, []alert.Alert) {
		t.Helper()
		rep, err := Evaluate(ctx, st, []*Rule{rule}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := alert.Dispatch(ctx, st, rep.Alerts, func(*alert.Alert) time.Duration { return rule.Suppress }, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rep, res.New
	}
	if _, got := run(); len(got) != 0 {
		t.Fatalf("first run: %d alerts, want none", len(got))
	}
	// Late records for the 00:00 window arrive in a later file.
	var late bytes.Buffer
	for i := 20; i < 30; i++ {
		late.WriteString(line(base+int64(i*10), "45.33.10.7", 1000+i))
	}
	appendLog(t, st, "late.log", late.Bytes(), en)
	_, got := run()
	if len(got) != 1 {
		t.Fatalf("second run: %d alerts, want 1", len(got))
	}
	a := got[0]
	type summary struct {
		Key          string
		Value, Flows int64
		Window       time.Time
	}
	if d := cmp.Diff(summary{"srcaddr=45.33.10.7 dstaddr=10.0.1.5", 30, 30, DefaultTestStart},
		summary{a.Key.String(), a.Value, a.Flows, a.WindowStart}); d != "" {
		t.Errorf("alert (-want +got):\n%s", d)
	}
	if len(a.Samples) != rule.Samples {
		t.Errorf("%d samples, want %d", len(a.Samples), rule.Samples)
	}
	for i, s := range a.Samples {
		src, _ := s.Get("srcaddr")
		port, _ := s.Get("dstport")
		if src != "45.33.10.7" || port != int64(1000+i) {
			t.Errorf("sample %d: %v, want the scan's probe %d in time order", i, s, i)
		}
	}
	if _, got := run(); len(got) != 0 {
		t.Errorf("third run: %d new alerts, want none (dedupe)", len(got))
	}
	stored, err := st.ListAlerts(ctx, alert.Query{Rule: rule.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].ID != a.ID || stored[0].Value != 30 {
		t.Errorf("stored alerts %+v, want the one alert", stored)
	}

	// A scan in the newest window waits for the lateness to pass.
	var head bytes.Buffer
	for i := 0; i < 30; i++ {
		head.WriteString(line(base+1810+int64(i), "45.33.10.8", 2000+i))
	}
	appendLog(t, st, "head.log", head.Bytes(), en)
	rep, got := run()
	if len(got) != 0 || !rep.Rules[0].Pending {
		t.Errorf("scan in the open window: %d alerts, pending %v; want none, pending", len(got), rep.Rules[0].Pending)
	}
	rep, err = Evaluate(ctx, st, []*Rule{rule}, Options{Final: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Alerts) != 2 {
		t.Errorf("final evaluation: %d candidate alerts, want 2 (the stored one and the open window's)", len(rep.Alerts))
	}
}
