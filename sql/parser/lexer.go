package parser

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sqld/sqld/sql/pgerror"
)

// tokKind classifies a token.
type tokKind uint8

const (
	tkEOF    tokKind = iota
	tkIdent          // unquoted word; val is lower-cased
	tkQIdent         // "quoted" identifier; val is the content
	tkString         // string constant; val is the decoded value
	tkNumber         // numeric constant; val is the text
	tkParam          // $n; val is the digits
	tkOp             // operator or punctuation; val is the text
)

// token is one lexical token of the input. pos and end are byte offsets
// into the whole input; synthetic tokens made by the parser copy the
// position of a nearby real token.
type token struct {
	kind tokKind
	val  string
	pos  int
	end  int
}

func (t token) is(word string) bool { return t.kind == tkIdent && t.val == word }
func (t token) isOp(op string) bool { return t.kind == tkOp && t.val == op }

// lex splits src into tokens. It never panics; an unterminated quote or
// comment is a syntax error.
func lex(src string) ([]token, error) {
	toks := make([]token, 0, len(src)/4+4)
	i := 0
	n := len(src)
	for i < n {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && src[i+1] == '-':
			for i < n && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && src[i+1] == '*':
			start := i
			depth := 0
			for {
				if i+1 >= n {
					return nil, lexError(src, start, "unterminated /* comment")
				}
				if src[i] == '/' && src[i+1] == '*' {
					depth++
					i += 2
					continue
				}
				if src[i] == '*' && src[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
		case c == '\'':
			val, end, err := lexString(src, i, false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tkString, val: val, pos: i, end: end})
			i = end
		case (c == 'e' || c == 'E') && i+1 < n && src[i+1] == '\'':
			val, end, err := lexString(src, i+1, true)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tkString, val: val, pos: i, end: end})
			i = end
		case c == '"':
			var sb strings.Builder
			j := i + 1
			for {
				if j >= n {
					return nil, lexError(src, i, "unterminated quoted identifier")
				}
				if src[j] == '"' {
					if j+1 < n && src[j+1] == '"' {
						sb.WriteByte('"')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(src[j])
				j++
			}
			if sb.Len() == 0 {
				return nil, pgerror.New(pgerror.CodeSyntaxError, "zero-length delimited identifier at or near \"\"\"\"").WithPosition(charPos(src, i))
			}
			toks = append(toks, token{kind: tkQIdent, val: sb.String(), pos: i, end: j + 1})
			i = j + 1
		case c == '$':
			if i+1 < n && isDigit(src[i+1]) {
				j := i + 1
				for j < n && isDigit(src[j]) {
					j++
				}
				toks = append(toks, token{kind: tkParam, val: src[i+1 : j], pos: i, end: j})
				i = j
				continue
			}
			// Dollar quoting: $tag$ ... $tag$.
			j := i + 1
			for j < n && src[j] < 0x80 && (isIdentStart(src[j]) || isDigit(src[j])) {
				j++
			}
			if j < n && src[j] == '$' {
				delim := src[i : j+1]
				k := strings.Index(src[j+1:], delim)
				if k < 0 {
					return nil, lexError(src, i, "unterminated dollar-quoted string")
				}
				body := src[j+1 : j+1+k]
				end := j + 1 + k + len(delim)
				toks = append(toks, token{kind: tkString, val: body, pos: i, end: end})
				i = end
				continue
			}
			toks = append(toks, token{kind: tkOp, val: "$", pos: i, end: i + 1})
			i++
		case isDigit(c) || (c == '.' && i+1 < n && isDigit(src[i+1])):
			j := i
			for j < n && isDigit(src[j]) {
				j++
			}
			if j < n && src[j] == '.' && !(j+1 < n && src[j+1] == '.') {
				j++
				for j < n && isDigit(src[j]) {
					j++
				}
			}
			if j < n && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < n && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < n && isDigit(src[k]) {
					for k < n && isDigit(src[k]) {
						k++
					}
					j = k
				}
			}
			toks = append(toks, token{kind: tkNumber, val: src[i:j], pos: i, end: j})
			i = j
		case isIdentStart(c):
			j := i
			for j < n && (isIdentChar(src[j]) || src[j] >= 0x80) {
				j++
			}
			toks = append(toks, token{kind: tkIdent, val: strings.ToLower(src[i:j]), pos: i, end: j})
			i = j
		default:
			op := lexOp(src[i:])
			if op == "" {
				r, size := utf8.DecodeRuneInString(src[i:])
				_ = r
				return nil, syntaxErrorAt(src, i, src[i:i+size])
			}
			toks = append(toks, token{kind: tkOp, val: op, pos: i, end: i + len(op)})
			i += len(op)
		}
	}
	return toks, nil
}

