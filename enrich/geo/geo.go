// Package geo looks up the country, city and autonomous system of
// addresses in MaxMind-format (.mmdb) databases: GeoLite2 Country/City
// and ASN, DB-IP lite and ipinfo lite all use the format. Several
// databases can be combined (a country one and an ASN one); decoded
// records are cached by their offset, so repeated lookups do not allocate.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Info is what the databases say about an address. Empty fields are
// unknown.
type Info struct {
	// Country is the ISO 3166-1 alpha-2 code of the registered or located
	// country.
	Country string `json:"country,omitempty"`
	// City is the English city name (City databases only).
	City string `json:"city,omitempty"`
	// ASN and ASOrg are the autonomous system's number and organisation.
	ASN   uint32 `json:"asn,omitempty"`
	ASOrg string `json:"as_org,omitempty"`
}

// merge fills i's empty fields from o.
func (i Info) merge(o Info) Info {
	if i.Country == "" {
		i.Country = o.Country
	}
	if i.City == "" {
		i.City = o.City
	}
	if i.ASN == 0 {
		i.ASN, i.ASOrg = o.ASN, o.ASOrg
	}
	return i
}

// record covers the field names of GeoLite2/GeoIP2, DB-IP and ipinfo lite.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	ASN         uint32 `maxminddb:"autonomous_system_number"`
	ASOrg       string `maxminddb:"autonomous_system_organization"`
	CountryCode string `maxminddb:"country_code"` // ipinfo lite
	IPInfoASN   string `maxminddb:"asn"`          // ipinfo lite: "AS15169"
	ASName      string `maxminddb:"as_name"`      // ipinfo lite
}

func (r *record) info() Info {
	in := Info{Country: r.Country.ISOCode, City: r.City.Names["en"], ASN: r.ASN, ASOrg: r.ASOrg}
	if in.Country == "" {
		in.Country = r.RegisteredCountry.ISOCode
	}
	if in.Country == "" {
		in.Country = strings.ToUpper(r.CountryCode)
	}
	if in.ASN == 0 && r.IPInfoASN != "" {
		if n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(r.IPInfoASN), "AS"), 10, 32); err == nil {
			in.ASN = uint32(n)
		}
		in.ASOrg = r.ASName
	}
	return in
}

// DB is one or more open databases. It is safe for concurrent use.
type DB struct {
	dbs []*db
}

type db struct {
	path  string
	r     *maxminddb.Reader
	mu    sync.RWMutex
	cache map[uintptr]Info
}

// Open opens the databases at paths. Lookups take each field from the
// first database that has it.
func Open(paths ...string) (*DB, error) {
	d := &DB{}
	for _, p := range paths {
		r, err := maxminddb.Open(p)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("geo %s: %w", p, err)
		}
		d.dbs = append(d.dbs, &db{path: p, r: r, cache: map[uintptr]Info{}})
	}
	return d, nil
}

// Close closes the databases.
func (d *DB) Close() error {
	var errs []error
	for _, x := range d.dbs {
		errs = append(errs, x.r.Close())
	}
	return errors.Join(errs...)
}

// Lookup returns what the databases know about a. Errors (a corrupt
// record) read as unknown; LookupErr reports them.
func (d *DB) Lookup(a netip.Addr) Info {
	in, _ := d.LookupErr(a)
	return in
}

// LookupErr is Lookup with the first decoding error.
func (d *DB) LookupErr(a netip.Addr) (Info, error) {
	var out Info
	var firstErr error
	a = a.Unmap()
	for _, x := range d.dbs {
		in, err := x.lookup(a)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("geo %s: %s: %w", x.path, a, err)
		}
		out = out.merge(in)
	}
	return out, firstErr
}

func (x *db) lookup(a netip.Addr) (Info, error) {
	res := x.r.Lookup(a)
	if !res.Found() {
		return Info{}, res.Err()
	}
	off := res.Offset()
	x.mu.RLock()
	in, ok := x.cache[off]
	x.mu.RUnlock()
	if ok {
		return in, nil
	}
	var rec record
	if err := res.Decode(&rec); err != nil {
		return Info{}, err
	}
	in = rec.info()
	x.mu.Lock()
	x.cache[off] = in
	x.mu.Unlock()
	return in, nil
}
