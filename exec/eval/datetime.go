package eval

import (
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/sql/pgerror"
)

// Time values are microseconds since 1970-01-01 00:00 UTC (timestamps),
// days since 1970-01-01 (dates) and months/days/nanoseconds (intervals).
// Time zone: TIMESTAMPTZ arithmetic and fields are computed in UTC.

const (
	usPerSec   = int64(1e6)
	usPerDay   = 86400 * usPerSec
	nsPerUs    = int64(1000)
	usPerMon   = 30 * usPerDay
	secPerYear = 31557600 // 365.25 days, for extract(epoch from interval)
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

func toTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromTime(t time.Time) int64 { return t.UnixMicro() }

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addMonths adds months to a timestamp, clamping the day to the end of the
// target month as Postgres does ('2020-01-31' + 1 month = '2020-02-29').
func addMonths(us int64, months int64) int64 {
	if months == 0 {
		return us
	}
	t := toTime(us)
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + months
	ny, nm := int(floorDiv(total, 12)), time.Month(floorMod(total, 12)+1)
	if dim := daysIn(ny, nm); d > dim {
		d = dim
	}
	tod := floorMod(us, usPerDay)
	return fromTime(time.Date(ny, nm, d, 0, 0, 0, 0, time.UTC)) + tod
}

// tsAddInterval computes ts + sign*iv.
func tsAddInterval(ts int64, iv arrow.MonthDayNanoInterval, sign int64) (int64, error) {
	r := addMonths(ts, sign*int64(iv.Months))
	r += sign * (int64(iv.Days)*usPerDay + iv.Nanoseconds/nsPerUs)
	if r < -210866803200000000 || r > 9223371331200000000 {
		return 0, errTsRange
	}
	return r, nil
}

// tsDiff returns a - b as an interval of days and time (as Postgres's
// timestamp subtraction, which justifies hours into days).
func tsDiff(a, b int64) arrow.MonthDayNanoInterval {
	d := a - b
	days := d / usPerDay
	rem := d - days*usPerDay
	return arrow.MonthDayNanoInterval{Days: int32(days), Nanoseconds: rem * nsPerUs}
}

func ivAdd(a, b arrow.MonthDayNanoInterval, sign int64) (arrow.MonthDayNanoInterval, error) {
	m := int64(a.Months) + sign*int64(b.Months)
	d := int64(a.Days) + sign*int64(b.Days)
	ns := a.Nanoseconds + sign*b.Nanoseconds
	if m != int64(int32(m)) || d != int64(int32(d)) ||
		(sign > 0 && (a.Nanoseconds^ns)&(b.Nanoseconds^ns) < 0) ||
		(sign < 0 && (a.Nanoseconds^b.Nanoseconds)&(a.Nanoseconds^ns) < 0) {
		return arrow.MonthDayNanoInterval{}, errIntervalRange
	}
	return arrow.MonthDayNanoInterval{Months: int32(m), Days: int32(d), Nanoseconds: ns}, nil
}

// ivMul multiplies an interval by a factor the way Postgres does: the
// fractional part of months spills into days (30 per month) and that of
// days into time.
func ivMul(iv arrow.MonthDayNanoInterval, f float64) (arrow.MonthDayNanoInterval, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return arrow.MonthDayNanoInterval{}, errIntervalRange
	}
	mf := float64(iv.Months) * f
	if math.Abs(mf) > math.MaxInt32 {
		return arrow.MonthDayNanoInterval{}, errIntervalRange
	}
	months := math.Trunc(mf)
	monRemDays := (mf - months) * 30
	df := float64(iv.Days) * f
	days := math.Trunc(df)
	secRem := (df - days + monRemDays - math.Trunc(monRemDays)) * 86400
	days += math.Trunc(monRemDays)
	if math.Abs(days) > math.MaxInt32 {
		return arrow.MonthDayNanoInterval{}, errIntervalRange
	}
	us := math.RoundToEven(float64(iv.Nanoseconds/nsPerUs)*f + secRem*1e6)
	if math.Abs(us) > math.MaxInt64/1000 {
		return arrow.MonthDayNanoInterval{}, errIntervalRange
	}
	return arrow.MonthDayNanoInterval{Months: int32(months), Days: int32(days), Nanoseconds: int64(us) * nsPerUs}, nil
}

