package awsparquet

import (
	"math"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// append decodes vals, the values of column c for batch rows row0..., into
// col. A value that does not fit its field rejects its row; a NULL
// placeholder keeps the column aligned until finish drops the row.
func (d *decoder) append(c *column, col *flowlog.Column, vals []parquet.Value, row0 int) {
	ft := schema.Fields[c.field].Type
	switch c.conv {
	case convBytesToString:
		for _, v := range vals {
			b := v.ByteArray()
			if v.IsNull() || isNullString(b) {
				appendNull(col)
				continue
			}
			col.AppendString(b)
		}
	case convIntToString, convUintToString:
		for _, v := range vals {
			if v.IsNull() {
				appendNull(col)
				continue
			}
			if c.conv == convUintToString {
				d.scr = strconv.AppendUint(d.scr[:0], uintOf(v, c.kind), 10)
			} else {
				d.scr = strconv.AppendInt(d.scr[:0], intOf(v, c.kind), 10)
			}
			col.AppendString(d.scr)
		}
	case convFloatToString:
		for _, v := range vals {
			f := floatOf(v, c.kind)
			if v.IsNull() || math.IsNaN(f) {
				appendNull(col)
				continue
			}
			if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				d.scr = strconv.AppendInt(d.scr[:0], int64(f), 10)
			} else {
				d.scr = strconv.AppendFloat(d.scr[:0], f, 'g', -1, 64)
			}
			col.AppendString(d.scr)
		}
	case convBoolToString:
		for _, v := range vals {
			if v.IsNull() {
				appendNull(col)
				continue
			}
			d.scr = strconv.AppendBool(d.scr[:0], v.Boolean())
			col.AppendString(d.scr)
		}
	case convBytesToIP:
		for i, v := range vals {
			b := v.ByteArray()
			if v.IsNull() || isNullText(b) {
				appendNull(col)
				continue
			}
			a, ok := parseIP(b)
			if !ok {
				d.reject(row0+i, c, b, flowlog.ReasonAddress)
				appendNull(col)
				continue
			}
			col.AppendIP(a)
		}
	case convInt, convUint:
		for i, v := range vals {
			if v.IsNull() {
				appendNull(col)
				continue
			}
			var x int64
			if c.conv == convUint {
				u := uintOf(v, c.kind)
				if u > math.MaxInt64 {
					d.reject(row0+i, c, strconv.AppendUint(d.scr[:0], u, 10), flowlog.ReasonRange)
					appendNull(col)
					continue
				}
				x = int64(u)
			} else {
				x = intOf(v, c.kind)
			}
			if c.div > 0 && x > 0 {
				x /= c.div
			}
			if x < 0 || (ft == schema.Int32 && x > math.MaxInt32) {
				d.reject(row0+i, c, strconv.AppendInt(d.scr[:0], x, 10), flowlog.ReasonRange)
				appendNull(col)
				continue
			}
			if ft == schema.Time && c.div == 0 {
				x = normaliseEpoch(x)
			}
			col.AppendInt(x)
		}
	case convBytesToInt:
		for i, v := range vals {
			b := v.ByteArray()
			if v.IsNull() || isNullText(b) {
				appendNull(col)
				continue
			}
			x, reason := parseInt(b, ft)
			if reason != "" {
				d.reject(row0+i, c, b, reason)
				appendNull(col)
				continue
			}
			if ft == schema.Time {
				x = normaliseEpoch(x)
			}
			col.AppendInt(x)
		}
	case convFloatToInt:
		for i, v := range vals {
			f := floatOf(v, c.kind)
			if v.IsNull() || math.IsNaN(f) {
				appendNull(col)
				continue
			}
			x, reason := floatToInt(f, ft)
			if reason != "" {
				d.reject(row0+i, c, strconv.AppendFloat(d.scr[:0], f, 'g', -1, 64), reason)
				appendNull(col)
				continue
			}
			if ft == schema.Time {
				x = normaliseEpoch(x)
			}
			col.AppendInt(x)
		}
	}
}

// appendNull appends a NULL value to col.
func appendNull(col *flowlog.Column) {
	col.Valid = append(col.Valid, false)
	switch col.Type {
	case schema.String:
		col.Offs = append(col.Offs, uint32(len(col.Data)))
	case schema.IP:
		col.IPs = append(col.IPs, netip.Addr{})
	default:
		col.Ints = append(col.Ints, 0)
	}
}

func intOf(v parquet.Value, k parquet.Kind) int64 {
	if k == parquet.Int32 {
		return int64(v.Int32())
	}
	return v.Int64()
}

func uintOf(v parquet.Value, k parquet.Kind) uint64 {
	if k == parquet.Int32 {
		return uint64(v.Uint32())
	}
	return v.Uint64()
}

func floatOf(v parquet.Value, k parquet.Kind) float64 {
	if k == parquet.Float {
		return float64(v.Float())
	}
	return v.Double()
}

// isNullString reports whether a string value means NULL: `-` (the text
// form's NULL) or empty.
func isNullString(b []byte) bool {
	return len(b) == 0 || (len(b) == 1 && b[0] == '-')
}

// isNullText reports whether a value in an integer or address column stored
// as text means NULL: `-`, empty, or a missing-value rendering that cannot be
// a number or an address (pandas writes None and nan).
func isNullText(b []byte) bool {
	if isNullString(b) {
		return true
	}
	switch string(b) { // no allocation: the conversion is only compared
	case "None", "nan", "NaN", "null", "NULL":
		return true
	}
	return false
}

// normaliseEpoch applies the text parser's rule: an epoch of 1e11 or more
// (past the year 5138 in seconds) is in milliseconds.
func normaliseEpoch(x int64) int64 {
	if x >= 100_000_000_000 {
		return x / 1000
	}
	return x
}

// parseInt decodes a non-negative decimal integer that fits t, with the text
// parser's rules and reasons.
func parseInt(v []byte, t schema.Type) (int64, string) {
	if len(v) == 0 {
		return 0, flowlog.ReasonInteger
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, flowlog.ReasonInteger
		}
	}
	if len(v) > 19 {
		return 0, flowlog.ReasonRange
	}
	var x uint64
	for _, c := range v {
		x = x*10 + uint64(c-'0')
	}
	if x > limitOf(t) {
		return 0, flowlog.ReasonRange
	}
	return int64(x), ""
}

func limitOf(t schema.Type) uint64 {
	if t == schema.Int32 {
		return math.MaxInt32
	}
	return math.MaxInt64
}

// floatToInt accepts a float that holds a non-negative integer fitting t.
func floatToInt(f float64, t schema.Type) (int64, string) {
	if math.IsInf(f, 0) || f < 0 {
		return 0, flowlog.ReasonRange
	}
	if f != math.Trunc(f) {
		return 0, flowlog.ReasonInteger
	}
	if f >= 1<<63 || uint64(f) > limitOf(t) {
		return 0, flowlog.ReasonRange
	}
	return int64(f), ""
}

// parseIP decodes an IPv4 or IPv6 address as the text parser does: dotted
// quads without leading zeros, IPv6 without a zone.
func parseIP(v []byte) (netip.Addr, bool) {
	if len(v) == 0 {
		return netip.Addr{}, false
	}
	// The string aliases v only for the call: a zone, the one part netip
	// would keep, is refused and the address dropped.
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(v), len(v)))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}
