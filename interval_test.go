package agentpay_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
)

// loadZone loads an IANA zone or fails the test.
func loadZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := agentpay.LoadLocation("time_zone", name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// mustTime parses an RFC 3339 time or fails the test.
func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestIntervalValidate(t *testing.T) {
	tests := []struct {
		name string
		i    agentpay.Interval
		ok   bool
	}{
		{"one day", agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}, true},
		{"max days", agentpay.Interval{Unit: agentpay.IntervalDay, Count: 366}, true},
		{"max weeks", agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 104}, true},
		{"max months", agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 36}, true},
		{"max years", agentpay.Interval{Unit: agentpay.IntervalYear, Count: 5}, true},
		{"zero count", agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 0}, false},
		{"negative count", agentpay.Interval{Unit: agentpay.IntervalWeek, Count: -1}, false},
		{"too many days", agentpay.Interval{Unit: agentpay.IntervalDay, Count: 367}, false},
		{"too many weeks", agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 105}, false},
		{"too many months", agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 37}, false},
		{"too many years", agentpay.Interval{Unit: agentpay.IntervalYear, Count: 6}, false},
		{"absurd count", agentpay.Interval{Unit: agentpay.IntervalYear, Count: 1 << 40}, false},
		{"empty unit", agentpay.Interval{Count: 1}, false},
		{"unknown unit", agentpay.Interval{Unit: "fortnight", Count: 1}, false},
		{"plural unit", agentpay.Interval{Unit: "months", Count: 1}, false},
		{"upper-case unit", agentpay.Interval{Unit: "Month", Count: 1}, false},
		{"long unit", agentpay.Interval{Unit: agentpay.IntervalUnit(strings.Repeat("x", 500)), Count: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.i.Validate("interval")
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var e *agentpay.Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate() = %v, want *agentpay.Error", err)
			}
			if e.Kind != agentpay.EINVALID || e.Code != "invalid_interval" || e.Param != "interval" {
				t.Errorf("Validate() = %+v, want invalid/invalid_interval/interval", e)
			}
			if len(e.Message) > 200 {
				t.Errorf("message is %d bytes; user input must be truncated", len(e.Message))
			}
		})
	}
}

func TestIntervalCountMax(t *testing.T) {
	tests := []struct {
		unit agentpay.IntervalUnit
		want int
	}{
		{agentpay.IntervalDay, 366},
		{agentpay.IntervalWeek, 104},
		{agentpay.IntervalMonth, 36},
		{agentpay.IntervalYear, 5},
		{"", 0},
		{"hour", 0},
	}
	for _, tt := range tests {
		if got := agentpay.IntervalCountMax(tt.unit); got != tt.want {
			t.Errorf("IntervalCountMax(%q) = %d, want %d", tt.unit, got, tt.want)
		}
	}
}

func TestIntervalJSON(t *testing.T) {
	i := agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 3}
	b, err := json.Marshal(i)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"unit":"month","count":3}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var back agentpay.Interval
	if err := json.Unmarshal(b, &back); err != nil || back != i {
		t.Errorf("Unmarshal = %+v, %v; want %+v", back, err, i)
	}
}

func TestLoadLocation(t *testing.T) {
	tests := []struct {
		name string
		zone string
		ok   bool
	}{
		{"utc", "UTC", true},
		{"london", "Europe/London", true},
		{"new york", "America/New_York", true},
		{"half-hour zone", "Asia/Kolkata", true},
		{"empty", "", false},
		{"server local zone", "Local", false},
		{"unknown", "Mars/Olympus_Mons", false},
		{"lower-case", "europe/london", false},
		{"path traversal", "../../etc/passwd", false},
		{"absolute path", "/etc/localtime", false},
		{"long", strings.Repeat("A", 1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := agentpay.LoadLocation("time_zone", tt.zone)
			if tt.ok {
				if err != nil {
					t.Fatalf("LoadLocation(%q) = %v", tt.zone, err)
				}
				if loc.String() != tt.zone {
					t.Errorf("LoadLocation(%q) = %v", tt.zone, loc)
				}
				return
			}
			if loc != nil {
				t.Errorf("LoadLocation(%q) returned location %v with an error", tt.zone, loc)
			}
			var e *agentpay.Error
			if !errors.As(err, &e) {
				t.Fatalf("LoadLocation(%q) = %v, want *agentpay.Error", tt.zone, err)
			}
			if e.Kind != agentpay.EINVALID || e.Code != "invalid_time_zone" || e.Param != "time_zone" {
				t.Errorf("LoadLocation(%q) = %+v, want invalid/invalid_time_zone/time_zone", tt.zone, e)
			}
			if len(e.Message) > 200 {
				t.Errorf("message is %d bytes; user input must be truncated", len(e.Message))
			}
		})
	}
}

