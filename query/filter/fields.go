package filter

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/flowlens/flowlens/schema"
)

// Type is the value type of a filter field. It decides which literals a
// comparison accepts and how the comparison is written in SQL.
type Type uint8

// Field value types.
const (
	// TypeString is text, compared byte-wise.
	TypeString Type = iota
	// TypeInt32 is a 32-bit integer; literals out of its range are errors.
	TypeInt32
	// TypeInt64 is a 64-bit integer.
	TypeInt64
	// TypeIP is an address, stored as text plus a 16-byte key column.
	TypeIP
	// TypeTime is epoch seconds; literals may also be RFC 3339 times or
	// dates.
	TypeTime
	// TypeBool is a boolean (enrichment columns such as src.internal).
	TypeBool
)

// isInt reports whether values of t are integers (times included).
func (t Type) isInt() bool { return t == TypeInt32 || t == TypeInt64 || t == TypeTime }

// String names the type as error messages do ("integer", "address").
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt32, TypeInt64:
		return "integer"
	case TypeIP:
		return "address"
	case TypeTime:
		return "time"
	case TypeBool:
		return "boolean"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Field is a name the filter language accepts on the left of a comparison.
type Field struct {
	// Name is the canonical name, used when an expression is printed and
	// in error messages (the catalog token for catalog fields, e.g.
	// "log-status"; "src.internal" for an enrichment column).
	Name string
	// Column is the SQL column holding the values. For TypeIP the store
	// also has Column+"_bin" with the 16-byte key of each address.
	Column string
	// Type is the value type.
	Type Type
	// ID is the catalog or derived field ID, or -1 for a column that is
	// not a schema field. Only schema fields have values in a
	// flowlog.Batch (derived ones once enrichment filled them); Eval treats
	// every other field as NULL.
	ID int
	// Enum lists the usual values of a string field. A literal equal to
	// one of them ignoring case is replaced by it (`action = reject`
	// compares with "REJECT"); other literals are kept as typed.
	Enum []string
	// Names maps lower-case names to values of an integer field
	// (protocol: "tcp" -> 6), accepted wherever a number is.
	Names map[string]int64
}

// word is a bare word that stands for a whole comparison (`tcp` means
// protocol = 6).
type word struct {
	field *Field
	value string
}

// Fields resolves the names a filter may use: catalog fields by token or
// column name, extra columns registered by the caller, shorthands that stand
// for one field (src) or either of a pair (addr), and bare words that stand
// for a comparison (tcp, reject). Names are case-insensitive.
//
// A Fields is built once and then only read: it is safe for concurrent use
// by Compile once construction (NewFields, Add, Alias, AddWord) is done.
type Fields struct {
	byName  map[string]*Field
	loose   map[string]*Field // names without '-', '_' and '.'
	aliases map[string][]*Field
	words   map[string]word
	// names lists every accepted name, for suggestions.
	names []string
}

// protocolNames are the protocol names accepted as values of protocol.
var protocolNames = map[string]int64{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
	"icmpv6": 58, "ipv6-icmp": 58, "sctp": 132,
}

// enums lists the documented values of catalog string fields.
var enums = map[int][]string{
	schema.FAction:    {"ACCEPT", "REJECT"},
	schema.FLogStatus: {"OK", "NODATA", "SKIPDATA"},
	schema.FFlowDir:   {"ingress", "egress"},
	schema.FType:      {"IPv4", "IPv6", "EFA"},
	// The inventory's entity types (inventory.EntityType).
	schema.FSrcEntityType: entityTypes,
	schema.FDstEntityType: entityTypes,
}

var entityTypes = []string{
	"ec2", "nat_gateway", "alb", "nlb", "elb", "gwlb", "gwlb_endpoint", "rds", "lambda",
	"vpc_endpoint", "ecs_task", "tgw_attachment", "efs", "eks", "elasticache", "redshift",
	"api_gateway", "global_accelerator", "directory_service", "eni",
}

// NewFields returns the catalog fields, the standard shorthands and bare
// words, and the given extra columns (which must not reuse a name).
//
// Shorthands: src, dst (srcaddr, dstaddr), sport, dport (srcport, dstport),
// proto (protocol), and the pairs addr (srcaddr or dstaddr) and port
// (srcport or dstport). Bare words: tcp, udp, icmp, icmpv6 (protocol),
// accept, reject (action), nodata, skipdata (log-status), ingress, egress
// (flow-direction).
func NewFields(extra ...Field) (*Fields, error) {
	fs := &Fields{
		byName:  make(map[string]*Field),
		loose:   make(map[string]*Field),
		aliases: make(map[string][]*Field),
		words:   make(map[string]word),
	}
	all := append(append([]schema.Field(nil), schema.Fields...), schema.Derived...)
	for _, cf := range all {
		f := &Field{Name: cf.Token, Column: cf.Column, ID: cf.ID, Enum: enums[cf.ID]}
		switch cf.Type {
		case schema.Bool:
			f.Type = TypeBool
		case schema.String:
			f.Type = TypeString
		case schema.Int32:
			f.Type = TypeInt32
		case schema.Int64:
			f.Type = TypeInt64
		case schema.IP:
			f.Type = TypeIP
		case schema.Time:
			f.Type = TypeTime
		}
		if cf.ID == schema.FProtocol {
			f.Names = protocolNames
		}
		if err := fs.Add(*f); err != nil {
			return nil, err
		}
	}
	for _, a := range []struct{ name, a, b string }{
		{"src", "srcaddr", ""}, {"dst", "dstaddr", ""},
		{"sport", "srcport", ""}, {"dport", "dstport", ""},
		{"proto", "protocol", ""},
		{"addr", "srcaddr", "dstaddr"}, {"port", "srcport", "dstport"},
	} {
		targets := []string{a.a}
		if a.b != "" {
			targets = append(targets, a.b)
		}
		if err := fs.Alias(a.name, targets...); err != nil {
			return nil, err
		}
	}
	for _, w := range []struct{ word, field, value string }{
		{"tcp", "protocol", "6"}, {"udp", "protocol", "17"},
		{"icmp", "protocol", "1"}, {"icmpv6", "protocol", "58"},
		{"accept", "action", "ACCEPT"}, {"reject", "action", "REJECT"},
		{"nodata", "log-status", "NODATA"}, {"skipdata", "log-status", "SKIPDATA"},
		{"ingress", "flow-direction", "ingress"}, {"egress", "flow-direction", "egress"},
	} {
		if err := fs.AddWord(w.word, w.field, w.value); err != nil {
			return nil, err
		}
	}
	for _, f := range extra {
		if err := fs.Add(f); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

var (
	catalogOnce sync.Once
	catalog     *Fields
)

// Catalog returns the shared Fields of NewFields() with no extra columns.
func Catalog() *Fields {
	catalogOnce.Do(func() {
		fs, err := NewFields()
		if err != nil {
			panic("filter: building the catalog fields: " + err.Error())
		}
		catalog = fs
	})
	return catalog
}

// looseKey drops separators so that dst-port, dst_port and dstport meet.
func looseKey(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' {
			return -1
		}
		return r
	}, strings.ToLower(name))
}

