// Package alert holds what a detection produces and where it goes: the
// Alert (rule, severity, key, measured value against the threshold, window,
// first/last seen, sample flows and a follow-up command), the Store that
// keeps alerts with dedupe (the same rule and key within the suppression
// period fires once), and the sinks that deliver them: stdout (table or
// JSON through the output package), an NDJSON file, a generic JSON webhook
// and a Slack incoming webhook.
//
// Delivery order is store first, then sinks (Dispatch): a sink that fails
// never loses an alert, which stays in the store with the sinks that
// failed it and their errors, and is sent again to those sinks only.
package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Severity levels, lowest first.
const (
	SeverityInfo     = "info"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Severities lists the severity levels, lowest first.
func Severities() []string {
	return []string{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

// SeverityRank orders severities (info 0 ... critical 4); unknown ones are -1.
func SeverityRank(s string) int {
	for i, v := range Severities() {
		if v == s {
			return i
		}
	}
	return -1
}

// Pair is one named value: a grouping key field, or a column of a sample
// flow. Value is nil (NULL), a string, an int64, a float64 or a bool.
type Pair struct {
	Name  string
	Value any
}

// Pairs is an ordered list of named values. It marshals to a JSON object
// whose keys keep their order, and reads back from one.
type Pairs []Pair

// Get returns the value named name and whether it is there.
func (p Pairs) Get(name string) (any, bool) {
	for _, kv := range p {
		if kv.Name == name {
			return kv.Value, true
		}
	}
	return nil, false
}

// String renders the pairs as name=value separated by spaces (NULL as -).
func (p Pairs) String() string {
	var sb strings.Builder
	for i, kv := range p {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(kv.Name)
		sb.WriteByte('=')
		sb.WriteString(ValueString(kv.Value))
	}
	return sb.String()
}

// ValueString renders one value as text ("-" for NULL).
func ValueString(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// MarshalJSON writes the pairs as an object, in order.
func (p Pairs) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, kv := range p {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(kv.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("alert: value of %s: %w", kv.Name, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads an object, keeping the order of its keys. Numbers
// without a fraction become int64, others float64.
func (p *Pairs) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*p = nil
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("alert: pairs: want a JSON object")
	}
	out := Pairs{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := kt.(string)
		var raw any
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if n, ok := raw.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				raw = i
			} else if f, err := n.Float64(); err == nil {
				raw = f
			}
		}
		out = append(out, Pair{Name: name, Value: raw})
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*p = out
	return nil
}

// Alert is one firing of a detection rule for one key and window.
type Alert struct {
	// ID identifies the firing: a hash of rule, key and window start, so
	// receivers can drop a redelivered alert.
	ID string `json:"id"`
	// Rule is the rule's id; Title, Severity, Description and MITRE come
	// from the rule.
	Rule        string `json:"rule"`
	Title       string `json:"title"`
	Severity    string `json:"severity"`
	Description string `json:"description,omitempty"`
	MITRE       string `json:"mitre,omitempty"`
	// Key holds the values of the rule's grouping fields.
	Key Pairs `json:"key"`
	// Measure names what was measured ("count_distinct dstport").
	Measure string `json:"measure"`
	// Value is the measure over the window; Threshold what it had to reach.
	Value     int64 `json:"value"`
	Threshold int64 `json:"threshold"`
	// Baseline is the key's average over the previous windows (baseline
	// rules only).
	Baseline *float64 `json:"baseline,omitempty"`
	// WindowStart and WindowEnd bound the window (end exclusive).
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// FirstSeen and LastSeen are the earliest start and latest end of the
	// matching flows in the window; Flows counts them.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Flows     int64     `json:"flows"`
	// Samples are a few of the matching flows, in time order.
	Samples []Pairs `json:"samples,omitempty"`
	// FollowUp is a flowlens command that shows the flows behind the alert.
	FollowUp string `json:"follow_up"`
	// FiredAt is when the alert was first stored.
	FiredAt time.Time `json:"fired_at"`
}

// DedupeKey is the rule and key as one string: alerts with equal dedupe
// keys are the same condition.
func (a *Alert) DedupeKey() string { return a.Rule + "|" + a.Key.String() }

// SetID computes ID from the rule, key and window start.
func (a *Alert) SetID() {
	h := sha256.Sum256([]byte(a.DedupeKey() + "|" + strconv.FormatInt(a.WindowStart.Unix(), 10)))
	a.ID = hex.EncodeToString(h[:8])
}

// Summary is a one-line description: severity, title and key.
func (a *Alert) Summary() string {
	return fmt.Sprintf("[%s] %s: %s (%s %d >= %d)", strings.ToUpper(a.Severity), a.Title, a.Key, a.Measure, a.Value, a.Threshold)
}

// Query selects stored alerts.
type Query struct {
	// Rule keeps only the alerts of this rule ("" for all).
	Rule string
	// Undelivered keeps only the alerts that a sink failed to deliver.
	Undelivered bool
}

// Failure is one sink's failure to deliver one alert.
type Failure struct {
	// Sink is the sink's SinkID. It is "" for a failure recorded by an
	// older flowlens, which kept only the error text: the sink is unknown,
	// and the alert is sent again to every sink.
	Sink string `json:"sink"`
	// Error is the sink's error text (sink names and URLs in it are
	// redacted).
	Error string `json:"error"`
}

// Pending is a stored alert that some sinks have not delivered.
type Pending struct {
	Alert Alert
	// Failed lists the sinks that failed to deliver it, one entry each.
	Failed []Failure
}

// Store keeps alerts with dedupe. Implementations must make Save atomic
// with respect to other Saves of the same process.
type Store interface {
	// SaveAlert stores a unless a stored alert has the same rule and key and
	// a window start less than suppress away from a's (or the same window
	// start, whatever suppress is). It reports whether a was stored. a's
	// FiredAt is set when it is.
	SaveAlert(ctx context.Context, a *Alert, suppress time.Duration) (bool, error)
	// ListAlerts returns stored alerts in window-start order.
	ListAlerts(ctx context.Context, q Query) ([]Alert, error)
	// ListPending returns the stored alerts that a sink failed to deliver,
	// with those sinks, in window-start order.
	ListPending(ctx context.Context) ([]Pending, error)
	// SetDelivery records the sinks that have not delivered alert id,
	// replacing what was recorded; none means every sink took it.
	SetDelivery(ctx context.Context, id string, failed []Failure) error
}
