package filter

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokOp
	tokLParen
	tokRParen
	tokComma
)

// token is one lexical token. For tokString text is the unquoted value; for
// every other kind it is the source text.
type token struct {
	kind tokKind
	text string
	off  int // byte offset in the source
}

// describe names the token for "unexpected ..." messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of filter"
	case tokString:
		return "string " + quote(t.text)
	}
	return quote(t.text)
}

// isKeyword reports whether lower-case w is reserved by the grammar.
func isKeyword(w string) bool {
	switch w {
	case "and", "or", "not", "in", "null", "true", "false":
		return true
	}
	return false
}

// isDelim reports whether r ends a bare word.
func isDelim(r rune) bool {
	switch r {
	case '(', ')', ',', '=', '!', '<', '>', '"', '\'':
		return true
	}
	return unicode.IsSpace(r)
}

// lex splits src into tokens. Bare words run until whitespace or one of
// ( ) , = ! < > " ' so that addresses (2001:db8::/32), ranges (1000..2000),
// times (2024-01-01T00:00:00Z) and dotted or dashed names (src.internal,
// log-status, eni-0a1b) are single words.
func lex(src string) ([]token, *Error) {
	if !utf8.ValidString(src) {
		for i := 0; i < len(src); {
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, errorAt(src, i, "invalid UTF-8")
			}
			i += size
		}
	}
	var toks []token
	i := 0
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		start := i
		switch r {
		case '(':
			toks = append(toks, token{tokLParen, "(", start})
			i++
		case ')':
			toks = append(toks, token{tokRParen, ")", start})
			i++
		case ',':
			toks = append(toks, token{tokComma, ",", start})
			i++
		case '=':
			i++
			if i < len(src) && src[i] == '=' {
				i++
			}
			toks = append(toks, token{tokOp, "=", start})
		case '!':
			if i+1 < len(src) && src[i+1] == '=' {
				toks = append(toks, token{tokOp, "!=", start})
				i += 2
				continue
			}
			return nil, errorAt(src, start, `unexpected "!" (use "not" or "!=")`)
		case '<':
			i++
			op := "<"
			if i < len(src) && src[i] == '=' {
				op, i = "<=", i+1
			} else if i < len(src) && src[i] == '>' {
				op, i = "!=", i+1
			}
			toks = append(toks, token{tokOp, op, start})
		case '>':
			i++
			op := ">"
			if i < len(src) && src[i] == '=' {
				op, i = ">=", i+1
			}
			toks = append(toks, token{tokOp, op, start})
		case '"', '\'':
			s, n, err := unquote(src, start)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, s, start})
			i = n
		default:
			for i < len(src) {
				r, size := utf8.DecodeRuneInString(src[i:])
				if isDelim(r) {
					break
				}
				i += size
			}
			toks = append(toks, token{tokWord, src[start:i], start})
		}
	}
	toks = append(toks, token{tokEOF, "", len(src)})
	return toks, nil
}

// unquote reads the quoted string starting at src[start] (a " or '). A
// backslash escapes the next character (\" \' \\). It returns the value and
// the offset after the closing quote.
func unquote(src string, start int) (string, int, *Error) {
	q := src[start]
	var sb strings.Builder
	for i := start + 1; i < len(src); i++ {
		c := src[i]
		switch {
		case c == q:
			return sb.String(), i + 1, nil
		case c == '\\':
			if i+1 >= len(src) {
				return "", 0, errorAt(src, start, "unterminated string")
			}
			i++
			sb.WriteByte(src[i])
		default:
			sb.WriteByte(c)
		}
	}
	return "", 0, errorAt(src, start, "unterminated string")
}

// quote renders s as a double-quoted filter string, escaping " and \.
func quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteByte(s[i])
	}
	sb.WriteByte('"')
	return sb.String()
}
