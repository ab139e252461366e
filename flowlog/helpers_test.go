package flowlog_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// record is one row of a batch as column name -> value (nil, int64, string
// or netip.Addr); absent columns are NULL.
type record map[string]any

// recordOf reads row i of b.
func recordOf(b *flowlog.Batch, i int) record {
	r := record{}
	for _, id := range b.Present.IDs() {
		r[schema.Fields[id].Column] = b.Value(id, i)
	}
	return r
}

// records reads every row of b.
func records(b *flowlog.Batch) []record {
	if b.N == 0 {
		return nil
	}
	out := make([]record, b.N)
	for i := range b.N {
		out[i] = recordOf(b, i)
	}
	return out
}

// stringIPs renders netip.Addr values as text so records compare with
// cmp.Diff (netip.Addr has unexported fields).
func stringIPs(rs []record) []record {
	if rs == nil {
		return nil
	}
	out := make([]record, len(rs))
	for i, r := range rs {
		o := record{}
		for k, v := range r {
			if a, ok := v.(netip.Addr); ok {
				v = a.String()
			}
			o[k] = v
		}
		out[i] = o
	}
	return out
}

// checkRectangular fails when a present column does not hold exactly b.N
// values, which would misalign rows.
func checkRectangular(t testing.TB, b *flowlog.Batch) {
	t.Helper()
	for _, id := range b.Present.IDs() {
		c := &b.Cols[id]
		n := len(c.Valid)
		switch c.Type {
		case schema.String:
			if len(c.Offs) != b.N+1 || int(c.Offs[b.N]) != len(c.Data) {
				t.Fatalf("column %s: %d offsets, data %d bytes, for %d rows", schema.Fields[id].Token, len(c.Offs), len(c.Data), b.N)
			}
		case schema.IP:
			if len(c.IPs) != b.N {
				t.Fatalf("column %s: %d addresses for %d rows", schema.Fields[id].Token, len(c.IPs), b.N)
			}
		default:
			if len(c.Ints) != b.N {
				t.Fatalf("column %s: %d ints for %d rows", schema.Fields[id].Token, len(c.Ints), b.N)
			}
		}
		if n != b.N {
			t.Fatalf("column %s: %d validity flags for %d rows", schema.Fields[id].Token, n, b.N)
		}
	}
}

// printLine renders row i of b as a text record in format f: values joined
// by single spaces, NULL as '-', integers in decimal, addresses in netip's
// canonical form. Columns the format ignores (unknown names) print as '-'.
func printLine(f *flowlog.Format, b *flowlog.Batch, i int) string {
	parts := make([]string, len(f.IDs))
	for k, id := range f.IDs {
		parts[k] = "-"
		if id < 0 {
			continue
		}
		switch v := b.Value(id, i).(type) {
		case int64:
			parts[k] = strconv.FormatInt(v, 10)
		case string:
			parts[k] = v
		case netip.Addr:
			parts[k] = v.String()
		}
	}
	return strings.Join(parts, " ")
}

// renderRecord writes row i of b as one JSON object with the keys in
// catalog order (easier to read in golden files than sorted keys).
func renderRecord(b *flowlog.Batch, i int) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for k, id := range b.Present.IDs() {
		if k > 0 {
			sb.WriteString(", ")
		}
		key, _ := json.Marshal(schema.Fields[id].Column)
		sb.Write(key)
		sb.WriteString(": ")
		switch v := b.Value(id, i).(type) {
		case nil:
			sb.WriteString("null")
		case int64:
			sb.WriteString(strconv.FormatInt(v, 10))
		case netip.Addr:
			s, _ := json.Marshal(v.String())
			sb.Write(s)
		case string:
			s, _ := json.Marshal(v)
			sb.Write(s)
		default:
			panic(fmt.Sprintf("unexpected value %T", v))
		}
	}
	sb.WriteByte('}')
	return sb.String()
}
