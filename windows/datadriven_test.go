package windows

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
)

// acc is the accumulator the tests keep per window and key.
type acc struct{ count, sum int64 }

func mergeAcc(into, from *acc) { into.count += from.count; into.sum += from.sum }

func (a *acc) add(v int64) { a.count++; a.sum += v }

type ddHarness struct {
	mem    *memory.CheckedAllocator
	tumble *Tumble
	hop    *Hop
	ws     *WindowState[acc]
	ss     *SessionState[acc]
	tr     *Tracker
	cb     *Combiner
}

// parseTime reads a time or duration as written in test files: "NULL",
// "-inf", "+inf", a plain integer (microseconds), a Go duration ("10s",
// "-1m30s", "500ms", "3us") counted from the epoch, or a UTC date-time
// ("2022-01-01 10:00:05", optionally with 'T' and fractional seconds).
func parseTime(s string) (v int64, null bool, err error) {
	s = strings.TrimSpace(s)
	switch s {
	case "NULL":
		return 0, true, nil
	case "-inf":
		return math.MinInt64, false, nil
	case "+inf", "inf":
		return math.MaxInt64, false, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, false, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d.Microseconds(), false, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMicro(), false, nil
		}
	}
	return 0, false, fmt.Errorf("cannot parse time %q", s)
}

// fmtTime prints a time the way the test files write it: a duration from
// the epoch when within a year of it, else a UTC date-time.
func fmtTime(t int64) string {
	const year = 365 * 24 * 3600 * 1_000_000
	switch {
	case t == math.MinInt64:
		return "-inf"
	case t == math.MaxInt64:
		return "+inf"
	case t > -year && t < year:
		return time.Duration(t * 1000).String()
	}
	return time.UnixMicro(t).UTC().Format("2006-01-02 15:04:05.999999")
}

func fmtWindow(w Window) string { return "[" + fmtTime(w.Start) + ", " + fmtTime(w.End) + ")" }

func fmtEntries(es []Entry[acc]) string {
	if len(es) == 0 {
		return "(none)\n"
	}
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s count=%d sum=%d\n", fmtWindow(e.Window), e.Key, e.Value.count, e.Value.sum)
	}
	return b.String()
}

func timeArg(td *datadriven.TestData, key string) (int64, bool, error) {
	a, ok := td.Arg(key)
	if !ok {
		return 0, false, nil
	}
	if len(a.Vals) != 1 {
		return 0, true, fmt.Errorf("%s wants one value", key)
	}
	v, null, err := parseTime(a.Vals[0])
	if err == nil && null {
		err = fmt.Errorf("%s must not be NULL", key)
	}
	return v, true, err
}

func mustTimeArg(td *datadriven.TestData, key string) (int64, error) {
	v, ok, err := timeArg(td, key)
	if err == nil && !ok {
		err = fmt.Errorf("missing %s=", key)
	}
	return v, err
}

func emitArg(td *datadriven.TestData) (EmitMode, error) {
	a, ok := td.Arg("emit")
	if !ok {
		return EmitOnUpdate, nil
	}
	switch a.Vals[0] {
	case "update":
		return EmitOnUpdate, nil
	case "close":
		return EmitOnWindowClose, nil
	}
	return 0, fmt.Errorf("unknown emit=%s", a.Vals[0])
}

// timesArray builds a TIMESTAMP(µs) array from lines of times.
func timesArray(mem memory.Allocator, lines []string) (*array.Timestamp, error) {
	b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	defer b.Release()
	for _, l := range lines {
		v, null, err := parseTime(l)
		if err != nil {
			return nil, err
		}
		if null {
			b.AppendNull()
		} else {
			b.Append(arrow.Timestamp(v))
		}
	}
	return b.NewTimestampArray(), nil
}

