package source_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/internal/peertest"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/local"
)

// The conformance test runs every vector other flow-log parsers ("peers")
// test themselves with, read from ../shared/fixtures/peers beside the
// repository (or $FLOWLENS_PEER_FIXTURES). Those files are not part of the
// repository; their README describes each peer, its formats and where peers
// disagree. Each case goes through source.Run on a local file, as
// `flowlens read` would read it, and every field the peer asserts is compared
// with ours after undoing the peer's presentation (its key names, ints
// written as strings or floats, RFC 3339 times, '-' shown as an absent key).
//
// Every case must match, except the ones named in deliberateDifferences.

// deliberateDifferences lists the peer cases where flowlens parses
// differently on purpose. shows is a piece of text the mismatch report must
// contain, so an entry can only stay while the difference is the one
// described; an entry whose case starts to match fails the test too.
var deliberateDifferences = []struct{ id, shows, reason string }{
	{"graylog/cases.jsonl:1", "version (peer key version): peer 0, we <nil>",
		"FlowLogMessageTest.testFromPartsDoesNotFailWithMissingIntegerFields: Graylog turns '-' in integer fields into 0. " +
			"'-' is AWS's NULL (NODATA/SKIPDATA records, fields a resource cannot fill) and 0 is a real value " +
			"(ICMP ports, tcp-flags), so we keep NULL."},
	{"graylog/cases.jsonl:2", "packets (peer key packets): peer 0, we <nil>",
		"FlowLogMessageTest.testFromPartsDoesNotFailWithMissingLongFields: the same for packets/bytes; counting a " +
			"missing counter as 0 would also hide SKIPDATA gaps in sums."},
	{"panther/cases.jsonl:2", "field count",
		"TestStandardVpcFlowLog: Panther ignores values past the header's fields. A record with more values than its " +
			"format was not written with that format, so every value could be in the wrong column: we reject the line, " +
			"count it and report it (the rest of the file goes on)."},
	{"panther/cases.jsonl:4", "account_id",
		"TestVpcFlowLogNoData: Panther drops account-id `unknown`. It is what AWS wrote and account_id is a string " +
			"column, so we keep the text; a query can filter it."},
	{"otel-collector-contrib/vpc_flow_log_too_few_fields.log", "field count",
		"The newer OTel unmarshaler accepts a line with fewer values than the header and leaves the missing trailing " +
			"fields out. We reject a field-count mismatch (the older OTel test expected that error too, and is run as " +
			"otel-collector-contrib/vpc_flow_log_too_few_fields.log(older), which matches)."},
	{"elastic-integrations/test-ecs-samples.log", "field count", elasticLayouts},
	{"elastic-integrations/test-tcp-flag-sequence.log", "field count", elasticLayouts},
	{"elastic-integrations/test-tgw-samples.log", "field count", elasticLayouts},
	{"elastic-integrations/test-v5-all-fields.log", "field count", elasticLayouts},
	{"elastic-integrations/test-v8-samples.log", "field count", elasticLayouts},
	{"sekoia-intake-formats/accept_ok_v5.json", "field count", elasticLayouts},
	{"sekoia-intake-formats/custom.json", "field count", elasticLayouts},
}

const elasticLayouts = "The peer picks a fixed layout by counting a line's values. We never guess a format from a count " +
	"(29 values fit many custom formats, and a wrong guess puts values in the wrong columns): without a header or " +
	"--format these lines are rejected as field-count mismatches. The same case run with the layout given as the " +
	"format (the case id ending in '--format') matches every asserted field."

// coveredElsewhere names fixture files this test does not read, and why.
var coveredElsewhere = map[string]string{
	"README.md": "the description of the fixtures",
	"flowlogs-reader/flows.parquet": "a Parquet file (pandas-written: string columns, literal \"None\" and \"-\", protocol 8080); " +
		"read and compared by flowlog/awsparquet's TestPeerFlowlogsReaderParquet",
	"flowlogs-reader/flows.parquet-expected.json": "the expectations of flows.parquet, see there",
}

// peerCase is one input with what a peer expects from it.
type peerCase struct {
	id     string
	files  []string        // fixture files the case reads, relative to the fixtures folder
	path   string          // the input file, or
	data   []byte          // inline input, written to a temporary file
	gzip   bool            // compress the input first (as the peer's test does)
	format *flowlog.Format // format for records before any header; nil is v2
	want   []peerRecord    // in input order
	// complete is set when the peer lists every non-NULL field of a record,
	// so a value we have and the peer lacks is a difference too.
	complete bool
}

// peerRecord is what a peer made of one line.
type peerRecord struct {
	rejected bool // the peer could not parse the line
	fields   []fieldWant
	checks   []derivedCheck
}

