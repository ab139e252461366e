package intel

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
)

// Parse reads an indicator list in format f (FormatAuto detects it) and
// names every indicator's list. Bad lines are counted and described in the
// result; the rest of the list is still read. Parse never fails: a list
// with nothing usable gives a Result with no indicators.
func Parse(data []byte, f Format, list string) *Result {
	if f == FormatAuto {
		f = Detect(data)
	}
	p := &parser{res: &Result{List: list, Format: f}, format: f}
	p.res.Indicators = make([]Indicator, 0, estimateLines(data))
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		p.line(bytes.TrimSuffix(line, []byte{'\r'}))
	}
	return p.res
}

// estimateLines guesses the number of indicators for preallocation.
func estimateLines(data []byte) int {
	n := bytes.Count(data, []byte{'\n'}) + 1
	return min(n, 1<<24)
}

type parser struct {
	res    *Result
	format Format
	n      int // line number

	// CSV state.
	sawData bool // a non-comment line was read (header only on the first)
	ipCol   int
	comCol  int // -1: no comment column

	torNode string // current ExitNode fingerprint

	intern map[string]string
}

func (p *parser) accept(pfx netip.Prefix, comment string) {
	p.res.Accepted++
	p.res.Indicators = append(p.res.Indicators, Indicator{Prefix: pfx, List: p.res.List, Comment: comment})
}

func (p *parser) reject(line []byte, reason string) {
	p.res.Rejected++
	if len(p.res.Errors) < MaxLineErrors {
		if len(line) > 80 {
			line = line[:80]
		}
		p.res.Errors = append(p.res.Errors, LineError{Line: p.n, Reason: reason, Text: string(line)})
	}
}

// str returns b as a string, sharing repeated values (list comments often
// repeat) so that millions of indicators do not hold millions of copies.
func (p *parser) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if p.intern == nil {
		p.intern = make(map[string]string)
	}
	if len(p.intern) < 1<<14 {
		p.intern[s] = s
	}
	return s
}

func (p *parser) line(line []byte) {
	p.n++
	p.res.Lines++
	t := bytes.TrimSpace(line)
	if len(t) == 0 {
		p.res.Ignored++
		return
	}
	switch p.format {
	case FormatCSV:
		p.csvLine(line, t)
	case FormatFeodo:
		p.feodoLine(line, t)
	case FormatSSLBL:
		p.sslblLine(line, t)
	case FormatTor:
		p.torLine(line, t)
	case FormatSpamhaus:
		if t[0] == '{' {
			p.spamhausJSONLine(line, t)
			return
		}
		p.plainLine(line, t)
	default: // plain, FireHOL
		p.plainLine(line, t)
	}
}

// plainLine reads "ADDR [comment]" with '#' or ';' comments.
func (p *parser) plainLine(line, t []byte) {
	data, comment := t, []byte(nil)
	if i := bytes.IndexAny(t, "#;"); i >= 0 {
		data, comment = bytes.TrimSpace(t[:i]), bytes.TrimSpace(t[i+1:])
	}
	if len(data) == 0 {
		p.res.Ignored++
		return
	}
	addr, rest := data, []byte(nil)
	if i := bytes.IndexAny(data, " \t,"); i >= 0 {
		addr, rest = data[:i], bytes.TrimSpace(bytes.TrimLeft(data[i:], " \t,"))
	}
	pfx, reason := parsePrefix(addr)
	if reason != "" {
		p.reject(line, reason)
		return
	}
	switch {
	case len(rest) > 0 && len(comment) > 0:
		p.accept(pfx, string(rest)+" "+string(comment))
	case len(rest) > 0:
		p.accept(pfx, p.str(rest))
	default:
		p.accept(pfx, p.str(comment))
	}
}

// csvHeaderIP and csvHeaderComment are the column names recognised in a
// CSV header, in order of preference.
var (
	csvHeaderIP      = []string{"ip", "ip_address", "ipaddress", "ipaddr", "address", "addr", "ioc", "indicator", "value", "cidr", "network", "dst_ip", "dstip", "src_ip", "srcip", "host"}
	csvHeaderComment = []string{"comment", "comments", "description", "desc", "note", "notes", "reason", "threat", "malware", "tags", "tag", "context", "type"}
)

func (p *parser) csvLine(line, t []byte) {
	if t[0] == '#' {
		p.res.Ignored++
		return
	}
	fields, ok := splitCSV(t, nil)
	if !ok {
		p.reject(line, "unterminated quote")
		return
	}
	if !p.sawData {
		p.sawData = true
		p.ipCol, p.comCol = 0, 1
		if _, reason := parsePrefix(bytes.TrimSpace(fields[0])); reason != "" && looksLikeHeader(fields) {
			p.ipCol, p.comCol = headerColumns(fields)
			p.res.Ignored++
			return
		}
	}
	if p.ipCol >= len(fields) {
		p.reject(line, "no address column")
		return
	}
	pfx, reason := parsePrefix(bytes.TrimSpace(fields[p.ipCol]))
	if reason != "" {
		p.reject(line, reason)
		return
	}
	var comment string
	if p.comCol >= 0 && p.comCol < len(fields) {
		comment = p.str(bytes.TrimSpace(fields[p.comCol]))
	}
	p.accept(pfx, comment)
}