func inputLines(td *datadriven.TestData) []string {
	var out []string
	for _, l := range strings.Split(td.Input, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// row splits "key time [value]"; the time may contain one space
// (a date-time), so the value, if any, is the last field after it.
func parseRow(l string) (key string, t int64, value int64, err error) {
	f := strings.Fields(l)
	if len(f) < 2 {
		return "", 0, 0, fmt.Errorf("want key time [value], got %q", l)
	}
	key, f = f[0], f[1:]
	value = 1
	if len(f) == 2 && !strings.Contains(f[1], ":") || len(f) == 3 {
		if value, err = strconv.ParseInt(f[len(f)-1], 10, 64); err != nil {
			return "", 0, 0, err
		}
		f = f[:len(f)-1]
	}
	var null bool
	t, null, err = parseTime(strings.Join(f, " "))
	if err == nil && null {
		err = fmt.Errorf("NULL time in %q", l)
	}
	return key, t, value, err
}

func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if strings.Contains(path, "fuzz") {
			return // go test's fuzz corpus, not a datadriven file
		}
		h := &ddHarness{mem: memory.NewCheckedAllocator(memory.NewGoAllocator())}
		defer h.mem.AssertSize(t, 0)
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			out, err := h.run(t, td)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

func (h *ddHarness) run(t *testing.T, td *datadriven.TestData) (string, error) {
	switch td.Cmd {
	case "tumble":
		size, err := mustTimeArg(td, "size")
		if err != nil {
			return "", err
		}
		off, _, err := timeArg(td, "offset")
		if err != nil {
			return "", err
		}
		tu := Tumble{Size: size, Offset: off}
		h.tumble, h.hop = nil, nil
		if err := tu.Validate(); err != nil {
			return "", err
		}
		h.tumble = &tu
		return "ok\n", nil

	case "hop":
		slide, err := mustTimeArg(td, "slide")
		if err != nil {
			return "", err
		}
		size, err := mustTimeArg(td, "size")
		if err != nil {
			return "", err
		}
		off, _, err := timeArg(td, "offset")
		if err != nil {
			return "", err
		}
		hp := Hop{Slide: slide, Size: size, Offset: off}
		h.tumble, h.hop = nil, nil
		if err := hp.Validate(); err != nil {
			return "", err
		}
		h.hop = &hp
		return "ok\n", nil

	case "assign":
		return h.assign(inputLines(td))

	case "window-state":
		mode, err := emitArg(td)
		if err != nil {
			return "", err
		}
		var size int64
		switch {
		case h.tumble != nil:
			size = h.tumble.Size
		case h.hop != nil:
			size = h.hop.Size
		default:
			return "", fmt.Errorf("window-state needs tumble or hop first")
		}
		ws, err := NewWindowState[acc](size, mode)
		if err != nil {
			return "", err
		}
		h.ws, h.ss = ws, nil
		return "ok\n", nil

	case "session":
		gap, err := mustTimeArg(td, "gap")
		if err != nil {
			return "", err
		}
		mode, err := emitArg(td)
		if err != nil {
			return "", err
		}
		ss, err := NewSessionState[acc](Session{Gap: gap}, mode, mergeAcc)
		if err != nil {
			return "", err
		}
		h.ss, h.ws = ss, nil
		return "ok\n", nil

	case "add":
		if h.ss != nil {
			return h.addSession(inputLines(td))
		}
		return h.addWindows(inputLines(td))

	case "close":
		wm, err := mustTimeArg(td, "watermark")
		if err != nil {
			return "", err
		}
		switch {
		case h.ws != nil:
			return fmtEntries(h.ws.Close(wm)), nil
		case h.ss != nil:
			return fmtEntries(h.ss.Close(wm)), nil
		}
		return "", fmt.Errorf("no state")

	case "open":
		var es []Entry[acc]
		switch {
		case h.ws != nil:
			for e := range h.ws.Open() {
				es = append(es, e)
			}
		case h.ss != nil:
			for e := range h.ss.Open() {
				es = append(es, e)
			}
		default:
			return "", fmt.Errorf("no state")
		}
		return fmtEntries(es), nil

	case "updated":
		switch {
		case h.ws != nil:
			return fmtEntries(h.ws.Updated()), nil
		case h.ss != nil:
			return fmtEntries(h.ss.Updated()), nil
		}
		return "", fmt.Errorf("no state")

	case "stats":
		switch {
		case h.ws != nil:
			l := h.ws.Late()
			return fmt.Sprintf("windows=%d entries=%d late-rows=%d late-windows=%d watermark=%s\n",
				h.ws.Windows(), h.ws.Len(), l.Rows, l.Windows, fmtTime(h.ws.Watermark())), nil
		case h.ss != nil:
			l := h.ss.Late()
			return fmt.Sprintf("keys=%d sessions=%d late-rows=%d watermark=%s\n",
				h.ss.Keys(), h.ss.Len(), l.Rows, fmtTime(h.ss.Watermark())), nil
		}
		return "", fmt.Errorf("no state")

	case "tracker":
		var n int
		td.ScanArgs(t, "partitions", &n)
		delay, _, err := timeArg(td, "delay")
		if err != nil {
			return "", err
		}
		tr, err := NewTracker(n, delay)
		if err != nil {
			return "", err
		}
		h.tr = tr
		return "ok\n", nil

	case "add-batch":
		var p int
		td.ScanArgs(t, "partition", &p)
		if v, ok, err := timeArg(td, "max"); err != nil {
			return "", err
		} else if ok {
			return "ok\n", h.tr.Observe(p, v)
		}
		arr, err := timesArray(h.mem, inputLines(td))
		if err != nil {
			return "", err
		}
		defer arr.Release()
		return "ok\n", h.tr.ObserveArray(p, arr)

	case "idle", "busy":
		var p int
		td.ScanArgs(t, "partition", &p)
		return "ok\n", h.tr.SetIdle(p, td.Cmd == "idle")

	case "advance-watermark":
		return "watermark=" + fmtTime(h.tr.Advance()) + "\n", nil

	case "watermark":
		return "watermark=" + fmtTime(h.tr.Watermark()) + "\n", nil

	case "finish":
		if wm := h.tr.Finish(); wm != FinalWatermark {
			return "", fmt.Errorf("finish returned %d", wm)
		}
		return "watermark=" + fmtTime(h.tr.Watermark()) + "\n", nil

	case "show":
		var b strings.Builder
		for p := range h.tr.Partitions() {
			ps, err := h.tr.Partition(p)
			if err != nil {
				return "", err
			}
			state := "busy"
			if ps.Idle {
				state = "idle"
			}
			maxStr := "none"
			if ps.Seen {
				maxStr = fmtTime(ps.MaxEventTime)
			}
			fmt.Fprintf(&b, "p%d: max=%s watermark=%s %s\n", p, maxStr, fmtTime(ps.Watermark), state)
		}
		fmt.Fprintf(&b, "watermark=%s\n", fmtTime(h.tr.Watermark()))
		return b.String(), nil

	case "roundtrip":
		enc, err := h.tr.MarshalBinary()
		if err != nil {
			return "", err
		}
		var dec Tracker
		if err := dec.UnmarshalBinary(enc); err != nil {
			return "", err
		}
		enc2, _ := dec.MarshalBinary()
		if string(enc) != string(enc2) {
			return "", fmt.Errorf("re-encoding differs")
		}
		h.tr = &dec
		return fmt.Sprintf("ok %d bytes\n", len(enc)), nil

	case "combiner":
		var n int
		td.ScanArgs(t, "inputs", &n)
		cb, err := NewCombiner(n)
		if err != nil {
			return "", err
		}
		h.cb = cb
		return "ok\n", nil

	case "input":
		var i int
		td.ScanArgs(t, "i", &i)
		var wm int64
		var err error
		switch {
		case td.HasArg("watermark"):
			v, err2 := mustTimeArg(td, "watermark")
			if err2 != nil {
				return "", err2
			}
			wm, err = h.cb.Update(i, v)
		case td.HasArg("idle"):
			var idle bool
			td.ScanArgs(t, "idle", &idle)
			wm, err = h.cb.SetIdle(i, idle)
		default:
			return "", fmt.Errorf("input wants watermark= or idle=")
		}
		if err != nil {
			return "", err
		}
		return "watermark=" + fmtTime(wm) + "\n", nil
	}
	return "", fmt.Errorf("unknown command %q", td.Cmd)
}

func (h *ddHarness) assign(lines []string) (string, error) {
	arr, err := timesArray(h.mem, lines)
	if err != nil {
		return "", err
	}
	defer arr.Release()
	var b strings.Builder
	switch {
	case h.tumble != nil:
		starts, err := h.tumble.AssignArray(arr, h.mem)
		if err != nil {
			return "", err
		}
		defer starts.Release()
		ends, err := WindowEnds(starts, h.tumble.Size, h.mem)
		if err != nil {
			return "", err
		}
		defer ends.Release()
		for i := range arr.Len() {
			if starts.IsNull(i) {
				fmt.Fprintf(&b, "NULL -> NULL\n")
				continue
			}
			w := Window{Start: int64(starts.Value(i)), End: int64(ends.Value(i))}
			if w != h.tumble.Window(int64(arr.Value(i))) {
				return "", fmt.Errorf("row %d: array and scalar assignment differ", i)
			}
			fmt.Fprintf(&b, "%s -> %s\n", fmtTime(int64(arr.Value(i))), fmtWindow(w))
		}
	case h.hop != nil:
		rows, starts, err := h.hop.AssignArray(arr, h.mem)
		if err != nil {
			return "", err
		}
		defer rows.Release()
		defer starts.Release()
		ends, err := WindowEnds(starts, h.hop.Size, h.mem)
		if err != nil {
			return "", err
		}
		defer ends.Release()
		j := 0
		for i := range arr.Len() {
			if arr.IsNull(i) {
				b.WriteString("NULL -> none\n")
				continue
			}
			fmt.Fprintf(&b, "%s ->", fmtTime(int64(arr.Value(i))))
			n := 0
			for ; j < rows.Len() && int(rows.Value(j)) == i; j++ {
				fmt.Fprintf(&b, " %s", fmtWindow(Window{Start: int64(starts.Value(j)), End: int64(ends.Value(j))}))
				n++
			}
			if n == 0 {
				b.WriteString(" none")
			}
			if n != len(h.hop.Windows(int64(arr.Value(i)))) {
				return "", fmt.Errorf("row %d: array and scalar assignment differ", i)
			}
			b.WriteString("\n")
		}
		if j != rows.Len() {
			return "", fmt.Errorf("rows out of order")
		}
	default:
		return "", fmt.Errorf("assign needs tumble or hop first")
	}
	return b.String(), nil
}

func (h *ddHarness) addWindows(lines []string) (string, error) {
	if h.ws == nil {
		return "", fmt.Errorf("add needs window-state or session first")
	}
	var b strings.Builder
	for _, l := range lines {
		key, t, v, err := parseRow(l)
		if err != nil {
			return "", err
		}
		var starts []int64
		if h.tumble != nil {
			starts = []int64{h.tumble.Start(t)}
		} else {
			starts = h.hop.Starts(t, nil)
		}
		fmt.Fprintf(&b, "%s %s:", key, fmtTime(t))
		for _, s := range starts {
			status := "ok"
			if h.ws.IsLate(s) {
				status = "late"
			}
			fmt.Fprintf(&b, " %s %s", fmtWindow(Window{Start: s, End: addSat(s, h.ws.Size())}), status)
		}
		if h.ws.AddRow(key, starts, func(_ int64, a *acc) { a.add(v) }) == 0 {
			b.WriteString(" => late row")
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

func (h *ddHarness) addSession(lines []string) (string, error) {
	var b strings.Builder
	for _, l := range lines {
		key, t, v, err := parseRow(l)
		if err != nil {
			return "", err
		}
		a, retired, ok := h.ss.Add(key, t, nil)
		fmt.Fprintf(&b, "%s %s:", key, fmtTime(t))
		if !ok {
			b.WriteString(" late\n")
			continue
		}
		a.add(v)
		// Find the session now holding t to print it.
		for e := range h.ss.Open() {
			if e.Key == key && e.Window.Contains(t) {
				fmt.Fprintf(&b, " %s count=%d", fmtWindow(e.Window), e.Value.count)
			}
		}
		for _, w := range retired {
			fmt.Fprintf(&b, " retired %s", fmtWindow(w))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