// Add registers a field under its Name and its Column. A field that is not
// in the catalog must have ID -1.
func (fs *Fields) Add(f Field) error {
	if f.Name == "" || f.Column == "" {
		return fmt.Errorf("filter: field %q: name and column are required", f.Name)
	}
	if f.ID < -1 || f.ID >= schema.NumColumns {
		return fmt.Errorf("filter: field %q: ID %d is not a field ID or -1", f.Name, f.ID)
	}
	keys := []string{strings.ToLower(f.Name)}
	if c := strings.ToLower(f.Column); c != keys[0] {
		keys = append(keys, c)
	}
	for _, k := range keys {
		if fs.taken(k) || isKeyword(k) {
			return fmt.Errorf("filter: field %q: name %q is already in use", f.Name, k)
		}
	}
	p := &f
	for _, k := range keys {
		fs.byName[k] = p
		fs.names = append(fs.names, k)
		lk := looseKey(k)
		if other, ok := fs.loose[lk]; ok && other != p {
			fs.loose[lk] = nil // ambiguous: the exact spelling is required
			continue
		}
		fs.loose[lk] = p
	}
	return nil
}

// Alias registers a shorthand: with one target it is another name for that
// field; with two it means "either of them", so `name = v` matches a row
// where either field equals v, and the negations (`!=`, `not in`) match
// where neither does.
func (fs *Fields) Alias(name string, targets ...string) error {
	if len(targets) != 1 && len(targets) != 2 {
		return fmt.Errorf("filter: alias %q: one or two target fields are needed", name)
	}
	k := strings.ToLower(name)
	if fs.taken(k) {
		return fmt.Errorf("filter: alias %q: name is already in use", name)
	}
	var tf []*Field
	for _, t := range targets {
		f, ok := fs.byName[strings.ToLower(t)]
		if !ok {
			return fmt.Errorf("filter: alias %q: unknown field %q", name, t)
		}
		tf = append(tf, f)
	}
	if len(tf) == 2 && tf[0].Type != tf[1].Type {
		return fmt.Errorf("filter: alias %q: fields %s and %s have different types", name, tf[0].Name, tf[1].Name)
	}
	fs.aliases[k] = tf
	fs.names = append(fs.names, k)
	return nil
}

// AddWord registers a bare word that means `field = value` (value is
// written as in a filter).
func (fs *Fields) AddWord(w, field, value string) error {
	k := strings.ToLower(w)
	if fs.taken(k) || isKeyword(k) {
		return fmt.Errorf("filter: word %q: name is already in use", w)
	}
	f, ok := fs.byName[strings.ToLower(field)]
	if !ok {
		return fmt.Errorf("filter: word %q: unknown field %q", w, field)
	}
	fs.words[k] = word{field: f, value: value}
	fs.names = append(fs.names, k)
	return nil
}

func (fs *Fields) taken(k string) bool {
	_, a := fs.byName[k]
	_, b := fs.aliases[k]
	_, c := fs.words[k]
	return a || b || c
}

// Lookup finds a field by name or column (case-insensitive; '-', '_' and
// '.' are interchangeable when that is unambiguous). Shorthands for one
// field resolve to it; pairs and bare words do not resolve here.
func (fs *Fields) Lookup(name string) (*Field, bool) {
	fields, ok := fs.resolve(name)
	if !ok || len(fields) != 1 {
		return nil, false
	}
	return fields[0], true
}

// resolve finds the field(s) a name on the left of a comparison means.
func (fs *Fields) resolve(name string) ([]*Field, bool) {
	k := strings.ToLower(name)
	if f, ok := fs.byName[k]; ok {
		return []*Field{f}, true
	}
	if a, ok := fs.aliases[k]; ok {
		return a, true
	}
	if f := fs.loose[looseKey(k)]; f != nil {
		return []*Field{f}, true
	}
	return nil, false
}

// Names lists every name a filter may use on the left of a comparison or
// as a bare word, sorted.
func (fs *Fields) Names() []string {
	out := append([]string(nil), fs.names...)
	sort.Strings(out)
	return out
}

// suggest returns the known name closest to name, or "" when none is close.
func (fs *Fields) suggest(name string) string {
	name = strings.ToLower(name)
	best, bestD := "", -1
	for _, n := range fs.names {
		d := editDistance(name, n)
		if bestD < 0 || d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	limit := max(2, len([]rune(name))/3)
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
