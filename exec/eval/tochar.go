package eval

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

func init() {
	reg(func(call *planner.Call) (rowFn, error) {
		t := call.Fn.Args[0]
		var last atomic.Pointer[toCharProgram]
		return func(c *ctx, a []any) (any, error) {
			us, err := timeArg(t, a[0])
			if err != nil {
				return nil, err
			}
			format := toS(a[1])
			p := last.Load()
			if p == nil || p.format != format {
				p = compileToChar(format)
				last.Store(p)
			}
			return p.run(us), nil
		}, nil
	}, "to_char")
}

// toCharPatterns are the template patterns of Postgres's to_char for
// dates and times, longest first so that a prefix never wins. Patterns
// of numbers match in either case (yyyy is YYYY); those of names give the
// name's case (MONTH, Month, month). date marks the patterns that depend
// on the date alone.
var toCharPatterns = []struct {
	pat  string
	fold bool
	date bool
	fn   func(t time.Time) string
}{
	{"YYYY", true, true, func(t time.Time) string { return zpad(t.Year(), 4) }},
	{"HH24", true, false, func(t time.Time) string { return zpad(t.Hour(), 2) }},
	{"HH12", true, false, func(t time.Time) string { return zpad(hour12(t), 2) }},
	{"MONTH", false, true, func(t time.Time) string { return strings.ToUpper(padRight(t.Month().String(), 9)) }},
	{"Month", false, true, func(t time.Time) string { return padRight(t.Month().String(), 9) }},
	{"month", false, true, func(t time.Time) string { return strings.ToLower(padRight(t.Month().String(), 9)) }},
	{"DAY", false, true, func(t time.Time) string { return strings.ToUpper(padRight(t.Weekday().String(), 9)) }},
	{"Day", false, true, func(t time.Time) string { return padRight(t.Weekday().String(), 9) }},
	{"day", false, true, func(t time.Time) string { return strings.ToLower(padRight(t.Weekday().String(), 9)) }},
	{"MON", false, true, func(t time.Time) string { return strings.ToUpper(t.Month().String()[:3]) }},
	{"Mon", false, true, func(t time.Time) string { return t.Month().String()[:3] }},
	{"mon", false, true, func(t time.Time) string { return strings.ToLower(t.Month().String()[:3]) }},
	{"DY", false, true, func(t time.Time) string { return strings.ToUpper(t.Weekday().String()[:3]) }},
	{"Dy", false, true, func(t time.Time) string { return t.Weekday().String()[:3] }},
	{"dy", false, true, func(t time.Time) string { return strings.ToLower(t.Weekday().String()[:3]) }},
	{"DDD", true, true, func(t time.Time) string { return zpad(t.YearDay(), 3) }},
	{"YYY", true, true, func(t time.Time) string { return zpad(t.Year()%1000, 3) }},
	{"MS", true, false, func(t time.Time) string { return zpad(t.Nanosecond()/1e6, 3) }},
	{"US", true, false, func(t time.Time) string { return zpad(t.Nanosecond()/1e3, 6) }},
	{"YY", true, true, func(t time.Time) string { return zpad(t.Year()%100, 2) }},
	{"MM", true, true, func(t time.Time) string { return zpad(int(t.Month()), 2) }},
	{"DD", true, true, func(t time.Time) string { return zpad(t.Day(), 2) }},
	{"HH", true, false, func(t time.Time) string { return zpad(hour12(t), 2) }},
	{"MI", true, false, func(t time.Time) string { return zpad(t.Minute(), 2) }},
	{"SS", true, false, func(t time.Time) string { return zpad(t.Second(), 2) }},
	{"AM", false, false, func(t time.Time) string { return ampm(t, "AM", "PM") }},
	{"PM", false, false, func(t time.Time) string { return ampm(t, "AM", "PM") }},
	{"am", false, false, func(t time.Time) string { return ampm(t, "am", "pm") }},
	{"pm", false, false, func(t time.Time) string { return ampm(t, "am", "pm") }},
	{"Q", true, true, func(t time.Time) string { return zpad((int(t.Month())-1)/3+1, 1) }},
	{"Y", true, true, func(t time.Time) string { return zpad(t.Year()%10, 1) }},
	{"D", true, true, func(t time.Time) string { return zpad(int(t.Weekday())+1, 1) }},
}

// toCharPart is a literal (fn nil) or a pattern of a compiled template.
type toCharPart struct {
	lit string
	fn  func(t time.Time) string
}

// toCharProgram is a to_char template compiled once. When every pattern
// depends on the date alone, it keeps the last day's text.
type toCharProgram struct {
	format   string
	parts    []toCharPart
	pats     []string // the patterns matched, in order
	dateOnly bool
	mu       sync.Mutex
	day      int64
	dayText  string
	dayValid bool
}

func compileToChar(format string) *toCharProgram {
	p := &toCharProgram{format: format, dateOnly: true}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, toCharPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); {
		if format[i] == '"' {
			j := strings.IndexByte(format[i+1:], '"')
			if j < 0 {
				lit.WriteString(format[i+1:])
				break
			}
			lit.WriteString(format[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, pt := range toCharPatterns {
			rest := format[i:]
			if len(rest) < len(pt.pat) {
				continue
			}
			head := rest[:len(pt.pat)]
			if head == pt.pat || pt.fold && strings.EqualFold(head, pt.pat) {
				flush()
				p.parts = append(p.parts, toCharPart{fn: pt.fn})
				p.pats = append(p.pats, head)
				p.dateOnly = p.dateOnly && pt.date
				i += len(pt.pat)
				matched = true
				break
			}
		}
		if !matched {
			lit.WriteByte(format[i])
			i++
		}
	}
	flush()
	return p
}

func (p *toCharProgram) format1(t time.Time) string {
	var sb strings.Builder
	for _, part := range p.parts {
		if part.fn == nil {
			sb.WriteString(part.lit)
		} else {
			sb.WriteString(part.fn(t))
		}
	}
	return sb.String()
}

// run formats the timestamp us (microseconds since the epoch, UTC).
func (p *toCharProgram) run(us int64) string {
	if !p.dateOnly {
		return p.format1(time.UnixMicro(us).UTC())
	}
	day := us / usPerDay
	if us < 0 && us%usPerDay != 0 {
		day--
	}
	p.mu.Lock()
	if p.dayValid && p.day == day {
		s := p.dayText
		p.mu.Unlock()
		return s
	}
	p.mu.Unlock()
	s := p.format1(time.UnixMicro(us).UTC())
	p.mu.Lock()
	p.day, p.dayText, p.dayValid = day, s, true
	p.mu.Unlock()
	return s
}

// toChar formats t with a Postgres to_char template. Text in double
// quotes is copied; characters that start no pattern are copied as is.
func toChar(t time.Time, format string) string {
	return compileToChar(format).format1(t)
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
