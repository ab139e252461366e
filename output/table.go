package output

import (
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// Table layout limits.
var (
	// tableSampleRows is how many rows the table writer holds to size its
	// columns before it starts printing; later rows use the same widths.
	tableSampleRows = 1000
	// tableSampleBytes bounds the memory those rows may take.
	tableSampleBytes = 4 << 20
)

const (
	// tableMaxWidth caps the width of every column but the last, in
	// terminal cells; longer text is cut and ends in "…".
	tableMaxWidth = 64
	// tableNull is how a table shows NULL, as flow logs do.
	tableNull = "-"
	// tableGap separates columns.
	tableGap = "  "
)

// table lays out rows of text cells in aligned columns. It holds the first
// rows (up to tableSampleRows or tableSampleBytes) to size the columns,
// prints them, and then streams the rest with the same widths: text that
// does not fit is truncated, while numbers, addresses and times (exact
// columns) are never cut and overflow their column instead.
//
// Cells are sanitised: control characters, invalid UTF-8 and C1 controls
// are shown escaped (\n, \x1b, \u0085), so data cannot move the cursor or
// send escape sequences to the terminal.
type table struct {
	out    sink
	names  []string
	right  []bool // right-aligned (numbers)
	exact  []bool // never truncated
	widths []int  // widest cell while sampling; the layout afterwards

	sampling bool
	arena    []byte // sanitised cells of the sampled rows
	ends     []int  // end offset of each sampled cell in arena
	cellW    []int  // display width of each sampled cell
	nSampled int

	col     int // next column of the current row
	rows    int64
	scratch []byte
	closed  bool
}

func newTable(w io.Writer, names []string, right, exact []bool) *table {
	t := &table{
		out:      newSink(w),
		names:    names,
		right:    right,
		exact:    exact,
		widths:   make([]int, len(names)),
		sampling: true,
	}
	for j, n := range names {
		t.widths[j] = displayWidth(sanitize(nil, []byte(n)))
	}
	return t
}

// cell adds the next cell of the current row.
func (t *table) cell(v []byte) {
	j := t.col
	t.col++
	if t.sampling {
		start := len(t.arena)
		t.arena = sanitize(t.arena, v)
		w := displayWidth(t.arena[start:])
		t.ends = append(t.ends, len(t.arena))
		t.cellW = append(t.cellW, w)
		t.widths[j] = max(t.widths[j], w)
		return
	}
	t.scratch = sanitize(t.scratch[:0], v)
	t.out.buf = t.appendCell(t.out.buf, j, t.scratch, displayWidth(t.scratch))
}

// null adds a NULL cell.
func (t *table) null() { t.cell([]byte(tableNull)) }

// endRow finishes the current row.
func (t *table) endRow() error {
	t.col = 0
	t.rows++
	if t.sampling {
		t.nSampled++
		if t.nSampled >= tableSampleRows || len(t.arena) >= tableSampleBytes {
			t.printSample()
		}
		return t.out.maybeFlush()
	}
	t.out.buf = append(t.out.buf, '\n')
	return t.out.maybeFlush()
}

// printSample fixes the layout and prints the header and the held rows.
func (t *table) printSample() {
	last := len(t.widths) - 1
	for j := range t.widths {
		if j < last && !t.exact[j] {
			t.widths[j] = min(t.widths[j], tableMaxWidth)
		}
	}
	t.sampling = false
	for j, n := range t.names {
		s := sanitize(nil, []byte(n))
		t.out.buf = t.appendCell(t.out.buf, j, s, displayWidth(s))
	}
	t.out.buf = append(t.out.buf, '\n')
	for j, w := range t.widths {
		if j > 0 {
			t.out.buf = append(t.out.buf, tableGap...)
		}
		if j == last {
			w = min(w, tableMaxWidth) // the last column is not cut: keep the rule short
		}
		for range w {
			t.out.buf = append(t.out.buf, '-')
		}
	}
	t.out.buf = append(t.out.buf, '\n')
	start := 0
	for k := range t.ends {
		j := k % len(t.names)
		t.out.buf = t.appendCell(t.out.buf, j, t.arena[start:t.ends[k]], t.cellW[k])
		if j == last {
			t.out.buf = append(t.out.buf, '\n')
		}
		start = t.ends[k]
		if len(t.out.buf) >= flushAt {
			if t.out.flush() != nil {
				break
			}
		}
	}
	t.arena, t.ends, t.cellW = nil, nil, nil
}

// appendCell appends cell s of column j, w cells wide, padded (or cut) to
// the column's width, with the gap before it.
func (t *table) appendCell(dst []byte, j int, s []byte, w int) []byte {
	if j > 0 {
		dst = append(dst, tableGap...)
	}
	width := t.widths[j]
	last := j == len(t.widths)-1
	if w > width && !t.exact[j] && !last {
		s, w = truncate(s, width)
	}
	pad := max(width-w, 0)
	if t.right[j] {
		dst = appendSpaces(dst, pad)
		return append(dst, s...)
	}
	dst = append(dst, s...)
	if !last {
		dst = appendSpaces(dst, pad)
	}
	return dst
}

// close prints what is held and a row-count footer.
func (t *table) close() error {
	if t.closed {
		return t.out.err
	}
	t.closed = true
	if t.sampling {
		t.printSample()
	}
	t.out.buf = append(t.out.buf, '(')
	t.out.buf = strconv.AppendInt(t.out.buf, t.rows, 10)
	if t.rows == 1 {
		t.out.buf = append(t.out.buf, " row)\n"...)
	} else {
		t.out.buf = append(t.out.buf, " rows)\n"...)
	}
	return t.out.flush()
}

func appendSpaces(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, ' ')
	}
	return dst
}