// fieldWant is one asserted value, normalised to our representation: nil,
// int64, or a string (addresses in canonical form).
type fieldWant struct {
	key, col string // the peer's key and the catalog column it names
	val      any
}

// derivedCheck tests a value the peer computes from the fields (a protocol
// name, a flag list) against our record.
type derivedCheck struct {
	key   string
	check func(rec) string // "" when consistent
}

// rec is one of our records: column -> nil, int64 or string.
type rec map[string]any

type recCollector struct{ rows []rec }

func (c *recCollector) Batch(b *flowlog.Batch) error {
	for i := range b.N {
		r := rec{}
		for _, id := range b.Present.IDs() {
			v := b.Value(id, i)
			if a, ok := v.(netip.Addr); ok {
				v = a.String()
			}
			r[schema.Fields[id].Column] = v
		}
		c.rows = append(c.rows, r)
	}
	return nil
}

// run reads the case's input with source.Run.
func (c *peerCase) run(t *testing.T) ([]rec, *source.Report) {
	t.Helper()
	path := c.path
	if c.data != nil || c.gzip {
		data := c.data
		if data == nil {
			var err error
			if data, err = os.ReadFile(c.path); err != nil {
				t.Fatal(err)
			}
		}
		name := "input.log"
		if c.gzip {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			_, _ = w.Write(data)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data, name = buf.Bytes(), "input.log.gz"
		}
		path = filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, err := local.NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	col := &recCollector{}
	rep, err := source.Run(context.Background(), source.Config{Format: c.format, KeepErrors: 1000}, []source.Input{in}, col)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 {
		t.Fatalf("input failed: %v", rep.Inputs[0].Err)
	}
	return col.rows, rep
}

// compare lists every way our parse differs from the peer's expectations.
func (c *peerCase) compare(got []rec, rep *source.Report) []string {
	var accepted []peerRecord
	rejected := 0
	for _, w := range c.want {
		if w.rejected {
			rejected++
		} else {
			accepted = append(accepted, w)
		}
	}
	var out []string
	if int(rep.Total.Bad) != rejected {
		out = append(out, fmt.Sprintf("we rejected %d lines (%s), the peer %d", rep.Total.Bad, source.ReasonSummary(&rep.Total), rejected))
	}
	if len(got) != len(accepted) {
		return append(out, fmt.Sprintf("we accepted %d records, the peer %d", len(got), len(accepted)))
	}
	for i, w := range accepted {
		g := got[i]
		covered := map[string]bool{}
		for _, f := range w.fields {
			covered[f.col] = true
			if ours := g[f.col]; ours != f.val {
				out = append(out, fmt.Sprintf("record %d: %s (peer key %s): peer %v, we %v", i+1, f.col, f.key, show(f.val), show(ours)))
			}
		}
		for _, d := range w.checks {
			if msg := d.check(g); msg != "" {
				out = append(out, fmt.Sprintf("record %d: %s: %s", i+1, d.key, msg))
			}
		}
		if c.complete && len(w.fields) > 0 {
			cols := make([]string, 0, len(g))
			for col := range g {
				cols = append(cols, col)
			}
			sort.Strings(cols)
			for _, col := range cols {
				if g[col] != nil && !covered[col] {
					out = append(out, fmt.Sprintf("record %d: we have %s=%v, the peer has no value", i+1, col, g[col]))
				}
			}
		}
	}
	return out
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// TestPeerConformance runs every peer case.
func TestPeerConformance(t *testing.T) {
	dir := peertest.Dir(t)
	var cases []*peerCase
	for _, load := range []func(*testing.T, string) []*peerCase{
		loadVRL, loadGraylog, loadPanther, loadFlowlogsReader, loadElasticIntegrations,
		loadBeatsModule, loadBeatsProcessor, loadOTel, loadSekoia, loadGrafana,
	} {
		cases = append(cases, load(t, dir)...)
	}

	differ := map[string]int{}
	for i, d := range deliberateDifferences {
		differ[d.id] = i
	}
	used := map[string]bool{}
	seen := map[string]bool{}
	ok := map[string]bool{}
	matched, deliberate, values := 0, 0, 0
	for _, c := range cases {
		if seen[c.id] {
			t.Fatalf("two cases named %s", c.id)
		}
		seen[c.id] = true
		for _, f := range c.files {
			used[f] = true
		}
		t.Run(c.id, func(t *testing.T) {
			got, rep := c.run(t)
			diffs := c.compare(got, rep)
			report := strings.Join(diffs, "\n")
			if i, ok := differ[c.id]; ok {
				d := deliberateDifferences[i]
				if !strings.Contains(report, d.shows) {
					t.Fatalf("listed as a deliberate difference (%q) but the parse now gives:\n%s", d.shows, report)
				}
				deliberate++
				t.Logf("deliberate difference: %s\n%s", d.reason, report)
				return
			}
			if len(diffs) > 0 {
				t.Fatalf("differs from the peer:\n%s", report)
			}
			matched++
			ok[c.id] = true
			for _, w := range c.want {
				values += len(w.fields) + len(w.checks)
			}
		})
	}
	for _, d := range deliberateDifferences {
		if !seen[d.id] {
			t.Errorf("deliberate difference %s names no case", d.id)
		}
		if d.reason == elasticLayouts && !ok[d.id+"--format"] {
			t.Errorf("%s: the run with the layout as format (%s--format) must exist and match", d.id, d.id)
		}
	}

	// Every fixture file is run here or named in coveredElsewhere.
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if !used[rel] && coveredElsewhere[rel] == "" {
			t.Errorf("fixture %s is not run by any case", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d peer cases: %d match (%d values compared), %d deliberate differences", len(cases), matched, values, deliberate)
}

// --- normalisation -------------------------------------------------------

// norm turns a peer's value for column col into our representation.
func norm(col string, v any) (any, error) {
	f, ok := schema.Lookup(col)
	if !ok {
		return nil, fmt.Errorf("no field %q", col)
	}
	if s, ok := v.(string); ok && s == "-" {
		return nil, nil
	}
	switch v.(type) {
	case nil:
		return nil, nil
	case []any, map[string]any:
		return nil, fmt.Errorf("%s: composite value %v", col, v)
	}
	switch f.Type {
	case schema.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return fmt.Sprint(v), nil
	case schema.IP:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: address %v is not text", col, v)
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", col, err)
		}
		return a.String(), nil
	default:
		if s, ok := v.(string); ok && f.Type == schema.Time {
			if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return tm.Unix(), nil
			}
		}
		return toInt(v)
	}
}

// toInt reads an integer written as a number, a float with no fraction, or
// either as text.
func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int64(x), nil
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return toInt(f)
	}
	return 0, fmt.Errorf("%T %v is not a number", v, v)
}

