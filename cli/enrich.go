package cli

import (
	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/query/filter"
	"github.com/flowlens/flowlens/schema"
)

// fillFlags select the enrichment data whose columns ingest and ad-hoc
// queries fill: the audits' data (inventory, own networks, ip-ranges,
// allow-lists, GeoIP) plus threat-intel lists.
type fillFlags struct {
	enrichFlags
	iocs iocFlags
}

func (f *fillFlags) register(c *cobra.Command) {
	f.enrichFlags.register(c)
	f.iocs.register(c)
}

// load builds the Enricher the flags describe. The network class is always
// there; the rest only with their data. Close the returned function when
// done.
func (f *fillFlags) load(c *cobra.Command, e *env) (*enrich.Enricher, func(), error) {
	x, err := f.enrichFlags.load(c)
	if err != nil {
		return nil, nil, err
	}
	en := &enrich.Enricher{Class: x.class, Ranges: x.ranges, Lists: x.lists, Inventory: x.index, Geo: x.geo}
	if len(f.iocs.files)+len(f.iocs.dirs) > 0 {
		set, err := f.iocs.load(e)
		if err != nil {
			x.Close()
			return nil, nil, err
		}
		en.Threat = set
	}
	return en, x.Close, nil
}

// dataFlag says which flag supplies a derived field.
func dataFlag(id int) string {
	switch id {
	case schema.FSrcService, schema.FDstService:
		return "--ip-ranges (or 'flowlens ranges update')"
	case schema.FSrcList, schema.FDstList:
		return "--allow NAME=FILE"
	case schema.FSrcEntityType, schema.FSrcEntityID, schema.FSrcEntityName,
		schema.FDstEntityType, schema.FDstEntityID, schema.FDstEntityName:
		return "an inventory (--inventory, 'flowlens inventory import')"
	case schema.FSrcCountry, schema.FDstCountry, schema.FSrcCity, schema.FDstCity,
		schema.FSrcASN, schema.FDstASN, schema.FSrcASOrg, schema.FDstASOrg:
		return "--geoip FILE.mmdb"
	case schema.FSrcThreat, schema.FDstThreat:
		return "--ioc FILE or --ioc-dir DIR"
	}
	return "enrichment data"
}

// checkFillable returns a usage error when the records must carry derived
// fields in need (read from SOURCE files, so only what en fills exists)
// that en cannot fill.
func checkFillable(en *enrich.Enricher, need schema.Set) error {
	have := en.Columns()
	for _, id := range need.IDs() {
		if schema.IsDerived(id) && !have.Has(id) {
			return usagef("%s needs %s", schema.Col(id).Token, dataFlag(id))
		}
	}
	return nil
}

// derivedOf returns the derived fields among ids.
func derivedOf(ids []int) schema.Set {
	var s schema.Set
	for _, id := range ids {
		if schema.IsDerived(id) {
			s.Add(id)
		}
	}
	return s
}

// derivedIn returns the derived fields a filter reads.
func derivedIn(e *filter.Expr) schema.Set {
	if e == nil {
		return schema.Set{}
	}
	return derivedOf(e.Needs().IDs())
}