var multiOps = []string{"!~~*", "!~~", "!~*", "->>", "<=>", "::", "<=", ">=", "<>", "!=", "||", "~*", "!~", "~~", "<<", ">>", "->", "=>", "@>", "<@", "&&"}

func lexOp(s string) string {
	for _, op := range multiOps {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	switch s[0] {
	case '(', ')', '[', ']', ',', ';', '.', '+', '-', '*', '/', '%', '^', '<', '>', '=', '~', '!', '@', '#', '&', '|', ':', '?':
		return s[:1]
	}
	return ""
}

// lexString reads a single-quoted string starting at src[i] == '\”. With
// escapes (E'...'), backslash escapes are decoded.
func lexString(src string, i int, escapes bool) (string, int, error) {
	var sb strings.Builder
	n := len(src)
	j := i + 1
	for {
		if j >= n {
			return "", 0, lexError(src, i, "unterminated quoted string")
		}
		c := src[j]
		if c == '\'' {
			if j+1 < n && src[j+1] == '\'' {
				sb.WriteByte('\'')
				j += 2
				continue
			}
			return sb.String(), j + 1, nil
		}
		if c == '\\' && escapes && j+1 < n {
			j++
			switch e := src[j]; e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'x':
				k := j + 1
				for k < n && k < j+3 && isHex(src[k]) {
					k++
				}
				if k == j+1 {
					sb.WriteByte('x')
				} else {
					v, _ := strconv.ParseUint(src[j+1:k], 16, 8)
					sb.WriteByte(byte(v))
					j = k - 1
				}
			case 'u', 'U':
				width := 4
				if e == 'U' {
					width = 8
				}
				if j+width < n {
					if v, err := strconv.ParseUint(src[j+1:j+1+width], 16, 32); err == nil {
						sb.WriteRune(rune(v))
						j += width
						break
					}
				}
				sb.WriteByte(e)
			default:
				if e >= '0' && e <= '7' {
					k := j
					for k < n && k < j+3 && src[k] >= '0' && src[k] <= '7' {
						k++
					}
					v, _ := strconv.ParseUint(src[j:k], 8, 16)
					sb.WriteByte(byte(v))
					j = k - 1
				} else {
					sb.WriteByte(e)
				}
			}
			j++
			continue
		}
		sb.WriteByte(c)
		j++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// charPos converts a byte offset into a 1-based character position.
func charPos(src string, off int) int {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	return utf8.RuneCountInString(src[:off]) + 1
}

func lexError(src string, off int, msg string) error {
	near := src[off:]
	if len(near) > 40 {
		near = near[:40]
	}
	return pgerror.New(pgerror.CodeSyntaxError, "%s at or near \"%s\"", msg, near).WithPosition(charPos(src, off))
}

// syntaxErrorAt is the Postgres-style syntax error at byte offset off of
// src, near the token text near ("" means the end of the input).
func syntaxErrorAt(src string, off int, near string) *pgerror.Error {
	if near == "" {
		return pgerror.New(pgerror.CodeSyntaxError, "syntax error at end of input").WithPosition(charPos(src, off))
	}
	return pgerror.New(pgerror.CodeSyntaxError, "syntax error at or near \"%s\"", near).WithPosition(charPos(src, off))
}
