// Package enrich turns addresses into meaning: network class (private,
// own networks), AWS service ranges, named allow-lists, the inventory's
// entity, and GeoIP/ASN. The lookups live in the subpackages (netclass,
// awsranges, lists, geo, resolve for reverse DNS and TLS names, iptable
// for the shared prefix structure) and inventory; Enricher combines them
// for per-record use (ingest, ad-hoc queries, the audits), and Filler adds
// the derived columns (src_internal, dst_entity_type...) to batches. Threat
// intel matching is the intel package's; Enricher takes it through the
// Threat interface.
package enrich

import (
	"net/netip"

	"github.com/flowlens/flowlens/enrich/awsranges"
	"github.com/flowlens/flowlens/enrich/geo"
	"github.com/flowlens/flowlens/enrich/lists"
	"github.com/flowlens/flowlens/enrich/netclass"
	"github.com/flowlens/flowlens/inventory"
)

// Enricher combines the lookups. Nil members are skipped. It is safe for
// concurrent use once built.
type Enricher struct {
	Class     *netclass.Classifier
	Ranges    *awsranges.Ranges
	Lists     *lists.Set
	Inventory *inventory.Index
	// Geo is the slowest lookup (a tree walk in the database file); leave
	// it nil when the country and AS are not wanted.
	Geo *geo.DB
	// Threat is the threat-intelligence lookup (the intel package's Set).
	Threat Threat
}

// Info is everything known about one address.
type Info struct {
	Class netclass.Class
	// AWS is the ip-ranges.json match when InAWS.
	AWS   awsranges.Match
	InAWS bool
	// Lists are the allow-lists containing the address.
	Lists lists.Mask
	// Entity is the inventory's entity when HasEntity.
	Entity    inventory.Entity
	HasEntity bool
	Geo       geo.Info
}

// Internal reports whether the address is internal (netclass).
func (i *Info) Internal() bool { return i.Class.Internal() }

// Lookup fills info for a. It does not allocate (the geo lookup
// allocates once per distinct database record, then caches it).
func (e *Enricher) Lookup(a netip.Addr, info *Info) {
	*info = Info{}
	if e.Class != nil {
		info.Class = e.Class.Classify(a)
	}
	if e.Ranges != nil {
		info.AWS, info.InAWS = e.Ranges.Lookup(a)
	}
	if e.Lists != nil {
		info.Lists = e.Lists.Lookup(a)
	}
	if e.Inventory != nil {
		info.Entity, info.HasEntity = e.Inventory.Lookup(a)
	}
	if e.Geo != nil && info.Class == netclass.Public {
		info.Geo = e.Geo.Lookup(a)
	}
}
