package awsparquet

import (
	"math"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// append decodes vals, the values of column c for batch rows row0..., into
// col. A value that does not fit its field rejects its row; a NULL
// placeholder keeps the column aligned until finish drops the row.
func (d *decoder) append(c *column, col *flowlog.Column, vals []parquet.Value, row0 int) {
	ft := schema.Fields[c.field].Type
	fmax := schema.Fields[c.field].Max
	switch c.conv {
	case convBytesToString:
		for _, v := range vals {
			b := v.ByteArray()
			if v.IsNull() || isNullString(b) {
				col.AppendNull()
				continue
			}
			col.AppendString(b)
		}
	case convIntToString, convUintToString:
		for _, v := range vals {
			if v.IsNull() {
				col.AppendNull()
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
				col.AppendNull()
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
				col.AppendNull()
				continue
			}
			d.scr = strconv.AppendBool(d.scr[:0], v.Boolean())
			col.AppendString(d.scr)
		}
	case convBytesToIP:
		for i, v := range vals {
			b := v.ByteArray()
			if v.IsNull() || isNullText(b) {
				col.AppendNull()
				continue
			}
			a, ok := flowlog.ParseIP(b)
			if !ok {
				d.reject(row0+i, c, b, flowlog.ReasonAddress)
				col.AppendNull()
				continue
			}
			col.AppendIP(a)
		}
	case convInt, convUint:
		for i, v := range vals {
			if v.IsNull() {
				col.AppendNull()
				continue
			}
			var x int64
			if c.conv == convUint {
				u := uintOf(v, c.kind)
				if u > math.MaxInt64 {
					d.reject(row0+i, c, strconv.AppendUint(d.scr[:0], u, 10), flowlog.ReasonRange)
					col.AppendNull()
					continue
				}
				x = int64(u)
			} else {
				x = intOf(v, c.kind)
			}
			if c.div > 0 && x > 0 {
				x /= c.div
			}
			if x < 0 || x > fmax {
				d.reject(row0+i, c, strconv.AppendInt(d.scr[:0], x, 10), flowlog.ReasonRange)
				col.AppendNull()
				continue
			}
			d.appendInt(col, row0+i, c, x, ft == schema.Time && c.div == 0)
		}
	case convBytesToInt:
		for i, v := range vals {
			b := v.ByteArray()
			if v.IsNull() || isNullText(b) {
				col.AppendNull()
				continue
			}
			x, reason := flowlog.ParseInt(b, fmax)
			if reason != "" {
				d.reject(row0+i, c, b, reason)
				col.AppendNull()
				continue
			}
			d.appendInt(col, row0+i, c, x, ft == schema.Time)
		}
	case convFloatToInt:
		for i, v := range vals {
			f := floatOf(v, c.kind)
			if v.IsNull() || math.IsNaN(f) {
				col.AppendNull()
				continue
			}
			x, reason := floatToInt(f, fmax)
			if reason != "" {
				d.reject(row0+i, c, strconv.AppendFloat(d.scr[:0], f, 'g', -1, 64), reason)
				col.AppendNull()
				continue
			}
			d.appendInt(col, row0+i, c, x, ft == schema.Time)
		}
	}
}

// appendInt appends x, first applying the parser's epoch rule when epoch is
// set; a time out of range rejects the row.
func (d *decoder) appendInt(col *flowlog.Column, row int, c *column, x int64, epoch bool) {
	if epoch {
		nx, reason := flowlog.NormaliseEpoch(x)
		if reason != "" {
			d.reject(row, c, strconv.AppendInt(d.scr[:0], x, 10), reason)
			col.AppendNull()
			return
		}
		x = nx
	}
	col.AppendInt(x)
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

// floatToInt accepts a float that holds a non-negative integer no larger
// than max.
func floatToInt(f float64, max int64) (int64, string) {
	if math.IsInf(f, 0) || f < 0 {
		return 0, flowlog.ReasonRange
	}
	if f != math.Trunc(f) {
		return 0, flowlog.ReasonInteger
	}
	if f >= 1<<63 || uint64(f) > uint64(max) {
		return 0, flowlog.ReasonRange
	}
	return int64(f), ""
}
