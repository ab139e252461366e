package filter

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a problem in a filter: a syntax error, an unknown field or a
// value of the wrong type. The CLI treats it as a usage error (exit 2).
type Error struct {
	// Pos is the 1-based character position of the problem in Input
	// (len(Input)+1 for "unexpected end of filter").
	Pos int
	// Msg says what is wrong, without the position.
	Msg string
	// Hint, when set, suggests a fix ("did you mean ...").
	Hint string
	// Input is the filter as given.
	Input string
}

// Error renders the message with the position and hint, then the offending line of
// the input with a caret under the position:
//
//	filter: unexpected ")" at position 14
//	  dstport = 22 )
//	               ^
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("filter: ")
	sb.WriteString(e.Msg)
	sb.WriteString(" at position ")
	sb.WriteString(strconv.Itoa(e.Pos))
	if e.Hint != "" {
		sb.WriteString(" (")
		sb.WriteString(e.Hint)
		sb.WriteByte(')')
	}
	line, col := e.line()
	sb.WriteString("\n  ")
	sb.WriteString(line)
	sb.WriteString("\n  ")
	// Copy tabs so the caret lines up however the terminal expands them.
	n := 0
	for _, r := range line {
		if n >= col {
			break
		}
		if r == '\t' {
			sb.WriteByte('\t')
		} else {
			sb.WriteByte(' ')
		}
		n++
	}
	for ; n < col; n++ {
		sb.WriteByte(' ')
	}
	sb.WriteByte('^')
	return sb.String()
}

// line returns the input line holding Pos and the 0-based rune column of
// Pos in it.
func (e *Error) line() (string, int) {
	s := e.Input
	// Byte offset of the Pos-th rune.
	off, n := len(s), 1
	for i := range s {
		if n == e.Pos {
			off = i
			break
		}
		n++
	}
	start := strings.LastIndexByte(s[:off], '\n') + 1
	end := len(s)
	if i := strings.IndexByte(s[off:], '\n'); i >= 0 {
		end = off + i
	}
	line := strings.TrimSuffix(s[start:end], "\r")
	return line, utf8.RuneCountInString(s[start:off])
}

// errorAt builds an *Error for byte offset off of src.
func errorAt(src string, off int, msg string) *Error {
	off = max(0, min(off, len(src)))
	return &Error{Pos: utf8.RuneCountInString(src[:off]) + 1, Msg: msg, Input: src}
}