// flatten turns nested objects into dotted keys.
func flatten(m map[string]any, prefix string, out map[string]any) map[string]any {
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(sub, prefix+k+".", out)
			continue
		}
		out[prefix+k] = v
	}
	return out
}

// mapper turns a peer's record (flattened keys) into expectations.
type mapper struct {
	cols    map[string]string                          // peer key -> column
	prefix  map[string]func(rest string) string        // key prefix -> column of the rest ("" to skip)
	conv    map[string]func(any) any                   // per peer key, before normalisation
	derived map[string]func(want any) func(rec) string // per peer key
	ignore  []string                                   // keys, or prefixes ending in '.'
}

func (m *mapper) record(t *testing.T, where string, flat map[string]any) peerRecord {
	t.Helper()
	var pr peerRecord
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := flat[k]
		if conv := m.conv[k]; conv != nil {
			v = conv(v)
		}
		if d := m.derived[k]; d != nil {
			pr.checks = append(pr.checks, derivedCheck{key: k, check: d(v)})
			continue
		}
		col := m.cols[k]
		if col == "" {
			for p, fn := range m.prefix {
				if rest, ok := strings.CutPrefix(k, p); ok {
					col = fn(rest)
				}
			}
		}
		if col == "" {
			if !m.ignored(k) {
				t.Fatalf("%s: peer key %q is neither mapped nor known to be derived", where, k)
			}
			continue
		}
		nv, err := norm(col, v)
		if err != nil {
			t.Fatalf("%s: key %s: %v", where, k, err)
		}
		pr.fields = append(pr.fields, fieldWant{key: k, col: col, val: nv})
	}
	return pr
}

func (m *mapper) ignored(k string) bool {
	for _, p := range m.ignore {
		if k == p || (strings.HasSuffix(p, ".") && strings.HasPrefix(k, p)) {
			return true
		}
	}
	return false
}

func upper(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToUpper(s)
	}
	return v
}

// identity maps keys that already are AWS column names.
func identity() *mapper {
	cols := map[string]string{}
	for _, f := range schema.Fields {
		cols[f.Column] = f.Column
	}
	return &mapper{cols: cols}
}

var protocolNames = map[int64]string{1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"}

// protocolName checks a protocol name against our protocol number.
func protocolName(want any) func(rec) string {
	return func(r rec) string {
		n, _ := r["protocol"].(int64)
		if got := protocolNames[n]; !strings.EqualFold(got, fmt.Sprint(want)) {
			return fmt.Sprintf("peer %v, our protocol %v is %q", want, r["protocol"], got)
		}
		return ""
	}
}

// tcpFlagNames checks a list of flag names against our tcp_flags bits.
func tcpFlagNames(want any) func(rec) string {
	return func(r rec) string {
		bits, _ := r["tcp_flags"].(int64)
		var got []string
		for i, n := range []string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"} {
			if bits&(1<<i) != 0 {
				got = append(got, n)
			}
		}
		var w []string
		list, _ := want.([]any)
		for _, x := range list {
			w = append(w, fmt.Sprint(x))
		}
		sort.Strings(got)
		sort.Strings(w)
		if strings.Join(got, ",") != strings.Join(w, ",") {
			return fmt.Sprintf("peer %v, our tcp_flags %d is %v", w, bits, got)
		}
		return ""
	}
}

