package agentpay

import (
	"fmt"
	"time"

	// Embed the IANA time zone database (about 450 KB) so that every zone a
	// user may pick loads on any host, including minimal containers without
	// /usr/share/zoneinfo: a billing day must not depend on what the machine
	// happens to have installed. Go still prefers the host's database when one
	// exists (it may be newer); this copy is the floor, not an override.
	_ "time/tzdata"
)

// IntervalUnit is the unit of an Interval.
type IntervalUnit string

// Units of an Interval.
const (
	IntervalDay   IntervalUnit = "day"
	IntervalWeek  IntervalUnit = "week"
	IntervalMonth IntervalUnit = "month"
	IntervalYear  IntervalUnit = "year"
)

// IntervalCountMax returns the largest Count an Interval of unit may have,
// and 0 for an unknown unit. The limits (a year of days, two years of weeks,
// three years of months, five years) refuse absurd intervals such as "every
// 1000 months" that no subscription or mandate budget means seriously, and
// keep the arithmetic of Cycle far from overflow. It is a function, not a
// map, so that no package can change the limits at run time.
func IntervalCountMax(unit IntervalUnit) int {
	switch unit {
	case IntervalDay:
		return 366
	case IntervalWeek:
		return 104
	case IntervalMonth:
		return 36
	case IntervalYear:
		return 5
	}
	return 0
}

// Interval is a period of Count Units, e.g. every 3 months.
type Interval struct {
	Unit  IntervalUnit `json:"unit"`
	Count int          `json:"count"`
}

// Validate checks the interval: a known unit and 1 ≤ Count ≤
// IntervalCountMax(Unit). param names the field in the error.
func (i Interval) Validate(param string) error {
	limit := IntervalCountMax(i.Unit)
	if limit == 0 {
		return ParamErrorf(param, "invalid_interval", "unknown interval unit %q; units are day, week, month and year", truncateForMessage(string(i.Unit)))
	}
	if i.Count < 1 || i.Count > limit {
		return ParamErrorf(param, "invalid_interval", "an interval of %ss must count 1 to %d", i.Unit, limit)
	}
	return nil
}

// step returns the length of one period in calendar days (day and week
// units) or in calendar months (month and year units). Years are counted as
// 12 months so that one code path does the day-of-month clamping for both.
// An invalid interval is a programming error (input is validated where it
// enters), so it panics rather than returning schedules nobody asked for.
func (i Interval) step() (days, months int) {
	if err := i.Validate("interval"); err != nil {
		panic(fmt.Sprintf("agentpay: %v", err))
	}
	switch i.Unit {
	case IntervalDay:
		return i.Count, 0
	case IntervalWeek:
		return 7 * i.Count, 0
	case IntervalMonth:
		return 0, i.Count
	default: // IntervalYear
		return 0, 12 * i.Count
	}
}

// Cycle returns the start of the n-th period (n ≥ 0) of a schedule anchored
// at anchor, in loc's calendar. Cycle(0) is anchor itself.
//
// Month and year steps keep the anchor's day of month, clamped to the last
// day of shorter months, and never drift: each start is computed from the
// anchor, not from the previous start, so a Jan 31 anchor gives Feb 28 (29 in
// leap years), Mar 31, Apr 30, … and a Feb 29 anchor gives Feb 28 in common
// years and Feb 29 again in leap years.
//
// Every start keeps the anchor's wall-clock time of day in loc across
// daylight-saving changes (09:00 stays 09:00, not 08:00 or 10:00), because
// subscribers think of "the 1st at 09:00", not of 24-hour multiples. Where
// that wall time does not exist or exists twice on a given day, the rule of
// iCalendar (RFC 5545, section 3.3.5) decides, rather than time.Date, whose
// choice varies with the sign of the zone's offset:
//   - a time skipped by a change (02:30 when clocks jump from 02:00 to 03:00)
//     is read with the offset before the change, i.e. moved later by the
//     length of the gap (03:30 in New York and London alike);
//   - a time that occurs twice (01:30 when clocks fall back) is the first
//     occurrence.
//
// Only that one period moves; the next starts at the anchor's wall time again.
// Cycle panics if i is invalid or n is negative, both programming errors.
func (i Interval) Cycle(anchor time.Time, n int, loc *time.Location) time.Time {
	if n < 0 {
		panic(fmt.Sprintf("agentpay: Interval.Cycle: negative period %d", n))
	}
	days, months := i.step()
	a := anchor.In(loc)
	if n == 0 {
		// The anchor is an instant, not a wall time: returning it as is keeps
		// PeriodOf consistent with "t before anchor" even when the anchor is
		// the second occurrence of an ambiguous wall time.
		return a
	}
	return cycle(a, n, days, months, loc)
}

