// Package awsranges reads AWS's published address ranges (ip-ranges.json:
// prefix, service, region, network border group) and looks addresses up
// in them without allocating. Fetch downloads a fresh copy.
package awsranges

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/flowlens/flowlens/enrich/iptable"
)

// DefaultURL is where AWS publishes its ranges.
const DefaultURL = "https://ip-ranges.amazonaws.com/ip-ranges.json"

// Amazon is the service that covers every AWS address; lookups report a
// more specific service when one is listed.
const Amazon = "AMAZON"

// Entry is one published prefix.
type Entry struct {
	Prefix             netip.Prefix
	Service            string
	Region             string
	NetworkBorderGroup string
}

// Service is a service's index in a Ranges (see Ranges.Service).
type Service uint8

// maxServices is how many services get a bit in a Match; AWS publishes
// about 30.
const maxServices = 64

type val struct {
	services uint64
	entry    int32 // -1: none
}

// Ranges is a parsed ip-ranges.json. It is immutable and safe for
// concurrent use.
type Ranges struct {
	// SyncToken and CreateDate identify the publication.
	SyncToken  string
	CreateDate string

	entries  []Entry
	services []string
	t        *iptable.Table[val]
}

// Match is what a lookup found: the most specific entry (one naming a
// service other than AMAZON when there is one) and every service whose
// ranges contain the address.
type Match struct {
	Entry
	services uint64
}

// Has reports whether the address is in a range of service s.
func (m Match) Has(s Service) bool { return s < maxServices && m.services&(1<<s) != 0 }

type document struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Prefixes   []struct {
		IPPrefix string `json:"ip_prefix"`
		Region   string `json:"region"`
		Service  string `json:"service"`
		NBG      string `json:"network_border_group"`
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		IPv6Prefix string `json:"ipv6_prefix"`
		Region     string `json:"region"`
		Service    string `json:"service"`
		NBG        string `json:"network_border_group"`
	} `json:"ipv6_prefixes"`
}

// Parse reads an ip-ranges.json document. A document without any prefix,
// or with a prefix that does not parse, is an error.
func Parse(r io.Reader) (*Ranges, error) {
	var doc document
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("ip-ranges: %w", err)
	}
	var entries []Entry
	add := func(i int, p, svc, region, nbg string) error {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("ip-ranges: prefix %d: %w", i, err)
		}
		entries = append(entries, Entry{Prefix: pfx.Masked(), Service: svc, Region: region, NetworkBorderGroup: nbg})
		return nil
	}
	for i, p := range doc.Prefixes {
		if err := add(i, p.IPPrefix, p.Service, p.Region, p.NBG); err != nil {
			return nil, err
		}
	}
	for i, p := range doc.IPv6Prefixes {
		if err := add(i, p.IPv6Prefix, p.Service, p.Region, p.NBG); err != nil {
			return nil, fmt.Errorf("ipv6 %w", err)
		}
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("ip-ranges: no prefixes (not an ip-ranges.json document?)")
	}
	return New(doc.SyncToken, doc.CreateDate, entries), nil
}

// Load reads an ip-ranges.json file.
func Load(path string) (*Ranges, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// New builds Ranges from entries.
func New(syncToken, createDate string, entries []Entry) *Ranges {
	r := &Ranges{SyncToken: syncToken, CreateDate: createDate, entries: entries}
	idx := map[string]int{}
	var b iptable.Builder[val]
	for i, e := range entries {
		s, ok := idx[e.Service]
		if !ok {
			s = len(r.services)
			idx[e.Service] = s
			r.services = append(r.services, e.Service)
		}
		v := val{entry: int32(i)}
		if s < maxServices {
			v.services = 1 << s
		}
		b.Add(e.Prefix, v)
	}
	r.t = b.Build(func(outer, inner val) val {
		v := val{services: outer.services | inner.services, entry: inner.entry}
		if entries[inner.entry].Service == Amazon && entries[outer.entry].Service != Amazon {
			v.entry = outer.entry
		}
		return v
	})
	return r
}

// Len returns the number of entries.
func (r *Ranges) Len() int { return len(r.entries) }

// Services returns the services named, sorted.
func (r *Ranges) Services() []string {
	s := slices.Clone(r.services)
	slices.Sort(s)
	return s
}

// Service returns the index of a service (case-insensitive) for
// Match.Has.
func (r *Ranges) Service(name string) (Service, bool) {
	for i, s := range r.services {
		if strings.EqualFold(s, name) && i < maxServices {
			return Service(i), true
		}
	}
	return 0, false
}

// Lookup returns what the ranges say about a.
func (r *Ranges) Lookup(a netip.Addr) (Match, bool) {
	v, ok := r.t.Lookup(a)
	if !ok {
		return Match{}, false
	}
	return Match{Entry: r.entries[v.entry], services: v.services}, true
}

// MatchServices returns the names of every service in m, AMAZON last.
func (r *Ranges) MatchServices(m Match) []string {
	var out []string
	amazon := false
	for i, s := range r.services {
		if i < maxServices && m.services&(1<<i) != 0 {
			if s == Amazon {
				amazon = true
				continue
			}
			out = append(out, s)
		}
	}
	slices.Sort(out)
	if amazon {
		out = append(out, Amazon)
	}
	return out
}