// sanitize appends v with control characters, C1 controls and invalid
// UTF-8 escaped.
func sanitize(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case r >= 0x80 && r <= 0x9f:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		default:
			dst = append(dst, v[i:i+size]...)
		}
		i += size
	}
	return dst
}

// displayWidth is the number of terminal cells s takes.
func displayWidth(s []byte) int {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return uniseg.StringWidth(string(s))
		}
	}
	return len(s)
}

// truncate cuts s to at most width cells, ending in "…".
func truncate(s []byte, width int) ([]byte, int) {
	if width <= 0 {
		return nil, 0
	}
	out := make([]byte, 0, len(s))
	w := 0
	state := -1
	rest := s
	for len(rest) > 0 {
		var cluster []byte
		var cw int
		cluster, rest, cw, state = uniseg.FirstGraphemeCluster(rest, state)
		if w+cw > width-1 {
			break
		}
		out = append(out, cluster...)
		w += cw
	}
	return append(out, "…"...), w + 1
}

// tableRecords renders flow-record batches as a table.
type tableRecords struct {
	projection
	t    *table
	cell []byte
}

func newTableRecords(w io.Writer, fields []int) *tableRecords {
	names := make([]string, len(fields))
	right := make([]bool, len(fields))
	exact := make([]bool, len(fields))
	for j, id := range fields {
		f := schema.Fields[id]
		names[j] = f.Column
		right[j] = f.Type == schema.Int32 || f.Type == schema.Int64
		exact[j] = f.Type != schema.String
	}
	return &tableRecords{projection: newProjection(fields), t: newTable(w, names, right, exact)}
}

// WriteBatch adds the batch's rows.
func (r *tableRecords) WriteBatch(b *flowlog.Batch) error {
	if r.t.closed {
		return ErrClosed
	}
	r.bind(b)
	defer r.release()
	for i := 0; i < b.N; i++ {
		for j, col := range r.cols {
			if col == nil || !col.Valid[i] {
				r.t.null()
				continue
			}
			switch r.types[j] {
			case schema.String:
				r.t.cell(col.Data[col.Offs[i]:col.Offs[i+1]])
				continue
			case schema.IP:
				r.cell = col.IPs[i].AppendTo(r.cell[:0])
			case schema.Time:
				r.cell = appendEpoch(r.cell[:0], col.Ints[i])
			default:
				r.cell = strconv.AppendInt(r.cell[:0], col.Ints[i], 10)
			}
			r.t.cell(r.cell)
		}
		if err := r.t.endRow(); err != nil {
			return err
		}
	}
	return nil
}

// Close prints the held rows and the footer.
func (r *tableRecords) Close() error { return r.t.close() }

// tableResults renders a generic result as a table.
type tableResults struct {
	cols []Column
	t    *table
	cell []byte
}

func newTableResults(w io.Writer, cols []Column) *tableResults {
	names := make([]string, len(cols))
	right := make([]bool, len(cols))
	exact := make([]bool, len(cols))
	for j, c := range cols {
		names[j] = c.Name
		right[j] = c.Type.numeric()
		exact[j] = c.Type != TypeString && c.Type != TypeBytes
	}
	return &tableResults{cols: cols, t: newTable(w, names, right, exact)}
}

// WriteRow adds one row.
func (r *tableResults) WriteRow(row []any) error {
	if r.t.closed {
		return ErrClosed
	}
	if err := checkRow(row, r.cols); err != nil {
		return err
	}
	for j, v := range row {
		var ok bool
		if r.cols[j].Type == TypeEpoch {
			if sec, isInt := toInt64(v); isInt {
				r.cell, ok = appendEpoch(r.cell[:0], sec), true
			} else {
				r.cell, ok = appendText(r.cell[:0], v, r.cols[j].Type)
			}
		} else {
			r.cell, ok = appendText(r.cell[:0], v, r.cols[j].Type)
		}
		if !ok {
			r.t.null()
			continue
		}
		r.t.cell(r.cell)
	}
	return r.t.endRow()
}

// Close prints the held rows and the footer.
func (r *tableResults) Close() error { return r.t.close() }