func ivNeg(iv arrow.MonthDayNanoInterval) arrow.MonthDayNanoInterval {
	return arrow.MonthDayNanoInterval{Months: -iv.Months, Days: -iv.Days, Nanoseconds: -iv.Nanoseconds}
}

func badUnit(unit string, t catalog.Type) error {
	return pgerror.New(pgerror.CodeInvalidParameterValue, "unit %q not recognized for type %s", unit, t)
}

func normUnit(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	switch u {
	case "microseconds", "us", "usec", "usecs", "microsecond", "microsecon":
		return "microseconds"
	case "milliseconds", "ms", "msec", "msecs", "millisecond", "millisecon":
		return "milliseconds"
	case "second", "seconds", "s", "sec", "secs":
		return "second"
	case "minute", "minutes", "m", "min", "mins":
		return "minute"
	case "hour", "hours", "h", "hr", "hrs":
		return "hour"
	case "day", "days", "d":
		return "day"
	case "week", "weeks", "w":
		return "week"
	case "month", "months", "mon", "mons":
		return "month"
	case "quarter", "qtr":
		return "quarter"
	case "year", "years", "y", "yr", "yrs":
		return "year"
	case "decade", "decades", "dec":
		return "decade"
	case "century", "centuries", "c", "cent":
		return "century"
	case "millennium", "millennia", "mil", "mils", "millenium":
		return "millennium"
	}
	return u
}

// extractField returns field unit of a timestamp as value*10^-scale.
func extractTs(unit string, us int64, t catalog.Type) (int64, int32, error) {
	tm := toTime(us)
	secUs := int64(tm.Second())*usPerSec + int64(tm.Nanosecond())/nsPerUs
	switch normUnit(unit) {
	case "microseconds":
		return secUs, 0, nil
	case "milliseconds":
		return secUs, 3, nil
	case "second":
		return secUs, 6, nil
	case "minute":
		return int64(tm.Minute()), 0, nil
	case "hour":
		return int64(tm.Hour()), 0, nil
	case "day":
		return int64(tm.Day()), 0, nil
	case "month":
		return int64(tm.Month()), 0, nil
	case "quarter":
		return int64(tm.Month()-1)/3 + 1, 0, nil
	case "year":
		return int64(tm.Year()), 0, nil
	case "decade":
		return floorDiv(int64(tm.Year()), 10), 0, nil
	case "century":
		y := int64(tm.Year())
		if y > 0 {
			return (y + 99) / 100, 0, nil
		}
		return -((99 - (y - 1)) / 100), 0, nil
	case "millennium":
		y := int64(tm.Year())
		if y > 0 {
			return (y + 999) / 1000, 0, nil
		}
		return -((999 - (y - 1)) / 1000), 0, nil
	case "week":
		_, w := tm.ISOWeek()
		return int64(w), 0, nil
	}
	switch strings.ToLower(unit) {
	case "epoch":
		return us, 6, nil
	case "dow":
		return int64(tm.Weekday()), 0, nil
	case "isodow":
		d := int64(tm.Weekday())
		if d == 0 {
			d = 7
		}
		return d, 0, nil
	case "doy":
		return int64(tm.YearDay()), 0, nil
	case "isoyear":
		y, _ := tm.ISOWeek()
		return int64(y), 0, nil
	case "julian":
		return floorDiv(us, usPerDay) + 2440588, 0, nil
	}
	return 0, 0, badUnit(unit, t)
}

func extractInterval(unit string, iv arrow.MonthDayNanoInterval) (int64, int32, error) {
	us := iv.Nanoseconds / nsPerUs
	switch normUnit(unit) {
	case "microseconds":
		return us % (60 * usPerSec), 0, nil
	case "milliseconds":
		return us % (60 * usPerSec), 3, nil
	case "second":
		return us % (60 * usPerSec), 6, nil
	case "minute":
		return (us / (60 * usPerSec)) % 60, 0, nil
	case "hour":
		return us / (3600 * usPerSec), 0, nil
	case "day":
		return int64(iv.Days), 0, nil
	case "month":
		return int64(iv.Months % 12), 0, nil
	case "quarter":
		return int64(iv.Months%12)/3 + 1, 0, nil
	case "year":
		return int64(iv.Months / 12), 0, nil
	case "decade":
		return int64(iv.Months / 120), 0, nil
	case "century":
		return int64(iv.Months / 1200), 0, nil
	case "millennium":
		return int64(iv.Months / 12000), 0, nil
	}
	if strings.ToLower(unit) == "epoch" {
		secs := int64(iv.Months/12)*secPerYear + int64(iv.Months%12)*30*86400
		return secs*usPerSec + int64(iv.Days)*usPerDay + us, 6, nil
	}
	return 0, 0, badUnit(unit, catalog.TypeInterval)
}

