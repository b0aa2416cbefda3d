package slt

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Column describes one result column as the server sent it.
type Column struct {
	Name string
	// OID is the Postgres type OID of the column (16 is bool).
	OID uint32
}

const oidBool = 16

// RenderSQLite renders one text value the way SQLite's harness prints it
// for the type letter typ: nil is "NULL"; 'I' prints an integer, truncating
// a fractional value toward zero and reading a bool as 1 or 0; 'R' prints
// "%.3f"; anything else is text, "(empty)" for an empty string and "@" for
// every control or non-ASCII byte.
func RenderSQLite(v []byte, typ byte, col Column) string {
	if v == nil {
		return "NULL"
	}
	s := string(v)
	switch typ {
	case 'I':
		if col.OID == oidBool {
			switch s {
			case "t", "true":
				return "1"
			case "f", "false":
				return "0"
			}
		}
		return renderInt(s)
	case 'R':
		if col.OID == oidBool {
			switch s {
			case "t", "true":
				return "1.000"
			case "f", "false":
				return "0.000"
			}
		}
		f, ok := numericPrefix(s)
		if !ok {
			f = 0
		}
		return fmt.Sprintf("%.3f", f)
	default:
		return renderText(s)
	}
}

// renderInt truncates a numeric text to an integer as a C cast of the
// value would: "107.5" is 107, "-3.9" is -3, text without a numeric
// prefix is 0.
func renderInt(s string) string {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	// Exact decimal truncation keeps digits a float64 would lose.
	if m := decimalRE.FindStringSubmatch(t); m != nil {
		intPart := m[1]
		if intPart == "" || intPart == "-" || intPart == "+" {
			return "0"
		}
		if n, err := strconv.ParseInt(intPart, 10, 64); err == nil {
			return strconv.FormatInt(n, 10)
		}
	}
	f, ok := numericPrefix(t)
	if !ok || math.IsNaN(f) {
		return "0"
	}
	if f >= math.MaxInt64 {
		return strconv.FormatInt(math.MaxInt64, 10)
	}
	if f <= math.MinInt64 {
		return strconv.FormatInt(math.MinInt64, 10)
	}
	return strconv.FormatInt(int64(f), 10)
}

var (
	decimalRE       = regexp.MustCompile(`^([+-]?[0-9]*)\.[0-9]*$`)
	numericPrefixRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?`)
)

// numericPrefix reads the longest numeric prefix of s, as SQLite converts
// text to a number.
func numericPrefix(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	m := numericPrefixRE.FindString(s)
	if m == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(m, 64)
	return f, err == nil
}

func renderText(s string) string {
	if s == "" {
		return "(empty)"
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = '@'
		}
	}
	return string(b)
}

// RenderRS renders one value for a sqllogictest-rs file: the server's text
// as is, "NULL" for null and "(empty)" for an empty string.
func RenderRS(v []byte) string {
	switch {
	case v == nil:
		return "NULL"
	case len(v) == 0:
		return "(empty)"
	}
	return string(v)
}

// SortRows orders rows by their rendered values, column by column, with
// byte-wise string comparison.
func SortRows(rows [][]string) {
	slices.SortStableFunc(rows, func(a, b []string) int { return slices.Compare(a, b) })
}

// Flatten returns the values of rows in order.
func Flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// Hash returns the MD5 of the values, each followed by a newline, in hex.
func Hash(values []string) string {
	h := md5.New()
	for _, v := range values {
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HashLine is the result line that stands for values over the hash
// threshold.
func HashLine(values []string) string {
	return fmt.Sprintf("%d values hashing to %s", len(values), Hash(values))
}

var hashLineRE = regexp.MustCompile(`^\s*([0-9]+) values hashing to ([0-9a-fA-F]{32})\s*$`)

// parseHashLine reports whether the expected lines are one hash line.
func parseHashLine(lines []string) (n int, hash string, ok bool) {
	if len(lines) != 1 {
		return 0, "", false
	}
	m := hashLineRE.FindStringSubmatch(lines[0])
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", false
	}
	return n, strings.ToLower(m[2]), true
}

// normalizeRow collapses runs of whitespace to one space and trims.
func normalizeRow(s string) string { return strings.Join(strings.Fields(s), " ") }
