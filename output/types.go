package output

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/schema"
)

// Type is the kind of values a result column holds. It decides alignment in
// tables, how Epoch and Date values are shown, and the Parquet schema; the
// text formats otherwise render each value by its Go type.
type Type uint8

// Column types. The zero value is TypeString.
const (
	// TypeString holds strings, and anything without a better type.
	TypeString Type = iota
	// TypeInt holds signed integers of up to 64 bits (Parquet INT64).
	TypeInt
	// TypeInt32 holds integers that fit 32 bits (Parquet INT32), such as
	// the flow-log ports and protocol.
	TypeInt32
	// TypeBigInt holds integers that may exceed 64 bits, such as DuckDB's
	// HUGEINT results of sum(); values are *big.Int or any Go integer
	// (Parquet DECIMAL(38,0)).
	TypeBigInt
	// TypeFloat holds float64, float32 and decimals (values with a
	// Float64() method) (Parquet DOUBLE).
	TypeFloat
	// TypeBool holds bool.
	TypeBool
	// TypeTime holds time.Time instants (Parquet TIMESTAMP, microseconds, UTC).
	TypeTime
	// TypeDate holds time.Time values of which only the date counts
	// (Parquet DATE).
	TypeDate
	// TypeEpoch holds integer seconds since 1970, like the flow-log start
	// and end fields. They stay numbers in CSV, JSON and Parquet (INT64)
	// and read as RFC 3339 UTC times in tables.
	TypeEpoch
	// TypeIP holds netip.Addr values (or their text) (Parquet UTF8).
	TypeIP
	// TypeBytes holds []byte (Parquet BYTE_ARRAY without a logical type).
	TypeBytes
)

var typeNames = [...]string{
	TypeString: "string",
	TypeInt:    "int",
	TypeInt32:  "int32",
	TypeBigInt: "bigint",
	TypeFloat:  "float",
	TypeBool:   "bool",
	TypeTime:   "time",
	TypeDate:   "date",
	TypeEpoch:  "epoch",
	TypeIP:     "ip",
	TypeBytes:  "bytes",
}

// String returns the type's name.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// numeric reports whether values of t are right-aligned in tables.
func (t Type) numeric() bool {
	switch t {
	case TypeInt, TypeInt32, TypeBigInt, TypeFloat:
		return true
	}
	return false
}

// Column describes one column of a result.
type Column struct {
	// Name is the column's name: the CSV and table header, the JSON key,
	// the Parquet column name.
	Name string
	// Type is the kind of values the column holds.
	Type Type
}

// FieldType is the result type matching a field type.
func FieldType(t schema.Type) Type {
	switch t {
	case schema.Bool:
		return TypeBool
	case schema.Int32:
		return TypeInt32
	case schema.Int64:
		return TypeInt
	case schema.Time:
		return TypeEpoch
	case schema.IP:
		return TypeIP
	}
	return TypeString
}

// FieldColumns returns the result columns for catalog and derived fields:
// their column names and the matching types. Stores use it to describe
// rows read from the flows table.
func FieldColumns(ids []int) []Column {
	cols := make([]Column, len(ids))
	for i, id := range ids {
		f := schema.Col(id)
		cols[i] = Column{Name: f.Column, Type: FieldType(f.Type)}
	}
	return cols
}

// DatabaseType maps a column type name as database/sql reports it
// (ColumnType.DatabaseTypeName) to a Type. It knows DuckDB's names
// (BIGINT, HUGEINT, DECIMAL(18,3), TIMESTAMP WITH TIME ZONE, ...) and
// ClickHouse's (Int64, Nullable(String), LowCardinality(String),
// DateTime64(3), IPv4, ...). Unknown names map to TypeString.
func DatabaseType(name string) Type {
	n := strings.ToUpper(strings.TrimSpace(name))
	for _, wrap := range []string{"NULLABLE(", "LOWCARDINALITY("} {
		for strings.HasPrefix(n, wrap) && strings.HasSuffix(n, ")") {
			n = strings.TrimSpace(n[len(wrap) : len(n)-1])
		}
	}
	if i := strings.IndexByte(n, '('); i >= 0 {
		n = strings.TrimSpace(n[:i])
	}
	switch n {
	case "TINYINT", "SMALLINT", "INTEGER", "INT", "INT1", "INT2", "INT4", "SIGNED", "SHORT",
		"UTINYINT", "USMALLINT",
		"INT8", "INT16", "INT32", "UINT8", "UINT16":
		// INT8 is ClickHouse's 8-bit Int8: DuckDB reports its 64-bit
		// alias as BIGINT.
		return TypeInt32
	case "BIGINT", "LONG", "UINTEGER", "INT64", "UINT32":
		return TypeInt
	case "HUGEINT", "UHUGEINT", "UBIGINT", "BIGNUM", "VARINT",
		"UINT64", "INT128", "UINT128", "INT256", "UINT256":
		return TypeBigInt
	case "FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8", "DECIMAL", "NUMERIC",
		"FLOAT32", "FLOAT64", "DECIMAL32", "DECIMAL64", "DECIMAL128", "DECIMAL256":
		return TypeFloat
	case "BOOLEAN", "BOOL":
		return TypeBool
	case "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS",
		"TIMESTAMP_NS", "DATETIME", "DATETIME64":
		return TypeTime
	case "DATE", "DATE32":
		return TypeDate
	case "BLOB", "BYTEA", "BINARY", "VARBINARY":
		return TypeBytes
	case "IPV4", "IPV6", "INET":
		return TypeIP
	}
	return TypeString
}

// uniqueNames returns the column names to print: duplicates get a _2, _3
// suffix and empty names become col1, col2... so that JSON keys and Parquet
// columns are unambiguous.
func uniqueNames(cols []Column) []string {
	names := make([]string, len(cols))
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		n := c.Name
		if n == "" {
			n = "col" + strconv.Itoa(i+1)
		}
		base := n
		for k := 2; seen[n]; k++ {
			n = base + "_" + strconv.Itoa(k)
		}
		seen[n] = true
		names[i] = n
	}
	return names
}

// checkFields validates a projection of catalog field IDs.
func checkFields(fields []int) error {
	if len(fields) == 0 {
		return fmt.Errorf("output: no fields to write")
	}
	var seen schema.Set
	for _, id := range fields {
		if id < 0 || id >= schema.NumFields {
			return fmt.Errorf("output: unknown field id %d", id)
		}
		if seen.Has(id) {
			return fmt.Errorf("output: field %s listed twice", schema.Fields[id].Column)
		}
		seen.Add(id)
	}
	return nil
}
