package duckdb

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
)

// TestAlertDelivery checks the delivery column: the failed sinks of each
// alert round-trip, an empty list marks the alert delivered, the error
// text an older flowlens wrote reads back as a failure of an unknown sink,
// and all of it survives reopening the file.
func TestAlertDelivery(t *testing.T) {
	ctx := context.Background()
	st, path := openTemp(t, nil)
	ws := time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC)
	mk := func(src string) alert.Alert {
		a := alert.Alert{Rule: "r", Title: "t", Severity: alert.SeverityLow, Key: alert.Pairs{{Name: "srcaddr", Value: src}},
			Measure: "count", Value: 1, Threshold: 1, WindowStart: ws, WindowEnd: ws.Add(time.Hour)}
		a.SetID()
		if ok, err := st.SaveAlert(ctx, &a, time.Hour); err != nil || !ok {
			t.Fatalf("save %s: %v, stored %v", src, err, ok)
		}
		return a
	}
	a, b, c := mk("192.0.2.1"), mk("192.0.2.2"), mk("192.0.2.3")
	mk("192.0.2.4") // never tried (delivery NULL): not pending
	twoSinks := []alert.Failure{
		{Sink: "webhook https://hooks.example.com/… #0a1b2c3d", Error: "webhook https://hooks.example.com/…: not delivered after 4 attempt(s): HTTP 500"},
		{Sink: "slack https://hooks.slack.com/… #4e5f6a7b", Error: "slack https://hooks.slack.com/…: not delivered after 4 attempt(s): HTTP 404: no_service"},
	}
	if err := st.SetDelivery(ctx, a.ID, twoSinks); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDelivery(ctx, b.ID, twoSinks[:1]); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDelivery(ctx, b.ID, nil); err != nil { // delivered on a later run
		t.Fatal(err)
	}
	const legacy = "webhook https://hooks.example.com/…: 1 alert(s) not delivered after 4 attempt(s): HTTP 500"
	if _, err := st.db.ExecContext(ctx, `UPDATE `+alertsTable+` SET delivery = ? WHERE id = ?`, legacy, c.ID); err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID     string
		Failed []alert.Failure
	}
	want := []row{{a.ID, twoSinks}, {c.ID, []alert.Failure{{Error: legacy}}}}
	check := func(st *Store, when string) {
		ps, err := st.ListPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []row
		for _, p := range ps {
			got = append(got, row{p.Alert.ID, p.Failed})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: pending (-want +got):\n%s", when, diff)
		}
		un, err := st.ListAlerts(ctx, alert.Query{Undelivered: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(un) != 2 {
			t.Errorf("%s: %d undelivered alerts listed, want 2", when, len(un))
		}
	}
	check(st, "open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Path = path
	re, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	check(re, "reopened")
}