// ipFamily checks "ipv4"/"ipv6" against the family of our srcaddr (or
// dstaddr when srcaddr is NULL).
func ipFamily(want any) func(rec) string {
	return func(r rec) string {
		s, _ := r["srcaddr"].(string)
		if s == "" {
			s, _ = r["dstaddr"].(string)
		}
		got := "ipv4"
		if strings.Contains(s, ":") {
			got = "ipv6"
		}
		if !strings.EqualFold(got, fmt.Sprint(want)) {
			return fmt.Sprintf("peer %v, our address %q is %s", want, s, got)
		}
		return ""
	}
}

// ecsMapper maps the Elastic Common Schema documents of Elastic's ingest
// pipeline, the Beats processor and module, and (with extras) Sekoia.
func ecsMapper() *mapper {
	vpcflow := func(rest string) string {
		switch rest {
		case "tcp_flags_array", "sublocation":
			return ""
		case "pkt_src_service":
			return "pkt_src_aws_service"
		case "pkt_dst_service":
			return "pkt_dst_aws_service"
		}
		return rest
	}
	return &mapper{
		cols: map[string]string{
			"cloud.account.id": "account_id", "cloud.availability_zone": "az_id", "cloud.region": "region",
			"cloud.instance.id": "instance_id",
			"source.ip":         "srcaddr", "source.address": "srcaddr", "destination.ip": "dstaddr", "destination.address": "dstaddr",
			"source.port": "srcport", "destination.port": "dstport", "network.iana_number": "protocol",
			"network.bytes": "bytes", "network.packets": "packets", "source.bytes": "bytes", "source.packets": "packets",
			"event.start": "start", "event.end": "end", "event.action": "action", "event.reason": "reject_reason",
			"network.direction":       "flow_direction",
			"orchestrator.cluster.id": "ecs_cluster_arn", "orchestrator.cluster.name": "ecs_cluster_name",
			"orchestrator.resource.id": "ecs_container_instance_id", "orchestrator.resource.name": "ecs_container_instance_arn",
			"service.name": "ecs_service_name", "container.id": "ecs_container_id",
		},
		prefix: map[string]func(string) string{"aws.vpcflow.": vpcflow},
		conv:   map[string]func(any) any{"event.action": upper},
		derived: map[string]func(any) func(rec) string{
			"network.transport": protocolName, "aws.vpcflow.tcp_flags_array": tcpFlagNames, "network.type": ipFamily,
		},
		ignore: []string{"@timestamp", "message", "event.original", "event.kind", "event.category", "event.type",
			"event.dataset", "event.module", "event.ingested", "event.outcome", "ecs.version", "tags", "related.ip",
			"network.community_id", "cloud.provider", "fileset.name", "input.type", "log.offset", "service.type",
			"orchestrator.type", "orchestrator.resource.type", "source.geo.", "destination.geo.", "source.as.", "destination.as."},
	}
}

// ecsRecord maps one ECS document; a document without a parsed field is
// the peer's "could not parse" event.
func ecsRecord(t *testing.T, m *mapper, where string, doc map[string]any) peerRecord {
	t.Helper()
	pr := m.record(t, where, flatten(doc, "", nil))
	if len(pr.fields) == 0 {
		pr.rejected = true
	}
	return pr
}

// --- helpers for loaders -------------------------------------------------

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// jsonlCase is one line of a peer's cases.jsonl.
type jsonlCase struct {
	Format   *string        `json:"format"`
	Input    string         `json:"input"`
	Expected map[string]any `json:"expected"`
	Error    bool           `json:"error"`
	Test     string         `json:"test"`
	Note     string         `json:"note"`
}

func readJSONL(t *testing.T, path string) []jsonlCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []jsonlCase
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var c jsonlCase
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		out = append(out, c)
	}
	return out
}