// looksLikeHeader reports whether a first CSV record names columns: every
// field is a short word without digits-only content.
func looksLikeHeader(fields [][]byte) bool {
	for _, f := range fields {
		f = bytes.TrimSpace(f)
		if len(f) == 0 || len(f) > 64 {
			return false
		}
		letters := false
		for _, c := range f {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				letters = true
			}
		}
		if !letters {
			return false
		}
	}
	return true
}

// headerColumns finds the address and comment columns of a header.
func headerColumns(fields [][]byte) (ipCol, comCol int) {
	find := func(names []string) int {
		for _, n := range names {
			for i, f := range fields {
				if strings.EqualFold(string(bytes.TrimSpace(f)), n) {
					return i
				}
			}
		}
		return -1
	}
	ipCol, comCol = find(csvHeaderIP), find(csvHeaderComment)
	if ipCol < 0 {
		ipCol = 0
	}
	if comCol < 0 && len(fields) > 1 {
		comCol = 1
		if ipCol == 1 {
			comCol = 0
		}
	}
	return ipCol, comCol
}

// splitCSV splits one CSV record (RFC 4180 quoting, on a single line) into
// fields, appending to dst. Quoted fields are unquoted into fresh slices.
func splitCSV(line []byte, dst [][]byte) ([][]byte, bool) {
	for {
		if len(line) > 0 && line[0] == '"' {
			var field []byte
			i := 1
			closed := false
			for i < len(line) {
				c := line[i]
				if c == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						field = append(field, '"')
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				field = append(field, c)
				i++
			}
			if !closed {
				return dst, false
			}
			// Anything between the closing quote and the comma is kept.
			j := bytes.IndexByte(line[i:], ',')
			if j < 0 {
				field = append(field, line[i:]...)
				return append(dst, field), true
			}
			field = append(field, line[i:i+j]...)
			dst = append(dst, field)
			line = line[i+j+1:]
			continue
		}
		j := bytes.IndexByte(line, ',')
		if j < 0 {
			return append(dst, line), true
		}
		dst = append(dst, line[:j])
		line = line[j+1:]
	}
}

func (p *parser) feodoLine(line, t []byte) {
	if t[0] == '#' {
		p.res.Ignored++
		return
	}
	f, ok := splitCSV(t, nil)
	if !ok {
		p.reject(line, "unterminated quote")
		return
	}
	if len(f) < 2 {
		p.reject(line, "want first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware")
		return
	}
	if strings.EqualFold(string(bytes.TrimSpace(f[1])), "dst_ip") {
		p.res.Ignored++ // an uncommented header
		return
	}
	pfx, reason := parsePrefix(bytes.TrimSpace(f[1]))
	if reason != "" {
		p.reject(line, reason)
		return
	}
	get := func(i int) string {
		if i < len(f) {
			return string(bytes.TrimSpace(f[i]))
		}
		return ""
	}
	var b strings.Builder
	if m := get(5); m != "" {
		b.WriteString(m)
		b.WriteString(" ")
	}
	b.WriteString("botnet C2")
	if port := get(2); port != "" {
		b.WriteString(" port " + port)
	}
	var details []string
	if s := get(3); s != "" {
		details = append(details, s)
	}
	if s := get(0); s != "" {
		details = append(details, "first seen "+s)
	}
	if s := get(4); s != "" {
		details = append(details, "last online "+s)
	}
	if len(details) > 0 {
		b.WriteString(" (" + strings.Join(details, ", ") + ")")
	}
	p.accept(pfx, b.String())
}

func (p *parser) sslblLine(line, t []byte) {
	if t[0] == '#' {
		p.res.Ignored++
		return
	}
	f, ok := splitCSV(t, nil)
	if !ok {
		p.reject(line, "unterminated quote")
		return
	}
	if len(f) < 2 {
		p.reject(line, "want Firstseen,DstIP,DstPort")
		return
	}
	if strings.EqualFold(string(bytes.TrimSpace(f[1])), "dstip") {
		p.res.Ignored++
		return
	}
	pfx, reason := parsePrefix(bytes.TrimSpace(f[1]))
	if reason != "" {
		p.reject(line, reason)
		return
	}
	comment := "SSLBL botnet C2"
	if len(f) > 2 && len(bytes.TrimSpace(f[2])) > 0 {
		comment += " port " + string(bytes.TrimSpace(f[2]))
	}
	if first := bytes.TrimSpace(f[0]); len(first) > 0 {
		comment += " (first seen " + string(first) + ")"
	}
	p.accept(pfx, comment)
}