var (
	daily     = agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}
	weekly    = agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 1}
	monthly   = agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1}
	quarterly = agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 3}
	yearly    = agentpay.Interval{Unit: agentpay.IntervalYear, Count: 1}
)

func TestIntervalCycle(t *testing.T) {
	tests := []struct {
		name   string
		i      agentpay.Interval
		zone   string
		anchor string   // RFC 3339; any offset, Cycle works in zone's calendar
		want   []string // Cycle(0), Cycle(1), …, formatted in zone
	}{
		{
			name: "month end through a leap year", i: monthly, zone: "UTC",
			anchor: "2024-01-31T10:00:00Z",
			want: []string{
				"2024-01-31T10:00:00Z", "2024-02-29T10:00:00Z", "2024-03-31T10:00:00Z", "2024-04-30T10:00:00Z",
				"2024-05-31T10:00:00Z", "2024-06-30T10:00:00Z", "2024-07-31T10:00:00Z", "2024-08-31T10:00:00Z",
				"2024-09-30T10:00:00Z", "2024-10-31T10:00:00Z", "2024-11-30T10:00:00Z", "2024-12-31T10:00:00Z",
				"2025-01-31T10:00:00Z", "2025-02-28T10:00:00Z", "2025-03-31T10:00:00Z",
			},
		},
		{
			name: "month end through a common year", i: monthly, zone: "UTC",
			anchor: "2025-01-31T00:00:00Z",
			want: []string{
				"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-31T00:00:00Z", "2025-04-30T00:00:00Z",
				"2025-05-31T00:00:00Z", "2025-06-30T00:00:00Z", "2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z",
				"2025-09-30T00:00:00Z", "2025-10-31T00:00:00Z", "2025-11-30T00:00:00Z", "2025-12-31T00:00:00Z",
				"2026-01-31T00:00:00Z",
			},
		},
		{
			name: "29th clamps only in common-year February", i: monthly, zone: "UTC",
			anchor: "2024-01-29T00:00:00Z",
			want: []string{
				"2024-01-29T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z",
			},
		},
		{
			name: "30th in a common year", i: monthly, zone: "UTC",
			anchor: "2025-01-30T00:00:00Z",
			want:   []string{"2025-01-30T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-30T00:00:00Z"},
		},
		{
			name: "quarterly from Nov 30", i: quarterly, zone: "UTC",
			anchor: "2023-11-30T12:00:00Z",
			want: []string{
				"2023-11-30T12:00:00Z", "2024-02-29T12:00:00Z", "2024-05-30T12:00:00Z", "2024-08-30T12:00:00Z",
				"2024-11-30T12:00:00Z", "2025-02-28T12:00:00Z", "2025-05-30T12:00:00Z",
			},
		},
		{
			name: "every 36 months", i: agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 36}, zone: "UTC",
			anchor: "2023-02-28T00:00:00Z",
			want:   []string{"2023-02-28T00:00:00Z", "2026-02-28T00:00:00Z", "2029-02-28T00:00:00Z"},
		},
		{
			name: "Feb 29 yearly", i: yearly, zone: "UTC",
			anchor: "2024-02-29T08:00:00Z",
			want: []string{
				"2024-02-29T08:00:00Z", "2025-02-28T08:00:00Z", "2026-02-28T08:00:00Z",
				"2027-02-28T08:00:00Z", "2028-02-29T08:00:00Z", "2029-02-28T08:00:00Z",
			},
		},
		{
			name: "Feb 29 every 4 years skips the non-leap 2100", i: agentpay.Interval{Unit: agentpay.IntervalYear, Count: 4}, zone: "UTC",
			anchor: "2092-02-29T00:00:00Z",
			want:   []string{"2092-02-29T00:00:00Z", "2096-02-29T00:00:00Z", "2100-02-28T00:00:00Z", "2104-02-29T00:00:00Z"},
		},
		{
			name: "Feb 29 every 5 years", i: agentpay.Interval{Unit: agentpay.IntervalYear, Count: 5}, zone: "UTC",
			anchor: "2024-02-29T00:00:00Z",
			want:   []string{"2024-02-29T00:00:00Z", "2029-02-28T00:00:00Z", "2034-02-28T00:00:00Z", "2039-02-28T00:00:00Z", "2044-02-29T00:00:00Z"},
		},
		{
			name: "every 2 years from Aug 31", i: agentpay.Interval{Unit: agentpay.IntervalYear, Count: 2}, zone: "UTC",
			anchor: "2024-08-31T23:59:59Z",
			want:   []string{"2024-08-31T23:59:59Z", "2026-08-31T23:59:59Z", "2028-08-31T23:59:59Z"},
		},
		{
			name: "every 3 days across month and year ends", i: agentpay.Interval{Unit: agentpay.IntervalDay, Count: 3}, zone: "UTC",
			anchor: "2023-12-27T06:00:00Z",
			want: []string{
				"2023-12-27T06:00:00Z", "2023-12-30T06:00:00Z", "2024-01-02T06:00:00Z",
				"2024-01-05T06:00:00Z", "2024-01-08T06:00:00Z",
			},
		},
		{
			name: "every 366 days", i: agentpay.Interval{Unit: agentpay.IntervalDay, Count: 366}, zone: "UTC",
			anchor: "2024-01-01T00:00:00Z",
			want:   []string{"2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
		},
		{
			name: "every 2 weeks", i: agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 2}, zone: "UTC",
			anchor: "2024-02-15T00:00:00Z",
			want:   []string{"2024-02-15T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-14T00:00:00Z", "2024-03-28T00:00:00Z"},
		},
		{
			name: "nanoseconds are kept", i: monthly, zone: "UTC",
			anchor: "2024-01-31T10:00:00.123456789Z",
			want:   []string{"2024-01-31T10:00:00.123456789Z", "2024-02-29T10:00:00.123456789Z"},
		},
		{
			// Jan 31 23:00 in New York is Feb 1 in UTC: the day of month
			// must come from loc's calendar, not from the anchor's zone.
			name: "anchor given in another zone", i: monthly, zone: "America/New_York",
			anchor: "2024-02-01T04:00:00Z",
			want:   []string{"2024-01-31T23:00:00-05:00", "2024-02-29T23:00:00-05:00", "2024-03-31T23:00:00-04:00", "2024-04-30T23:00:00-04:00"},
		},
		{
			name: "weekly 09:00 across London's DST changes", i: weekly, zone: "Europe/London",
			anchor: "2024-03-24T09:00:00Z",
			want: []string{
				"2024-03-24T09:00:00Z", "2024-03-31T09:00:00+01:00", "2024-04-07T09:00:00+01:00",
			},
		},
		{
			name: "weekly 09:00 across London's autumn change", i: weekly, zone: "Europe/London",
			anchor: "2024-10-20T09:00:00+01:00",
			want:   []string{"2024-10-20T09:00:00+01:00", "2024-10-27T09:00:00Z", "2024-11-03T09:00:00Z"},
		},
		{
			name: "weekly 09:00 across New York's DST changes", i: weekly, zone: "America/New_York",
			anchor: "2024-03-03T09:00:00-05:00",
			want:   []string{"2024-03-03T09:00:00-05:00", "2024-03-10T09:00:00-04:00", "2024-03-17T09:00:00-04:00"},
		},
		{
			name: "weekly 09:00 across New York's autumn change", i: weekly, zone: "America/New_York",
			anchor: "2024-10-27T09:00:00-04:00",
			want:   []string{"2024-10-27T09:00:00-04:00", "2024-11-03T09:00:00-05:00", "2024-11-10T09:00:00-05:00"},
		},
		{
			// 02:30 does not exist on 10 March 2024 in New York (02:00 →
			// 03:00). RFC 5545: read it with the offset before the gap,
			// EST, which is 03:30 EDT. The next day is 02:30 again.
			name: "daily 02:30 across New York's DST gap", i: daily, zone: "America/New_York",
			anchor: "2024-03-09T02:30:00-05:00",
			want:   []string{"2024-03-09T02:30:00-05:00", "2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"},
		},
		{
			// The same rule in a zone east of UTC, where time.Date alone
			// would have resolved the gap the other way.
			name: "daily 01:30 across London's DST gap", i: daily, zone: "Europe/London",
			anchor: "2024-03-30T01:30:00Z",
			want:   []string{"2024-03-30T01:30:00Z", "2024-03-31T02:30:00+01:00", "2024-04-01T01:30:00+01:00"},
		},
		{
			// 01:30 occurs twice on 3 November 2024 in New York: the first
			// occurrence (EDT) starts the period.
			name: "daily 01:30 across New York's repeated hour", i: daily, zone: "America/New_York",
			anchor: "2024-11-02T01:30:00-04:00",
			want:   []string{"2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"},
		},
		{
			// time.Date picks the second 01:30 (GMT) here; RFC 5545 the first.
			name: "daily 01:30 across London's repeated hour", i: daily, zone: "Europe/London",
			anchor: "2024-10-26T01:30:00+01:00",
			want:   []string{"2024-10-26T01:30:00+01:00", "2024-10-27T01:30:00+01:00", "2024-10-28T01:30:00Z"},
		},
		{
			// An anchor at the second 01:30 is an instant: Cycle(0) is that
			// instant, later periods are 01:30 by the usual rule.
			name: "anchor at the second occurrence of a repeated hour", i: daily, zone: "America/New_York",
			anchor: "2024-11-03T01:30:00-05:00",
			want:   []string{"2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"},
		},
		{
			// Samoa skipped 30 December 2011: that day's period would start
			// on 31 December, where the next one starts, and is empty.
			name: "daily across a skipped day", i: daily, zone: "Pacific/Apia",
			anchor: "2011-12-29T09:00:00-10:00",
			want:   []string{"2011-12-29T09:00:00-10:00", "2011-12-31T09:00:00+14:00", "2011-12-31T09:00:00+14:00", "2012-01-01T09:00:00+14:00"},
		},
		{
			name: "monthly in a half-hour zone", i: monthly, zone: "Asia/Kolkata",
			anchor: "2024-01-31T00:00:00+05:30",
			want:   []string{"2024-01-31T00:00:00+05:30", "2024-02-29T00:00:00+05:30"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := loadZone(t, tt.zone)
			anchor := mustTime(t, tt.anchor)
			for n, want := range tt.want {
				got := tt.i.Cycle(anchor, n, loc)
				if s := got.Format(time.RFC3339Nano); s != want {
					t.Errorf("Cycle(%d) = %s, want %s", n, s, want)
				}
				if got.Location() != loc {
					t.Errorf("Cycle(%d) is in %v, want %v", n, got.Location(), loc)
				}
			}
		})
	}
}