func mustFormat(t *testing.T, s string) *flowlog.Format {
	t.Helper()
	f, err := flowlog.ParseFormat(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// jsonlCases turns a cases.jsonl into cases. header says the peer's format
// is an S3 file's header line (fed to the parser before the input) rather
// than a format string.
func jsonlCases(t *testing.T, dir, rel string, header bool, m *mapper, complete func(jsonlCase) bool) []*peerCase {
	t.Helper()
	var out []*peerCase
	for i, jc := range readJSONL(t, filepath.Join(dir, rel)) {
		c := &peerCase{id: fmt.Sprintf("%s:%d", rel, i+1), files: []string{rel}, data: []byte(jc.Input + "\n"), complete: complete(jc)}
		if jc.Format != nil {
			if header {
				c.data = []byte(*jc.Format + "\n" + jc.Input + "\n")
			} else {
				c.format = mustFormat(t, *jc.Format)
			}
		}
		switch {
		case jc.Error:
			c.want = []peerRecord{{rejected: true}}
		case header && jc.Format != nil && jc.Input == *jc.Format:
			// The input is a header line: no record, no error.
		case jc.Expected == nil:
			c.want = []peerRecord{{}} // parsed; nothing asserted about the content
		default:
			c.want = []peerRecord{m.record(t, c.id, jc.Expected)}
		}
		out = append(out, c)
	}
	return out
}

func always(jsonlCase) bool { return true }
func never(jsonlCase) bool  { return false }

// --- peers ---------------------------------------------------------------

// loadVRL: Vector's parse_aws_vpc_flow_log. Nulls are kept as keys, so the
// expectations are complete.
func loadVRL(t *testing.T, dir string) []*peerCase {
	return jsonlCases(t, dir, "vrl/cases.jsonl", false, identity(), always)
}

// loadGraylog: partial expectations with Graylog's own names for some
// fields and values derived from them.
func loadGraylog(t *testing.T, dir string) []*peerCase {
	m := identity()
	for k, v := range map[string]string{"src_addr": "srcaddr", "dst_addr": "dstaddr", "src_port": "srcport", "dst_port": "dstport", "protocol_number": "protocol"} {
		m.cols[k] = v
	}
	delete(m.cols, "protocol") // Graylog's "protocol" is the number in one test, the name in another
	m.derived = map[string]func(any) func(rec) string{
		"protocol": func(want any) func(rec) string {
			if _, ok := want.(string); ok {
				return protocolName(want)
			}
			return func(r rec) string {
				if w, err := toInt(want); err != nil || r["protocol"] != w {
					return fmt.Sprintf("peer %v, we %v", want, show(r["protocol"]))
				}
				return ""
			}
		},
		"capture_window_duration_seconds": func(want any) func(rec) string {
			return func(r rec) string {
				s, _ := r["start"].(int64)
				e, _ := r["end"].(int64)
				if w, err := toInt(want); err != nil || w != e-s {
					return fmt.Sprintf("peer %v, our end-start %d", want, e-s)
				}
				return ""
			}
		},
		"message": func(want any) func(rec) string {
			return func(r rec) string {
				proto, _ := r["protocol"].(int64)
				got := fmt.Sprintf("%v %v %s %v:%v -> %v:%v", r["interface_id"], r["action"], strings.ToUpper(protocolNames[proto]),
					r["srcaddr"], r["srcport"], r["dstaddr"], r["dstport"])
				if got != want {
					return fmt.Sprintf("peer %q, ours %q", want, got)
				}
				return ""
			}
		},
	}
	return jsonlCases(t, dir, "graylog/cases.jsonl", false, m, never)
}

// loadPanther: formats are S3 header lines; '-' fields are left out, the
// rest is complete.
func loadPanther(t *testing.T, dir string) []*peerCase {
	return jsonlCases(t, dir, "panther/cases.jsonl", true, identity(), always)
}

// loadFlowlogsReader: the transcribed cases (S3 formats are header lines)
// and the test files written out, whose lines are looked up in the cases.
func loadFlowlogsReader(t *testing.T, dir string) []*peerCase {
	partial := func(jc jsonlCase) bool { return !strings.Contains(jc.Note, "partial") }
	out := jsonlCases(t, dir, "flowlogs-reader/cases.jsonl", true, identity(), partial)
	byLine := map[string]*peerCase{}
	for i, jc := range readJSONL(t, filepath.Join(dir, "flowlogs-reader/cases.jsonl")) {
		key := jc.Input
		if jc.Format != nil {
			key = *jc.Format + "\n" + key
		}
		byLine[key] = out[i]
	}
	files, _ := filepath.Glob(filepath.Join(dir, "flowlogs-reader", "*.log"))
	for _, path := range files {
		rel := "flowlogs-reader/" + filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c := &peerCase{id: rel, files: []string{rel}, path: path, complete: true}
		header := ""
		for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if i == 0 {
				if _, ok := flowlog.ParseHeader([]byte(line)); ok {
					header = line + "\n"
					continue
				}
			}
			jc := byLine[header+line]
			if jc == nil {
				t.Fatalf("%s: line %q has no transcribed expectation", rel, line)
			}
			c.want = append(c.want, jc.want...)
			c.complete = c.complete && jc.complete
		}
		out = append(out, c)
	}
	return out
}

// Layouts Elastic's pipeline (and Sekoia) choose by token count.
var (
	layout21 = "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport " +
		"pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"
	layout29 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status " +
		"vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id " +
		"pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
	layout39 = layout29 + " ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id " +
		"ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id"
	layout40 = layout39 + " reject-reason"
)

// loadElasticIntegrations: the ingest pipeline's test logs. Files in a
// layout other than v2 run twice: as is (deliberate difference: we do not
// guess) and with the layout as the format (must match).
func loadElasticIntegrations(t *testing.T, dir string) []*peerCase {
	layouts := map[string]string{
		"test-ecs-samples.log": layout39, "test-tcp-flag-sequence.log": layout21, "test-tgw-samples.log": flowlog.TGW.Header(),
		"test-v5-all-fields.log": layout29, "test-v8-samples.log": layout40,
	}
	m := ecsMapper()
	var out []*peerCase
	for _, rel := range []string{
		"test-ecs-samples.log", "test-extra-samples.log", "test-tcp-flag-sequence.log", "test-tgw-samples.log",
		"test-v5-all-fields.log", "test-v8-samples.log", "test-with-message-field.log", "older-with-header-lines/test-tcp-flag-sequence.log",
	} {
		id := "elastic-integrations/" + rel
		var exp struct {
			Expected []map[string]any `json:"expected"`
		}
		readJSON(t, filepath.Join(dir, id+"-expected.json"), &exp)
		var want []peerRecord
		for i, doc := range exp.Expected {
			want = append(want, ecsRecord(t, m, fmt.Sprintf("%s event %d", id, i+1), doc))
		}
		c := &peerCase{id: id, files: []string{id, id + "-expected.json"}, path: filepath.Join(dir, id), want: want}
		out = append(out, c)
		if l, ok := layouts[rel]; ok {
			cf := *c
			cf.id, cf.format = id+"--format", mustFormat(t, l)
			out = append(out, &cf)
		}
	}
	return out
}

// loadBeatsModule: Filebeat's module tests (flattened ECS keys).
func loadBeatsModule(t *testing.T, dir string) []*peerCase {
	files, _ := filepath.Glob(filepath.Join(dir, "elastic-beats", "module-test", "*.log"))
	m := ecsMapper()
	var out []*peerCase
	for _, path := range files {
		id := "elastic-beats/module-test/" + filepath.Base(path)
		var docs []map[string]any
		readJSON(t, path+"-expected.json", &docs)
		var want []peerRecord
		for i, doc := range docs {
			want = append(want, ecsRecord(t, m, fmt.Sprintf("%s event %d", id, i+1), doc))
		}
		out = append(out, &peerCase{id: id, files: []string{id, id + "-expected.json"}, path: path, want: want})
	}
	return out
}

// loadBeatsProcessor: the Beats processor's YAML case list and golden
// outputs; "original" and "ecs_and_original" modes keep every non-'-' field
// under aws.vpcflow, so they are complete.
func loadBeatsProcessor(t *testing.T, dir string) []*peerCase {
	base := "elastic-beats/processor-testdata/"
	raw, err := os.ReadFile(filepath.Join(dir, base+"aws-vpc-flow-logs.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]struct {
		Format string `yaml:"format"`
		Mode   string `yaml:"mode"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(spec))
	for n := range spec {
		names = append(names, n)
	}
	sort.Strings(names)
	m := ecsMapper()
	var out []*peerCase
	for _, name := range names {
		s := spec[name]
		rel := base + name + ".golden.json"
		var docs []map[string]any
		readJSON(t, filepath.Join(dir, rel), &docs)
		var lines []string
		var want []peerRecord
		for i, doc := range docs {
			flat := flatten(doc, "", nil)
			line, _ := flat["message"].(string)
			if line == "" {
				line, _ = flat["event.original"].(string)
			}
			if line == "" {
				t.Fatalf("%s record %d: no input line", rel, i+1)
			}
			lines = append(lines, line)
			want = append(want, ecsRecord(t, m, fmt.Sprintf("%s record %d", rel, i+1), doc))
		}
		out = append(out, &peerCase{
			id: base + name, files: []string{base + "aws-vpc-flow-logs.yml", rel},
			data: []byte(strings.Join(lines, "\n") + "\n"), format: mustFormat(t, s.Format), want: want,
			complete: s.Mode == "original" || s.Mode == "ecs_and_original",
		})
	}
	return out
}

// otelMapper maps OTel log record attributes.
func otelMapper() *mapper {
	tgwSide := func(rest string) string {
		side, what, _ := strings.Cut(rest, ".")
		side = map[string]string{"source": "src", "destination": "dst"}[side]
		what = map[string]string{"vpc.id": "vpc_id", "vpc.subnet.id": "subnet_id", "eni.id": "eni", "az.id": "az_id"}[what]
		if side == "" || what == "" {
			return ""
		}
		return "tgw_" + side + "_" + what
	}
	return &mapper{
		cols: map[string]string{
			"aws.vpc.flow.log.version": "version", "network.interface.name": "interface_id", "aws.eni.id": "interface_id",
			"source.address": "srcaddr", "destination.address": "dstaddr", "source.port": "srcport", "destination.port": "dstport",
			"aws.vpc.flow.packets": "packets", "aws.vpc.flow.bytes": "bytes", "aws.vpc.flow.start": "start",
			"aws.vpc.flow.status": "log_status", "aws.vpc.flow.action": "action", "timeUnixNano": "end",
			"cloud.account.id": "account_id", "cloud.region": "region", "network.io.direction": "flow_direction",
			"network.tcp.flags": "tcp_flags", "network.type": "type",
			"aws.tgw.id": "tgw_id", "aws.tgw.attachment.id": "tgw_attachment_id", "aws.tgw.attachment.pair.id": "tgw_pair_attachment_id",
		},
		prefix: map[string]func(string) string{
			"aws.tgw.source.":      func(r string) string { return tgwSide("source." + r) },
			"aws.tgw.destination.": func(r string) string { return tgwSide("destination." + r) },
			"aws.vpc.flow.packets_lost_": func(r string) string {
				return "packets_lost_" + r
			},
			"aws.ecs.": func(r string) string { return "ecs_" + strings.ReplaceAll(r, ".", "_") },
		},
		conv: map[string]func(any) any{
			"timeUnixNano": func(v any) any {
				n, err := toInt(v)
				if err != nil {
					return v
				}
				return n / 1e9
			},
			"network.io.direction": func(v any) any {
				if d, ok := map[string]string{"receive": "ingress", "transmit": "egress"}[fmt.Sprint(v)]; ok {
					return d
				}
				return v
			},
			"network.type": func(v any) any {
				return strings.NewReplacer("ipv4", "IPv4", "ipv6", "IPv6").Replace(fmt.Sprint(v))
			},
		},
		derived: map[string]func(any) func(rec) string{"network.protocol.name": protocolName},
		ignore:  []string{"cloud.provider", "aws.log.group.names", "aws.log.stream.names"},
	}
}

// otelRecords reads the records of an OTel golden YAML: resource
// attributes apply to each record of the resource.
func otelRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type attr struct {
		Key   string         `yaml:"key"`
		Value map[string]any `yaml:"value"`
	}
	var doc struct {
		ResourceLogs []struct {
			Resource struct {
				Attributes []attr `yaml:"attributes"`
			} `yaml:"resource"`
			ScopeLogs []struct {
				LogRecords []struct {
					Attributes   []attr `yaml:"attributes"`
					TimeUnixNano string `yaml:"timeUnixNano"`
				} `yaml:"logRecords"`
			} `yaml:"scopeLogs"`
		} `yaml:"resourceLogs"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	value := func(a attr) any {
		for _, k := range []string{"stringValue", "intValue", "doubleValue", "boolValue"} {
			if v, ok := a.Value[k]; ok {
				return v
			}
		}
		t.Fatalf("%s: attribute %s has an unexpected value %v", path, a.Key, a.Value)
		return nil
	}
	var out []map[string]any
	for _, rl := range doc.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				r := map[string]any{}
				for _, a := range rl.Resource.Attributes {
					r[a.Key] = value(a)
				}
				for _, a := range lr.Attributes {
					r[a.Key] = value(a)
				}
				if lr.TimeUnixNano != "" {
					r["timeUnixNano"] = lr.TimeUnixNano
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// loadOTel: the awslogs encoding extension's test files. Its .log inputs are
// gzip-compressed by the peer's test before parsing; we do the same.
func loadOTel(t *testing.T, dir string) []*peerCase {
	base := "otel-collector-contrib/"
	// OTel's TGW CloudWatch test configures this 23-field format.
	tgwCW := "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id " +
		"tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id srcaddr dstaddr srcport dstport protocol " +
		"packets bytes start end log-status"
	cases := []struct {
		id, input, expected, format string
		rejected                    bool
	}{
		{id: "valid_vpc_flow_log.log", input: "valid_vpc_flow_log.log", expected: "valid_vpc_flow_log_expected.yaml"},
		{id: "valid_vpc_flow_log.log(single)", input: "valid_vpc_flow_log.log", expected: "valid_vpc_flow_log_single_expected.yaml"},
		{id: "valid_vpc_flow_log.log(iso8601)", input: "valid_vpc_flow_log.log", expected: "valid_vpc_flow_log_expected_iso8601.yaml"},
		{id: "valid_vpc_flow_log_multi.log", input: "valid_vpc_flow_log_multi.log", expected: "valid_vpc_flow_log_expected_multi.yaml"},
		{id: "valid_vpc_flow_log_ecs.log", input: "valid_vpc_flow_log_ecs.log", expected: "valid_vpc_flow_log_ecs_expected.yaml"},
		{id: "valid_tgw_flow_log.log", input: "valid_tgw_flow_log.log", expected: "valid_tgw_flow_log_expected.yaml"},
		{id: "valid_vpc_flow_cw.json", input: "valid_vpc_flow_cw.json", expected: "valid_vpc_flow_cw_expected.yaml"},
		{id: "valid_vpc_flow_cw_custom.json", input: "valid_vpc_flow_cw_custom.json", expected: "valid_vpc_flow_cw_custom_expected.yaml",
			format: "version interface-id srcaddr dstaddr"},
		{id: "valid_tgw_flow_cw.json", input: "valid_tgw_flow_cw.json", expected: "valid_tgw_flow_cw_expected.yaml", format: tgwCW},
		{id: "vpc_flow_log_too_few_fields.log", input: "vpc_flow_log_too_few_fields.log", expected: "vpc_flow_log_too_few_fields_expected.yaml"},
		{id: "vpc_flow_log_too_few_fields.log(older)", input: "vpc_flow_log_too_few_fields.log", rejected: true},
		{id: "vpc_flow_log_too_many_fields.log", input: "vpc_flow_log_too_many_fields.log", rejected: true},
	}
	m := otelMapper()
	var out []*peerCase
	for _, oc := range cases {
		c := &peerCase{id: base + oc.id, files: []string{base + oc.input}, path: filepath.Join(dir, base+oc.input),
			gzip: strings.HasSuffix(oc.input, ".log")}
		if oc.format != "" {
			c.format = mustFormat(t, oc.format)
		}
		if oc.rejected {
			c.want = []peerRecord{{rejected: true}}
		} else {
			c.files = append(c.files, base+oc.expected)
			for i, r := range otelRecords(t, filepath.Join(dir, base+oc.expected)) {
				c.want = append(c.want, m.record(t, fmt.Sprintf("%s record %d", c.id, i+1), r))
			}
		}
		out = append(out, c)
	}
	return out
}

// loadSekoia: each file holds the received message and the ECS-like
// document expected from it; the message is the log line (a text record
// or a JSON-structured one).
func loadSekoia(t *testing.T, dir string) []*peerCase {
	m := ecsMapper()
	for k, v := range map[string]string{
		"observer.ingress.interface.name": "interface_id", "aws.flowlogs.subnet.id": "subnet_id",
		"aws.flowlogs.vpc.id": "vpc_id", "aws.flowlogs.tcp_flags": "tcp_flags",
		"action.name": "action", "action.outcome": "log_status", "event.outcome": "log_status",
	} {
		m.cols[k] = v
	}
	for _, k := range []string{"action.name", "action.outcome", "event.outcome"} {
		m.conv[k] = upper
	}
	m.ignore = append(m.ignore, "action.target", "action.type")
	files, _ := filepath.Glob(filepath.Join(dir, "sekoia-intake-formats", "*.json"))
	var out []*peerCase
	for _, path := range files {
		id := "sekoia-intake-formats/" + filepath.Base(path)
		var tc struct {
			Input struct {
				Message string `json:"message"`
			} `json:"input"`
			Expected map[string]any `json:"expected"`
		}
		readJSON(t, path, &tc)
		c := &peerCase{id: id, files: []string{id}, data: []byte(tc.Input.Message),
			want: []peerRecord{ecsRecord(t, m, id, tc.Expected)}}
		out = append(out, c)
		if len(strings.Fields(tc.Input.Message)) == 29 {
			cf := *c
			cf.id, cf.format = id+"--format", mustFormat(t, layout29)
			out = append(out, &cf)
		}
	}
	return out
}

// loadGrafana: inputs without expectations. Every line must be accepted,
// and each record must hold exactly the values its line spells in the
// header's columns.
func loadGrafana(t *testing.T, dir string) []*peerCase {
	files, _ := filepath.Glob(filepath.Join(dir, "grafana-vpc-flow-logs-analyzer", "*.log"))
	var out []*peerCase
	for _, path := range files {
		id := "grafana-vpc-flow-logs-analyzer/" + filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		hdr, ok := flowlog.ParseHeader([]byte(lines[0]))
		if !ok {
			t.Fatalf("%s: no header line", id)
		}
		c := &peerCase{id: id, files: []string{id}, path: path, complete: true}
		for _, line := range lines[1:] {
			vals := strings.Fields(line)
			var pr peerRecord
			for i, name := range hdr.Names {
				if i >= len(vals) {
					break
				}
				col := schema.Fields[hdr.IDs[i]].Column
				v, err := norm(col, vals[i])
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				pr.fields = append(pr.fields, fieldWant{key: name, col: col, val: v})
			}
			c.want = append(c.want, pr)
		}
		out = append(out, c)
	}
	return out
}