// truncTs implements date_trunc on a timestamp.
func truncTs(unit string, us int64, t catalog.Type) (int64, error) {
	tm := toTime(us)
	y, m, d := tm.Date()
	day := func(y int, m time.Month, d int) int64 { return fromTime(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) }
	switch normUnit(unit) {
	case "microseconds":
		return us, nil
	case "milliseconds":
		return floorDiv(us, 1000) * 1000, nil
	case "second":
		return floorDiv(us, usPerSec) * usPerSec, nil
	case "minute":
		return floorDiv(us, 60*usPerSec) * 60 * usPerSec, nil
	case "hour":
		return floorDiv(us, 3600*usPerSec) * 3600 * usPerSec, nil
	case "day":
		return floorDiv(us, usPerDay) * usPerDay, nil
	case "week":
		wd := int(tm.Weekday()+6) % 7 // days since Monday
		return day(y, m, d-wd), nil
	case "month":
		return day(y, m, 1), nil
	case "quarter":
		return day(y, (m-1)/3*3+1, 1), nil
	case "year":
		return day(y, 1, 1), nil
	case "decade":
		return day(int(floorDiv(int64(y), 10)*10), 1, 1), nil
	case "century":
		if y > 0 {
			return day((y-1)/100*100+1, 1, 1), nil
		}
		return day(-((99-(y-1))/100)*100+1, 1, 1), nil
	case "millennium":
		if y > 0 {
			return day((y-1)/1000*1000+1, 1, 1), nil
		}
		return day(-((999-(y-1))/1000)*1000+1, 1, 1), nil
	}
	return 0, badUnit(unit, t)
}

func truncInterval(unit string, iv arrow.MonthDayNanoInterval) (arrow.MonthDayNanoInterval, error) {
	us := iv.Nanoseconds / nsPerUs
	r := arrow.MonthDayNanoInterval{Months: iv.Months, Days: iv.Days}
	switch normUnit(unit) {
	case "microseconds":
		r.Nanoseconds = us * nsPerUs
	case "milliseconds":
		r.Nanoseconds = us / 1000 * 1000 * nsPerUs
	case "second":
		r.Nanoseconds = us / usPerSec * usPerSec * nsPerUs
	case "minute":
		r.Nanoseconds = us / (60 * usPerSec) * 60 * usPerSec * nsPerUs
	case "hour":
		r.Nanoseconds = us / (3600 * usPerSec) * 3600 * usPerSec * nsPerUs
	case "day":
	case "month":
		r.Days = 0
	case "quarter":
		r.Days, r.Months = 0, iv.Months/3*3
	case "year":
		r.Days, r.Months = 0, iv.Months/12*12
	case "decade":
		r.Days, r.Months = 0, iv.Months/120*120
	case "century":
		r.Days, r.Months = 0, iv.Months/1200*1200
	case "millennium":
		r.Days, r.Months = 0, iv.Months/12000*12000
	default:
		return r, badUnit(unit, catalog.TypeInterval)
	}
	return r, nil
}

// age computes the symbolic difference a - b in years, months, days and
// time, as Postgres's age().
func age(a, b int64) arrow.MonthDayNanoInterval {
	neg := false
	if a < b {
		a, b, neg = b, a, true
	}
	t1, t2 := toTime(a), toTime(b)
	us := floorMod(a, usPerDay) - floorMod(b, usPerDay)
	days := t1.Day() - t2.Day()
	months := int(t1.Month()) - int(t2.Month())
	years := t1.Year() - t2.Year()
	if us < 0 {
		us += usPerDay
		days--
	}
	for days < 0 {
		days += daysIn(t2.Year(), t2.Month())
		months--
	}
	for months < 0 {
		months += 12
		years--
	}
	r := arrow.MonthDayNanoInterval{Months: int32(years*12 + months), Days: int32(days), Nanoseconds: us * nsPerUs}
	if neg {
		r = ivNeg(r)
	}
	return r
}