func TestIntervalCycleNoDrift(t *testing.T) {
	// Each start is computed from the anchor: stepping from the previous
	// start would turn Jan 31 into the 28th for good after February.
	loc := loadZone(t, "Europe/Paris")
	anchor := mustTime(t, "2024-01-31T09:00:00+01:00")
	for n := range 240 {
		got := monthly.Cycle(anchor, n, loc)
		y, m, _ := got.Date()
		last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
		if got.Day() != last || got.Hour() != 9 || got.Minute() != 0 {
			t.Fatalf("Cycle(%d) = %v, want the last day of the month at 09:00", n, got)
		}
		if wantM := time.Month((n % 12) + 1); m != wantM || y != 2024+n/12 {
			t.Fatalf("Cycle(%d) = %v, want %d-%02d", n, got, 2024+n/12, wantM)
		}
	}
}

func TestIntervalPanics(t *testing.T) {
	anchor := mustTime(t, "2024-01-01T00:00:00Z")
	tests := []struct {
		name string
		f    func()
	}{
		{"Cycle zero count", func() { agentpay.Interval{Unit: agentpay.IntervalDay}.Cycle(anchor, 1, time.UTC) }},
		{"Cycle unknown unit", func() { agentpay.Interval{Unit: "hour", Count: 1}.Cycle(anchor, 1, time.UTC) }},
		{"Cycle negative n", func() { daily.Cycle(anchor, -1, time.UTC) }},
		{"PeriodOf zero count", func() { agentpay.Interval{Unit: agentpay.IntervalMonth}.PeriodOf(anchor, anchor, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.f()
		})
	}
}

func TestIntervalPeriodOf(t *testing.T) {
	tests := []struct {
		name      string
		i         agentpay.Interval
		zone      string
		anchor, t string
		ok        bool
		n         int
		start     string
		end       string
	}{
		{
			name: "at the anchor", i: monthly, zone: "UTC",
			anchor: "2024-01-31T10:00:00Z", t: "2024-01-31T10:00:00Z",
			ok: true, n: 0, start: "2024-01-31T10:00:00Z", end: "2024-02-29T10:00:00Z",
		},
		{
			name: "one nanosecond before the anchor", i: monthly, zone: "UTC",
			anchor: "2024-01-31T10:00:00Z", t: "2024-01-31T09:59:59.999999999Z",
		},
		{
			name: "a year before the anchor", i: yearly, zone: "UTC",
			anchor: "2024-01-31T10:00:00Z", t: "2023-01-31T10:00:00Z",
		},
		{
			name: "exactly at a start", i: monthly, zone: "UTC",
			anchor: "2024-01-31T10:00:00Z", t: "2024-02-29T10:00:00Z",
			ok: true, n: 1, start: "2024-02-29T10:00:00Z", end: "2024-03-31T10:00:00Z",
		},
		{
			name: "one nanosecond before a start", i: monthly, zone: "UTC",
			anchor: "2024-01-31T10:00:00Z", t: "2024-02-29T09:59:59.999999999Z",
			ok: true, n: 0, start: "2024-01-31T10:00:00Z", end: "2024-02-29T10:00:00Z",
		},
		{
			// Same day of the month as a start, earlier in the day: the
			// month estimate is one too many and must be corrected.
			name: "start day, before the start time", i: monthly, zone: "UTC",
			anchor: "2024-01-15T10:00:00Z", t: "2024-06-15T09:00:00Z",
			ok: true, n: 4, start: "2024-05-15T10:00:00Z", end: "2024-06-15T10:00:00Z",
		},
		{
			// On Feb 28 2025 after 10:00, a Jan 31 schedule is already in
			// its Feb period though the day of month is "smaller".
			name: "clamped start", i: monthly, zone: "UTC",
			anchor: "2025-01-31T10:00:00Z", t: "2025-02-28T11:00:00Z",
			ok: true, n: 1, start: "2025-02-28T10:00:00Z", end: "2025-03-31T10:00:00Z",
		},
		{
			name: "quarterly, last nanosecond of a period", i: quarterly, zone: "UTC",
			anchor: "2023-11-30T12:00:00Z", t: "2024-05-30T11:59:59.999999999Z",
			ok: true, n: 1, start: "2024-02-29T12:00:00Z", end: "2024-05-30T12:00:00Z",
		},
		{
			name: "yearly Feb 29, in a common year", i: yearly, zone: "UTC",
			anchor: "2024-02-29T00:00:00Z", t: "2027-02-28T00:00:00Z",
			ok: true, n: 3, start: "2027-02-28T00:00:00Z", end: "2028-02-29T00:00:00Z",
		},
		{
			name: "yearly Feb 29, the day after a common-year start", i: yearly, zone: "UTC",
			anchor: "2024-02-29T00:00:00Z", t: "2026-03-01T00:00:00Z",
			ok: true, n: 2, start: "2026-02-28T00:00:00Z", end: "2027-02-28T00:00:00Z",
		},
		{
			name: "every 2 weeks, mid-period", i: agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 2}, zone: "UTC",
			anchor: "2024-01-01T00:00:00Z", t: "2024-01-20T00:00:00Z",
			ok: true, n: 1, start: "2024-01-15T00:00:00Z", end: "2024-01-29T00:00:00Z",
		},
		{
			// The period that contains the DST change is 23 hours long.
			name: "daily 02:30 New York, inside the shortened gap day", i: daily, zone: "America/New_York",
			anchor: "2024-03-01T02:30:00-05:00", t: "2024-03-10T03:00:00-04:00",
			ok: true, n: 8, start: "2024-03-09T02:30:00-05:00", end: "2024-03-10T03:30:00-04:00",
		},
		{
			name: "daily 02:30 New York, at the moved start", i: daily, zone: "America/New_York",
			anchor: "2024-03-01T02:30:00-05:00", t: "2024-03-10T03:30:00-04:00",
			ok: true, n: 9, start: "2024-03-10T03:30:00-04:00", end: "2024-03-11T02:30:00-04:00",
		},
		{
			// t given in UTC, the schedule is in London: 08:30Z is 09:30 BST.
			name: "t in another zone", i: weekly, zone: "Europe/London",
			anchor: "2024-03-24T09:00:00Z", t: "2024-03-31T08:30:00Z",
			ok: true, n: 1, start: "2024-03-31T09:00:00+01:00", end: "2024-04-07T09:00:00+01:00",
		},
		{
			// Samoa's skipped day makes period 1 empty; it is never returned.
			name: "skipped day", i: daily, zone: "Pacific/Apia",
			anchor: "2011-12-29T09:00:00-10:00", t: "2011-12-31T09:00:00+14:00",
			ok: true, n: 2, start: "2011-12-31T09:00:00+14:00", end: "2012-01-01T09:00:00+14:00",
		},
		{
			name: "just before the skipped day's start", i: daily, zone: "Pacific/Apia",
			anchor: "2011-12-29T09:00:00-10:00", t: "2011-12-31T08:59:59+14:00",
			ok: true, n: 0, start: "2011-12-29T09:00:00-10:00", end: "2011-12-31T09:00:00+14:00",
		},
		{
			// Beyond the 292 years a time.Duration can hold.
			name: "daily over eight millennia", i: daily, zone: "UTC",
			anchor: "0001-01-01T00:00:00Z", t: "9999-12-30T23:59:59Z",
			ok: true, n: 3652057, start: "9999-12-30T00:00:00Z", end: "9999-12-31T00:00:00Z",
		},
		{
			name: "yearly Feb 29 over seven millennia", i: yearly, zone: "UTC",
			anchor: "2000-02-29T00:00:00Z", t: "9000-02-28T12:00:00Z",
			ok: true, n: 7000, start: "9000-02-28T00:00:00Z", end: "9001-02-28T00:00:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := loadZone(t, tt.zone)
			anchor, at := mustTime(t, tt.anchor), mustTime(t, tt.t)
			n, start, end, ok := tt.i.PeriodOf(anchor, at, loc)
			if ok != tt.ok {
				t.Fatalf("PeriodOf ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				if n != 0 || !start.IsZero() || !end.IsZero() {
					t.Errorf("PeriodOf = %d, %v, %v with ok false, want zero values", n, start, end)
				}
				return
			}
			if n != tt.n {
				t.Errorf("n = %d, want %d", n, tt.n)
			}
			if s := start.Format(time.RFC3339Nano); s != tt.start {
				t.Errorf("start = %s, want %s", s, tt.start)
			}
			if s := end.Format(time.RFC3339Nano); s != tt.end {
				t.Errorf("end = %s, want %s", s, tt.end)
			}
		})
	}
}