func (p *parser) torLine(line, t []byte) {
	if t[0] == '#' || t[0] == ';' {
		p.res.Ignored++
		return
	}
	fields := bytes.Fields(t)
	switch string(fields[0]) {
	case "ExitNode":
		p.torNode = ""
		if len(fields) > 1 {
			p.torNode = string(fields[1])
		}
		p.res.Ignored++
		return
	case "Published", "LastStatus":
		p.res.Ignored++
		return
	case "ExitAddress":
		if len(fields) < 2 {
			p.reject(line, "ExitAddress without an address")
			return
		}
		pfx, reason := parsePrefix(fields[1])
		if reason != "" {
			p.reject(line, reason)
			return
		}
		comment := "Tor exit node"
		if p.torNode != "" {
			comment += " " + p.torNode
		}
		if len(fields) > 2 {
			comment += " (seen " + string(bytes.Join(fields[2:], []byte{' '})) + ")"
		}
		p.accept(pfx, comment)
		return
	}
	pfx, reason := parsePrefix(fields[0])
	if reason != "" {
		p.reject(line, reason)
		return
	}
	p.accept(pfx, "Tor exit node")
}

// spamhausJSON is one line of Spamhaus' JSON-lines DROP files.
type spamhausJSON struct {
	CIDR  string `json:"cidr"`
	SBLID string `json:"sblid"`
	RIR   string `json:"rir"`
	Type  string `json:"type"`
}

func (p *parser) spamhausJSONLine(line, t []byte) {
	var v spamhausJSON
	if err := json.Unmarshal(t, &v); err != nil {
		p.reject(line, "bad JSON")
		return
	}
	if v.CIDR == "" {
		if v.Type != "" {
			p.res.Ignored++ // the metadata record
			return
		}
		p.reject(line, "no cidr")
		return
	}
	pfx, reason := parsePrefix([]byte(v.CIDR))
	if reason != "" {
		p.reject(line, reason)
		return
	}
	p.accept(pfx, v.SBLID)
}

// parsePrefix reads an address or CIDR block. Host bits of a CIDR are
// cleared; IPv4-mapped IPv6 becomes IPv4. It returns a reason when b is
// neither.
func parsePrefix(b []byte) (netip.Prefix, string) {
	if len(b) == 0 {
		return netip.Prefix{}, "no address"
	}
	if a, ok := parseIPv4(b); ok {
		return netip.PrefixFrom(a, 32), ""
	}
	if bytes.IndexByte(b, '/') >= 0 {
		pfx, err := netip.ParsePrefix(string(b))
		if err != nil {
			return pfx, "not an IP address or CIDR block"
		}
		return normalize(pfx.Masked()), ""
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, "not an IP address or CIDR block"
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), ""
}

// normalize turns IPv4-mapped IPv6 prefixes of /96 or longer into IPv4.
func normalize(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// parseIPv4 reads dotted-quad IPv4 without allocating (no leading zeros,
// as netip).
func parseIPv4(b []byte) (netip.Addr, bool) {
	var out [4]byte
	part, digits, val := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || part > 3 {
				return netip.Addr{}, false
			}
			out[part] = byte(val)
			part++
			digits, val = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' {
			return netip.Addr{}, false
		}
		if digits > 0 && val == 0 {
			return netip.Addr{}, false // leading zero
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return netip.Addr{}, false
		}
	}
	if part != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(out), true
}

// Detect guesses the format of an indicator list from its first lines.
func Detect(data []byte) Format {
	head := data[:min(len(data), 16<<10)]
	firstData := []byte(nil)
	lines := 0
	for len(head) > 0 && lines < 200 {
		var line []byte
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			line, head = head, nil
		}
		lines++
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			continue
		}
		lower := bytes.ToLower(t)
		switch {
		case bytes.HasPrefix(t, []byte("ExitNode ")) || bytes.HasPrefix(t, []byte("ExitAddress ")):
			return FormatTor
		case bytes.Contains(lower, []byte("feodo tracker")) || bytes.Contains(lower, []byte(`"first_seen_utc","dst_ip"`)) || bytes.Contains(lower, []byte("first_seen_utc,dst_ip")):
			return FormatFeodo
		case bytes.Contains(lower, []byte("sslbl")) || bytes.Contains(lower, []byte("firstseen,dstip")):
			return FormatSSLBL
		case bytes.Contains(lower, []byte("spamhaus")):
			return FormatSpamhaus
		case t[0] == '#' && (bytes.Contains(lower, []byte("firehol")) || bytes.Contains(lower, []byte("hash:net")) || bytes.Contains(lower, []byte("hash:ip"))):
			return FormatFireHOL
		}
		if t[0] == '#' || t[0] == ';' {
			continue
		}
		if firstData == nil {
			firstData = t
		}
		if t[0] == '{' {
			return FormatSpamhaus
		}
		if i := bytes.Index(t, []byte(" ; SBL")); i > 0 {
			return FormatSpamhaus
		}
	}
	if firstData != nil && bytes.IndexByte(firstData, ',') >= 0 {
		return FormatCSV
	}
	return FormatPlain
}