// cycle is Cycle for a valid interval and n ≥ 1, with a already in loc.
func cycle(a time.Time, n, days, months int, loc *time.Location) time.Time {
	y, m, d := a.Date()
	if months == 0 {
		// time.Date normalizes day overflow into later months and years.
		d += n * days
	} else {
		total := int(m) - 1 + n*months
		y += total / 12
		m = time.Month(total%12 + 1)
		d = min(d, daysIn(y, m))
	}
	hh, mm, ss := a.Clock()
	return wallTime(y, m, d, hh, mm, ss, a.Nanosecond(), loc)
}

// daysIn returns the number of days in month m of year y: day 0 of the next
// month is the last day of this one.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// wallTime returns the instant the wall time y-m-d hh:mm:ss.ns denotes in
// loc, resolving gaps and overlaps by RFC 5545 (see Cycle). The inputs are a
// valid date (cycle clamps the day), so the only way time.Date can return a
// different wall time is a gap.
func wallTime(y int, m time.Month, d, hh, mm, ss, ns int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, hh, mm, ss, ns, loc)
	// nominal is the wall time read as UTC: nominal - offset is the instant
	// the wall time denotes under that offset.
	nominal := time.Date(y, m, d, hh, mm, ss, ns, time.UTC)
	_, off := t.Zone()
	offT := time.Duration(off) * time.Second
	if !sameWall(t, nominal) {
		// A gap. time.Date read the wall time with the offset of one side
		// of the change (offX) and t shows the other side's (offT). Clocks
		// jump forward in a gap, so the offset before the change is the
		// smaller of the two.
		offX := nominal.Sub(t)
		return nominal.Add(-min(offT, offX)).In(loc)
	}
	// The wall time exists; if it exists twice, time.Date may have picked
	// the second occurrence. The first, if any, lies in the zone period
	// just before t's, under that period's offset.
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}
	_, prev := start.Add(-time.Nanosecond).Zone()
	if c := nominal.Add(-time.Duration(prev) * time.Second).In(loc); c.Before(start) && sameWall(c, nominal) {
		return c
	}
	return t
}

// sameWall reports whether t (in its location) shows the wall time that
// nominal shows in UTC.
func sameWall(t, nominal time.Time) bool {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := nominal.Date()
	h1, i1, s1 := t.Clock()
	h2, i2, s2 := nominal.Clock()
	return y1 == y2 && m1 == m2 && d1 == d2 && h1 == h2 && i1 == i2 && s1 == s2 && t.Nanosecond() == nominal.Nanosecond()
}

// PeriodOf returns n, the start and the end (exclusive) of the period that
// contains t, for a schedule anchored at anchor: Cycle(n) ≤ t < Cycle(n+1),
// start = Cycle(n) and end = Cycle(n+1), all in loc. ok is false when t is
// before anchor.
//
// It costs a handful of calls to Cycle whatever n is: n is estimated from the
// calendar distance between anchor and t (days or months, which is what Cycle
// steps by), then corrected by the one or two periods that a time of day or
// a daylight-saving change can shift it. The distance is taken on the
// calendar, not as t.Sub(anchor), because a time.Duration saturates after
// 292 years. A period whose start and end coincide (a day that loc skipped,
// like Samoa's 30 December 2011) contains no t and is never returned.
// PeriodOf panics if i is invalid.
func (i Interval) PeriodOf(anchor, t time.Time, loc *time.Location) (n int, start, end time.Time, ok bool) {
	days, months := i.step()
	a, u := anchor.In(loc), t.In(loc)
	if u.Before(a) {
		return 0, time.Time{}, time.Time{}, false
	}
	at := func(k int) time.Time {
		if k == 0 {
			return a
		}
		return cycle(a, k, days, months, loc)
	}
	ay, am, ad := a.Date()
	uy, um, ud := u.Date()
	if months == 0 {
		n = (civilDay(uy, um, ud) - civilDay(ay, am, ad)) / days
	} else {
		n = ((uy-ay)*12 + int(um) - int(am)) / months
	}
	// A wall clock that falls back across midnight can put t's date before
	// the anchor's; the estimate is then negative but the period is 0.
	n = max(n, 0)
	start = at(n)
	for n > 0 && start.After(u) {
		n--
		start = at(n)
	}
	end = at(n + 1)
	for !end.After(u) {
		n++
		start, end = end, at(n+1)
	}
	return n, start, end, true
}

// civilDay numbers the calendar day y-m-d, consecutively across months and
// years, independent of any time zone.
func civilDay(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// LoadLocation loads the IANA time zone name (e.g. "Europe/Paris", or "UTC")
// that decides a mandate's billing days. It refuses "" and "Local", which
// time.LoadLocation maps to UTC and to the server's own zone: a user's
// billing day must be the user's choice, not a property of whichever machine
// runs the job. param names the field in the error.
func LoadLocation(param, name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, ParamErrorf(param, "invalid_time_zone", "%s must name an IANA time zone such as Europe/Paris or UTC", param)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, ParamErrorf(param, "invalid_time_zone", "unknown time zone %q", truncateForMessage(name))
	}
	return loc, nil
}