// TestIntervalPeriodOfAgreesWithCycle walks thousands of periods with Cycle
// and checks that PeriodOf finds each of them from a time at, just before
// and inside it, without walking.
func TestIntervalPeriodOfAgreesWithCycle(t *testing.T) {
	tests := []struct {
		name    string
		i       agentpay.Interval
		zone    string
		anchor  string
		periods int
	}{
		{"daily 09:00 London, 10 years", daily, "Europe/London", "2020-01-01T09:00:00Z", 3653},
		{"daily 02:30 New York, 10 years of DST gaps", daily, "America/New_York", "2020-01-01T02:30:00-05:00", 3653},
		{"daily 01:30 London, 10 years of repeated hours", daily, "Europe/London", "2020-01-01T01:30:00Z", 3653},
		{"daily 00:30 Sao Paulo, midnight DST changes", daily, "America/Sao_Paulo", "2010-01-01T00:30:00-02:00", 3653},
		{"every 3 days Lord Howe, half-hour DST", agentpay.Interval{Unit: agentpay.IntervalDay, Count: 3}, "Australia/Lord_Howe", "2020-01-01T02:15:00+11:00", 1300},
		{"weekly 09:00 New York, 40 years", weekly, "America/New_York", "2000-01-02T09:00:00-05:00", 2087},
		{"monthly Jan 31, 200 years", monthly, "Europe/Berlin", "2000-01-31T23:30:00+01:00", 2400},
		{"quarterly Nov 30, 300 years", quarterly, "UTC", "1999-11-30T00:00:00Z", 1200},
		{"yearly Feb 29, 1000 years", yearly, "Pacific/Auckland", "2000-02-29T12:00:00+13:00", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := loadZone(t, tt.zone)
			anchor := mustTime(t, tt.anchor)
			// Each period must be non-empty here (no skipped days in these
			// zones and years), or PeriodOf could not return every k.
			start := tt.i.Cycle(anchor, 0, loc)
			for k := range tt.periods {
				end := tt.i.Cycle(anchor, k+1, loc)
				if !end.After(start) {
					t.Fatalf("Cycle(%d) = %v is not after Cycle(%d) = %v", k+1, end, k, start)
				}
				for _, at := range []time.Time{start, start.Add(end.Sub(start) / 2), end.Add(-time.Nanosecond)} {
					n, s, e, ok := tt.i.PeriodOf(anchor, at, loc)
					if !ok || n != k || !s.Equal(start) || !e.Equal(end) {
						t.Fatalf("PeriodOf(%v) = %d, %v, %v, %v; want %d, %v, %v", at, n, s, e, ok, k, start, end)
					}
				}
				start = end
			}
		})
	}
}

