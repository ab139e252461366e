// Package intel reads threat-intelligence indicator lists (IP addresses and
// CIDR blocks, each with the name of its list and a comment) and answers
// "which indicators contain this address" fast enough to ask it for every
// flow record.
//
// Parse is pure: feed bytes in, indicators and per-line counts out, in any
// of the supported formats (playbook CSV, plain lists, Spamhaus DROP/EDROP,
// FireHOL netsets, abuse.ch Feodo Tracker and SSLBL CSV, Tor exit lists),
// detected from the content unless given. NewSet builds the lookup
// structure; Hunt matches flows against it. Fetcher downloads the public
// feeds into a cache directory with conditional GETs.
package intel

import (
	"fmt"
	"net/netip"
	"strings"
)

// Indicator is one entry of an indicator list.
type Indicator struct {
	// Prefix is the address block; a single address is a /32 or /128.
	// IPv4-mapped IPv6 prefixes are stored as IPv4.
	Prefix netip.Prefix
	// List names the list the indicator came from (usually the file name
	// without its extension, or the feed name).
	List string
	// Comment says what the address is known for ("" when the list does
	// not say).
	Comment string
}

// String renders the indicator as "prefix (list: comment)".
func (in Indicator) String() string {
	s := PrefixString(in.Prefix) + " (" + in.List
	if in.Comment != "" {
		s += ": " + in.Comment
	}
	return s + ")"
}

// PrefixString renders a prefix, leaving out the length of single
// addresses (1.2.3.4 rather than 1.2.3.4/32).
func PrefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// Format is an indicator-list format.
type Format uint8

// Supported formats.
const (
	// FormatAuto detects the format from the content (see Detect).
	FormatAuto Format = iota
	// FormatPlain is one IP or CIDR per line; '#' or ';' start a comment,
	// and a comment after the address becomes the indicator's comment
	// (so does any text after the address).
	FormatPlain
	// FormatCSV is comma-separated with the address in an "ip" column and
	// an optional "comment" column, as incident playbooks keep them. The
	// header is optional (without one: address, then comment); fields
	// may be quoted; lines starting with '#' are comments.
	FormatCSV
	// FormatSpamhaus is Spamhaus DROP/EDROP: "1.10.16.0/20 ; SBL256894"
	// with ';' comment lines, or the JSON-lines form ({"cidr":...,"sblid":...}).
	FormatSpamhaus
	// FormatFireHOL is a FireHOL netset or ipset: '#' header lines, then
	// one IP or CIDR per line.
	FormatFireHOL
	// FormatFeodo is abuse.ch Feodo Tracker's IP blocklist CSV:
	// first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware.
	FormatFeodo
	// FormatSSLBL is abuse.ch SSLBL's IP blacklist CSV: Firstseen,DstIP,DstPort.
	FormatSSLBL
	// FormatTor is a Tor exit list: the exit-addresses document
	// ("ExitAddress 1.2.3.4 2024-03-11 05:07:59") or plain addresses.
	FormatTor
)

var formatNames = [...]string{
	FormatAuto:     "auto",
	FormatPlain:    "plain",
	FormatCSV:      "csv",
	FormatSpamhaus: "spamhaus",
	FormatFireHOL:  "firehol",
	FormatFeodo:    "feodo",
	FormatSSLBL:    "sslbl",
	FormatTor:      "tor",
}

// String returns the format's name, as ParseFormat accepts it.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// Formats lists the names ParseFormat accepts.
func Formats() []string { return append([]string(nil), formatNames[:]...) }

// ParseFormat returns the format with the given name (case-insensitive;
// "" is auto).
func ParseFormat(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return FormatAuto, nil
	}
	for i, s := range formatNames {
		if s == n {
			return Format(i), nil
		}
	}
	return FormatAuto, fmt.Errorf("unknown indicator format %q (want one of %s)", name, strings.Join(formatNames[:], ", "))
}

// LineError is a line that could not be read.
type LineError struct {
	// File is the file the line came from ("" when parsing bytes).
	File string
	// Line is the 1-based line number.
	Line int
	// Reason says what is wrong.
	Reason string
	// Text is the line, cut to 80 bytes.
	Text string
}

func (e *LineError) Error() string {
	loc := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("%s: %s: %q", loc, e.Reason, e.Text)
}

// MaxLineErrors is how many LineErrors a Result keeps; Rejected counts
// them all.
const MaxLineErrors = 100

// Result is what parsing one list produced. Every line is counted exactly
// once: Lines = Accepted + Ignored + Rejected.
type Result struct {
	// List is the list name given to every indicator.
	List string
	// Format is the format the content was read as (detected, when
	// FormatAuto was asked for).
	Format Format
	// Indicators are the accepted entries, in file order.
	Indicators []Indicator
	// Lines counts the lines read.
	Lines int
	// Accepted counts lines that gave an indicator.
	Accepted int
	// Ignored counts blank lines, comments, headers and metadata.
	Ignored int
	// Rejected counts lines that could not be read.
	Rejected int
	// Errors describes the first MaxLineErrors rejected lines.
	Errors []LineError
}
