package schema

import "strings"

// Derived fields are not in flow-log records: enrichment fills them from an
// address (srcaddr or dstaddr) at ingest and in ad-hoc queries. They have
// IDs after the catalog's (NumFields and up), live in the same batches and
// sets as catalog fields, and are never parsed: Lookup does not find them,
// so a format string cannot name them. Their Token is the name the filter
// language knows them by (src.internal, dst.entity).
var Derived = buildDerived()

// NumColumns is the number of catalog and derived fields: the size of a
// batch's column array.
var NumColumns = NumFields + len(derivedDef)

var derivedDef = []struct {
	token, column string
	typ           Type
	desc          string
}{
	{"src.internal", "src_internal", Bool, "Whether srcaddr is internal: private, in the VPC CIDRs or the own networks."},
	{"dst.internal", "dst_internal", Bool, "Whether dstaddr is internal: private, in the VPC CIDRs or the own networks."},
	{"src.service", "src_service", String, "AWS service whose published ranges hold srcaddr (the most specific one)."},
	{"dst.service", "dst_service", String, "AWS service whose published ranges hold dstaddr (the most specific one)."},
	{"src.list", "src_list", String, "Named allow-lists holding srcaddr, comma-separated."},
	{"dst.list", "dst_list", String, "Named allow-lists holding dstaddr, comma-separated."},
	{"src.entity", "src_entity_type", String, "Kind of inventory entity behind srcaddr (ec2, nat_gateway, alb, rds, lambda...)."},
	{"src.entity-id", "src_entity_id", String, "ID of the inventory entity behind srcaddr."},
	{"src.entity-name", "src_entity_name", String, "Name of the inventory entity behind srcaddr."},
	{"dst.entity", "dst_entity_type", String, "Kind of inventory entity behind dstaddr (ec2, nat_gateway, alb, rds, lambda...)."},
	{"dst.entity-id", "dst_entity_id", String, "ID of the inventory entity behind dstaddr."},
	{"dst.entity-name", "dst_entity_name", String, "Name of the inventory entity behind dstaddr."},
	{"src.country", "src_country", String, "ISO country code of srcaddr (GeoIP)."},
	{"dst.country", "dst_country", String, "ISO country code of dstaddr (GeoIP)."},
	{"src.city", "src_city", String, "City of srcaddr (GeoIP City databases)."},
	{"dst.city", "dst_city", String, "City of dstaddr (GeoIP City databases)."},
	{"src.asn", "src_asn", Int32, "Autonomous system number of srcaddr."},
	{"dst.asn", "dst_asn", Int32, "Autonomous system number of dstaddr."},
	{"src.as-org", "src_as_org", String, "Organisation of the autonomous system of srcaddr."},
	{"dst.as-org", "dst_as_org", String, "Organisation of the autonomous system of dstaddr."},
	{"src.threat", "src_threat", String, "Threat-intelligence lists holding srcaddr, comma-separated."},
	{"dst.threat", "dst_threat", String, "Threat-intelligence lists holding dstaddr, comma-separated."},
}

func buildDerived() []Field {
	fs := make([]Field, len(derivedDef))
	for i, d := range derivedDef {
		fs[i] = Field{ID: NumFields + i, Token: d.token, Column: d.column, Type: d.typ, Description: d.desc}
		if d.typ.IsInt() {
			fs[i].Max = TypeMax(d.typ)
		}
	}
	return fs
}

// IsDerived reports whether id is a derived field's.
func IsDerived(id int) bool { return id >= NumFields && id < NumColumns }

// Col returns the catalog or derived field with the given ID.
func Col(id int) *Field {
	if id < NumFields {
		return &Fields[id]
	}
	return &Derived[id-NumFields]
}

// LookupDerived finds a derived field by token (dst.entity) or column
// name (dst_entity_type). Case is ignored.
func LookupDerived(name string) (Field, bool) {
	for _, f := range Derived {
		if strings.EqualFold(f.Token, name) || strings.EqualFold(f.Column, name) {
			return f, true
		}
	}
	return Field{}, false
}

// Derived field IDs.
var (
	FSrcInternal   = derivedID("src_internal")
	FDstInternal   = derivedID("dst_internal")
	FSrcService    = derivedID("src_service")
	FDstService    = derivedID("dst_service")
	FSrcList       = derivedID("src_list")
	FDstList       = derivedID("dst_list")
	FSrcEntityType = derivedID("src_entity_type")
	FSrcEntityID   = derivedID("src_entity_id")
	FSrcEntityName = derivedID("src_entity_name")
	FDstEntityType = derivedID("dst_entity_type")
	FDstEntityID   = derivedID("dst_entity_id")
	FDstEntityName = derivedID("dst_entity_name")
	FSrcCountry    = derivedID("src_country")
	FDstCountry    = derivedID("dst_country")
	FSrcCity       = derivedID("src_city")
	FDstCity       = derivedID("dst_city")
	FSrcASN        = derivedID("src_asn")
	FDstASN        = derivedID("dst_asn")
	FSrcASOrg      = derivedID("src_as_org")
	FDstASOrg      = derivedID("dst_as_org")
	FSrcThreat     = derivedID("src_threat")
	FDstThreat     = derivedID("dst_threat")
)

func derivedID(column string) int {
	f, ok := LookupDerived(column)
	if !ok {
		panic("schema: unknown derived field " + column)
	}
	return f.ID
}
