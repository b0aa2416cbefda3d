package eval

import (
	"strings"
	"time"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

func init() {
	reg(func(call *planner.Call) (rowFn, error) {
		t := call.Fn.Args[0]
		return func(c *ctx, a []any) (any, error) {
			us, err := timeArg(t, a[0])
			if err != nil {
				return nil, err
			}
			return toChar(time.UnixMicro(us).UTC(), toS(a[1])), nil
		}, nil
	}, "to_char")
}

// toCharPatterns are the template patterns of Postgres's to_char for
// dates and times, longest first so that a prefix never wins.
var toCharPatterns = []struct {
	pat string
	fn  func(t time.Time) string
}{
	{"YYYY", func(t time.Time) string { return zpad(t.Year(), 4) }},
	{"HH24", func(t time.Time) string { return zpad(t.Hour(), 2) }},
	{"HH12", func(t time.Time) string { return zpad(hour12(t), 2) }},
	{"MONTH", func(t time.Time) string { return strings.ToUpper(padRight(t.Month().String(), 9)) }},
	{"Month", func(t time.Time) string { return padRight(t.Month().String(), 9) }},
	{"month", func(t time.Time) string { return strings.ToLower(padRight(t.Month().String(), 9)) }},
	{"DAY", func(t time.Time) string { return strings.ToUpper(padRight(t.Weekday().String(), 9)) }},
	{"Day", func(t time.Time) string { return padRight(t.Weekday().String(), 9) }},
	{"day", func(t time.Time) string { return strings.ToLower(padRight(t.Weekday().String(), 9)) }},
	{"MON", func(t time.Time) string { return strings.ToUpper(t.Month().String()[:3]) }},
	{"Mon", func(t time.Time) string { return t.Month().String()[:3] }},
	{"mon", func(t time.Time) string { return strings.ToLower(t.Month().String()[:3]) }},
	{"DY", func(t time.Time) string { return strings.ToUpper(t.Weekday().String()[:3]) }},
	{"Dy", func(t time.Time) string { return t.Weekday().String()[:3] }},
	{"dy", func(t time.Time) string { return strings.ToLower(t.Weekday().String()[:3]) }},
	{"DDD", func(t time.Time) string { return zpad(t.YearDay(), 3) }},
	{"YYY", func(t time.Time) string { return zpad(t.Year()%1000, 3) }},
	{"MS", func(t time.Time) string { return zpad(t.Nanosecond()/1e6, 3) }},
	{"US", func(t time.Time) string { return zpad(t.Nanosecond()/1e3, 6) }},
	{"YY", func(t time.Time) string { return zpad(t.Year()%100, 2) }},
	{"MM", func(t time.Time) string { return zpad(int(t.Month()), 2) }},
	{"DD", func(t time.Time) string { return zpad(t.Day(), 2) }},
	{"HH", func(t time.Time) string { return zpad(hour12(t), 2) }},
	{"MI", func(t time.Time) string { return zpad(t.Minute(), 2) }},
	{"SS", func(t time.Time) string { return zpad(t.Second(), 2) }},
	{"AM", func(t time.Time) string { return ampm(t, "AM", "PM") }},
	{"PM", func(t time.Time) string { return ampm(t, "AM", "PM") }},
	{"am", func(t time.Time) string { return ampm(t, "am", "pm") }},
	{"pm", func(t time.Time) string { return ampm(t, "am", "pm") }},
	{"Q", func(t time.Time) string { return zpad((int(t.Month())-1)/3+1, 1) }},
	{"D", func(t time.Time) string { return zpad(int(t.Weekday())+1, 1) }},
}

// toChar formats t with a Postgres to_char template. Text in double
// quotes is copied; characters that start no pattern are copied as is.
func toChar(t time.Time, format string) string {
	var sb strings.Builder
	for i := 0; i < len(format); {
		if format[i] == '"' {
			j := strings.IndexByte(format[i+1:], '"')
			if j < 0 {
				sb.WriteString(format[i+1:])
				break
			}
			sb.WriteString(format[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, p := range toCharPatterns {
			if strings.HasPrefix(format[i:], p.pat) {
				sb.WriteString(p.fn(t))
				i += len(p.pat)
				matched = true
				break
			}
		}
		if !matched {
			sb.WriteByte(format[i])
			i++
		}
	}
	return sb.String()
}

func zpad(n, width int) string {
	s := toCharItoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func toCharItoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func padRight(s string, width int) string {
	for len(s) < width {
		s += " "
	}
	return s
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

func ampm(t time.Time, am, pm string) string {
	if t.Hour() < 12 {
		return am
	}
	return pm
}

var _ = catalog.TypeText