// FuzzPeriodOf checks the defining invariant of PeriodOf on arbitrary
// schedules: ok exactly when t is not before the anchor, and then
// Cycle(n) ≤ t < Cycle(n+1) with start and end equal to those.
func FuzzPeriodOf(f *testing.F) {
	zones := []string{
		"UTC", "Europe/London", "America/New_York", "America/Sao_Paulo", "Australia/Lord_Howe",
		"Pacific/Apia", "Pacific/Chatham", "Asia/Kolkata", "America/St_Johns", "Antarctica/Troll",
	}
	locs := make([]*time.Location, len(zones))
	for i, z := range zones {
		locs[i] = loadZone(f, z)
	}
	units := []agentpay.IntervalUnit{agentpay.IntervalDay, agentpay.IntervalWeek, agentpay.IntervalMonth, agentpay.IntervalYear}

	f.Add(int64(1706695200), int64(0), uint32(0), uint32(0), uint8(2), uint16(1), uint8(0))               // Jan 31 monthly, at the anchor
	f.Add(int64(1706695200), int64(2505599), uint32(0), uint32(999999999), uint8(2), uint16(1), uint8(0)) // 1 ns before Feb 29
	f.Add(int64(1709969400), int64(88200), uint32(0), uint32(0), uint8(0), uint16(1), uint8(2))           // 02:30 New York, gap day
	f.Add(int64(1709969400), int64(-1), uint32(0), uint32(0), uint8(1), uint16(3), uint8(2))              // before the anchor
	f.Add(int64(1325185200), int64(172800), uint32(0), uint32(0), uint8(0), uint16(1), uint8(5))          // Samoa's skipped day
	f.Add(int64(951778800), int64(3155760000), uint32(0), uint32(0), uint8(3), uint16(1), uint8(6))       // Feb 29 yearly, a century on
	f.Fuzz(func(t *testing.T, anchorSec, delta int64, anchorNsec, tNsec uint32, unit uint8, count uint16, zone uint8) {
		// Keep both times within 1900–2300, where zone rules are known and
		// times format normally; the span still exceeds what a
		// time.Duration can hold.
		const lo, hi = -2208988800, 10413792000 // 1900-01-01, 2300-01-01
		const span = hi - lo
		if anchorSec < lo || anchorSec >= hi {
			anchorSec = lo + mod(anchorSec, span)
		}
		if delta < -span || delta > span {
			delta = mod(delta, 2*span) - span
		}
		tSec := anchorSec + delta
		if tSec < lo || tSec >= hi {
			tSec = lo + mod(tSec, span)
		}
		anchor := time.Unix(anchorSec, int64(anchorNsec%1e9))
		at := time.Unix(tSec, int64(tNsec%1e9))
		u := units[int(unit)%len(units)]
		i := agentpay.Interval{Unit: u, Count: 1 + int(count)%agentpay.IntervalCountMax(u)}
		loc := locs[int(zone)%len(locs)]

		n, start, end, ok := i.PeriodOf(anchor, at, loc)
		if ok != !at.Before(anchor) {
			t.Fatalf("PeriodOf(%v, %v, %v, %v) ok = %v", i, anchor, at, loc, ok)
		}
		if !ok {
			return
		}
		c0, c1 := i.Cycle(anchor, n, loc), i.Cycle(anchor, n+1, loc)
		if n < 0 || c0.After(at) || !at.Before(c1) {
			t.Fatalf("PeriodOf(%v, %v, %v, %v) = %d: Cycle(n) = %v, Cycle(n+1) = %v do not bracket t", i, anchor, at, loc, n, c0, c1)
		}
		if !start.Equal(c0) || !end.Equal(c1) {
			t.Fatalf("PeriodOf(%v, %v, %v, %v) = %d, %v, %v; want %v, %v", i, anchor, at, loc, n, start, end, c0, c1)
		}
	})
}

// mod is the non-negative remainder of a by m > 0.
func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}
