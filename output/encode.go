package output

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/netip"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// flushAt is the buffered size at which a sink hands its bytes to the
// underlying writer.
const flushAt = 64 << 10

// sink is a write buffer that writers append to directly (no copy through
// bufio) and that keeps the first write error.
type sink struct {
	w   io.Writer
	buf []byte
	err error
}

func newSink(w io.Writer) sink { return sink{w: w, buf: make([]byte, 0, flushAt+4096)} }

// maybeFlush writes the buffer out once it is large enough.
func (s *sink) maybeFlush() error {
	if len(s.buf) >= flushAt {
		return s.flush()
	}
	return s.err
}

// flush writes everything buffered.
func (s *sink) flush() error {
	if s.err != nil {
		return s.err
	}
	if len(s.buf) > 0 {
		if _, err := s.w.Write(s.buf); err != nil {
			s.err = fmt.Errorf("output: write: %w", err)
		}
		s.buf = s.buf[:0]
	}
	return s.err
}

// csvNeedsQuote marks the bytes that force a CSV field into quotes.
var csvNeedsQuote = [256]bool{',': true, '"': true, '\n': true, '\r': true}

// appendCSV appends a non-NULL text field, quoted when RFC 4180 requires it.
// The empty string is written as "" so that it differs from NULL.
func appendCSV(dst, v []byte) []byte {
	quote := len(v) == 0
	for _, c := range v {
		if csvNeedsQuote[c] {
			quote = true
			break
		}
	}
	if !quote {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for {
		i := indexByte(v, '"')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '"')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}

func indexByte(v []byte, c byte) int {
	for i, b := range v {
		if b == c {
			return i
		}
	}
	return -1
}

// jsonSafe marks the ASCII bytes that go into a JSON string unescaped.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends v as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD; U+2028 and U+2029 are escaped, as encoding/json does.
func appendJSONString[T []byte | string](dst []byte, v T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, v[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, v[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, v[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, v[start:]...)
	return append(dst, '"')
}

// decodeRune decodes the first rune of v without converting v (which would
// copy a []byte to a string or the reverse).
func decodeRune[T []byte | string](v T) (rune, int) {
	var b [utf8.UTFMax]byte
	n := copy(b[:], v)
	return utf8.DecodeRune(b[:n])
}

// appendEpoch appends epoch seconds as an RFC 3339 UTC time.
func appendEpoch(dst []byte, sec int64) []byte {
	return time.Unix(sec, 0).UTC().AppendFormat(dst, time.RFC3339)
}

// appendFloat appends f the way encoding/json does: the shortest
// representation, in exponent form only for very large or small values.
// NaN and infinities are written as text; JSON callers check first.
func appendFloat(dst []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendBytesText appends a byte string: as is when it is valid UTF-8,
// otherwise as \x followed by hex digits.
func appendBytesText(dst, v []byte) []byte {
	if utf8.Valid(v) {
		return append(dst, v...)
	}
	dst = append(dst, '\\', 'x')
	return appendHex(dst, v)
}

// floater is implemented by decimal types such as duckdb.Decimal.
type floater interface{ Float64() float64 }

// appendText appends the text form of a generic value for CSV and tables.
// It reports false for NULL (nil, a nil pointer, an invalid address).
// Epoch columns are written as numbers here; tables convert them.
// Composite values (lists, maps, structs) are written as JSON text.
func appendText(dst []byte, v any, t Type) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return dst, false
	case string:
		return append(dst, x...), true
	case []byte:
		if x == nil {
			return dst, false
		}
		return appendBytesText(dst, x), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case float64:
		return appendFloat(dst, x, 64), true
	case float32:
		return appendFloat(dst, float64(x), 32), true
	case bool:
		return strconv.AppendBool(dst, x), true
	case time.Time:
		if t == TypeDate {
			return x.AppendFormat(dst, time.DateOnly), true
		}
		return x.AppendFormat(dst, time.RFC3339Nano), true
	case netip.Addr:
		if !x.IsValid() {
			return dst, false
		}
		return x.AppendTo(dst), true
	case *big.Int:
		if x == nil {
			return dst, false
		}
		return x.Append(dst, 10), true
	case fmt.Stringer:
		if isNilPointer(v) {
			return dst, false
		}
		return append(dst, x.String()...), true
	case error:
		return append(dst, x.Error()...), true
	}
	if e, ok := deref(v); ok {
		return appendText(dst, e, t)
	} else if e == nil {
		return dst, false
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		// Lists, maps and structs (DuckDB LIST, MAP, STRUCT) read best as
		// JSON text.
		if b, err := json.Marshal(v); err == nil {
			return append(dst, b...), true
		}
	}
	return fmt.Append(dst, v), true
}

// appendJSONValue appends a generic value as JSON. Numbers stay numbers
// (NaN and infinities become null), times and addresses are strings, and
// composite values (lists, maps, structs) go through encoding/json.
func appendJSONValue(dst []byte, v any, t Type) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendJSONString(dst, x)
	case []byte:
		if x == nil {
			return append(dst, "null"...)
		}
		if utf8.Valid(x) {
			return appendJSONString(dst, x)
		}
		// The text form \x0102..., as a JSON string.
		dst = append(dst, '"', '\\', '\\', 'x')
		dst = appendHex(dst, x)
		return append(dst, '"')
	case int64, int32, int, int16, int8, uint64, uint32, uint, uint16, uint8, *big.Int:
		out, ok := appendText(dst, v, t)
		if !ok {
			return append(dst, "null"...)
		}
		return out
	case float64:
		return appendJSONFloat(dst, x, 64)
	case float32:
		return appendJSONFloat(dst, float64(x), 32)
	case bool:
		return strconv.AppendBool(dst, x)
	case time.Time:
		dst = append(dst, '"')
		dst, _ = appendText(dst, x, t)
		return append(dst, '"')
	case netip.Addr:
		if !x.IsValid() {
			return append(dst, "null"...)
		}
		dst = append(dst, '"')
		dst = x.AppendTo(dst)
		return append(dst, '"')
	}
	if isNilPointer(v) {
		return append(dst, "null"...)
	}
	if f, ok := v.(floater); ok {
		// A decimal: its exact text when that is a JSON number.
		if s, ok := v.(fmt.Stringer); ok {
			if str := s.String(); isJSONNumber(str) {
				return append(dst, str...)
			}
		}
		return appendJSONFloat(dst, f.Float64(), 64)
	}
	if s, ok := v.(fmt.Stringer); ok {
		if _, isMarshaler := v.(json.Marshaler); !isMarshaler {
			return appendJSONString(dst, s.String())
		}
	}
	if e, ok := deref(v); ok {
		return appendJSONValue(dst, e, t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return appendJSONString(dst, fmt.Sprint(v))
	}
	return append(dst, b...)
}

func appendHex(dst, v []byte) []byte {
	for _, c := range v {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return appendFloat(dst, f, bits)
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

// isNilPointer reports whether v is a typed nil pointer, map, slice or
// interface.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// deref follows a pointer (such as *int64 or *string from a typed Scan). It
// returns (nil, false) for a nil pointer and (v, false) for non-pointers
// and *big.Int.
func deref(v any) (any, bool) {
	if _, ok := v.(*big.Int); ok {
		return v, false // a value in its own right
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		return v, false
	}
	if rv.IsNil() {
		return nil, false
	}
	return rv.Elem().Interface(), true
}
