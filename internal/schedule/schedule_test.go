package schedule

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func must(t *testing.T, expr, tz string) *Schedule {
	t.Helper()
	s, err := Parse(expr, tz)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ expr, tz string }{
		{"5-1 * * * *", ""}, // backwards range: the CRD's pattern lets it through
		{"0 0 30 2 *", ""},  // never fires
		{"@every 1h", ""},   // not slot-aligned
		{"0 2 * * *", "Mars/Olympus"},
		{"0 2 * * *", "Local"}, // the operator machine's zone
		{"TZ=UTC 0 2 * * *", ""},
		{"0 2 * *", ""},
	} {
		if _, err := Parse(tc.expr, tc.tz); err == nil {
			t.Errorf("Parse(%q, %q) accepted", tc.expr, tc.tz)
		}
	}
}

func TestNextInTimeZones(t *testing.T) {
	for _, tc := range []struct {
		expr, tz, after, want string
	}{
		{"0 2 * * *", "UTC", "2026-11-28T02:00:00Z", "2026-11-29T02:00:00Z"},
		{"0 2 * * *", "Europe/Berlin", "2026-11-28T00:00:00Z", "2026-11-28T01:00:00Z"}, // CET = UTC+1
		{"0 2 * * *", "Europe/Berlin", "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z"}, // CEST = UTC+2
		{"@hourly", "Asia/Kolkata", "2026-11-28T10:10:00Z", "2026-11-28T10:30:00Z"},    // UTC+5:30
		{"0 0 * * SUN", "UTC", "2026-11-28T12:00:00Z", "2026-11-29T00:00:00Z"},
	} {
		if got := must(t, tc.expr, tc.tz).Next(utc(tc.after)); !got.Equal(utc(tc.want)) {
			t.Errorf("%s in %s after %s: got %s, want %s", tc.expr, tc.tz, tc.after, got, tc.want)
		}
	}
}

// Daylight-saving transitions in Europe/Berlin, 2026: clocks go 02:00 -> 03:00 on 29 March and
// 03:00 -> 02:00 on 25 October.
func TestDaylightSaving(t *testing.T) {
	s := must(t, "30 2 * * *", "Europe/Berlin")
	// Spring: 02:30 does not exist on 29 March; that day has no slot (none at a made-up 03:30),
	// and the next is 30 March 02:30 CEST.
	var slots []time.Time
	for t0 := utc("2026-03-28T00:00:00Z"); len(slots) < 3; {
		t0 = s.Next(t0)
		slots = append(slots, t0)
	}
	want := []string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}
	for i, w := range want {
		if !slots[i].Equal(utc(w)) {
			t.Errorf("spring slot %d: got %s, want %s", i, slots[i], w)
		}
	}
	// Autumn: 02:30 happens twice on 25 October; it is taken once.
	n := 0
	for t0 := utc("2026-10-24T23:00:00Z"); ; {
		t0 = s.Next(t0)
		if t0.After(utc("2026-10-25T23:00:00Z")) {
			break
		}
		n++
	}
	if n != 1 {
		t.Errorf("autumn: the repeated 02:30 fired %d times, want 1", n)
	}
}

// A repeated wall-clock time fires once also where the clocks go back by other than an hour:
// Lord Howe Island by 30 minutes (02:00 -> 01:30 on 5 April 2026), Troll station by two hours
// (03:00 -> 01:00 on 25 October 2026).
func TestRepeatedTimesOfOtherShifts(t *testing.T) {
	for _, tc := range []struct {
		tz, expr, from, to string
	}{
		{"Australia/Lord_Howe", "45 1 * * *", "2026-04-04T12:00:00Z", "2026-04-05T12:00:00Z"},
		{"Antarctica/Troll", "30 1 * * *", "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z"},
		{"Antarctica/Troll", "30 2 * * *", "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z"},
		{"Antarctica/Troll", "*/30 1-2 * * *", "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z"},
	} {
		s := must(t, tc.expr, tc.tz)
		seen := map[string]int{}
		for t0 := utc(tc.from); ; {
			t0 = s.Next(t0)
			if t0.After(utc(tc.to)) {
				break
			}
			seen[t0.In(s.loc).Format("15:04")]++
		}
		for wall, n := range seen {
			if n != 1 {
				t.Errorf("%s %q: %s fired %d times on the day the clocks go back, want once (%v)", tc.tz, tc.expr, wall, n, seen)
			}
		}
		if len(seen) == 0 {
			t.Errorf("%s %q: no slot that day", tc.tz, tc.expr)
		}
	}
}

func TestDueAt(t *testing.T) {
	every := must(t, "* * * * *", "UTC")
	nightly := must(t, "0 2 * * *", "UTC")
	hour := time.Hour
	for _, tc := range []struct {
		name          string
		s             *Schedule
		since, now    string
		deadline      *time.Duration
		slot, tooLate string
		missed        int64
		exactMissed   bool
		next          string
	}{
		{name: "nothing due yet", s: nightly, since: "2026-11-28T02:00:00Z", now: "2026-11-28T12:00:00Z", next: "2026-11-29T02:00:00Z", exactMissed: true},
		{name: "on time", s: nightly, since: "2026-11-28T02:00:00Z", now: "2026-11-29T02:00:00.1Z", slot: "2026-11-29T02:00:00Z", exactMissed: true, next: "2026-11-30T02:00:00Z"},
		{name: "two nights missed: one catch-up", s: nightly, since: "2026-11-26T02:00:00Z", now: "2026-11-29T03:00:00Z", slot: "2026-11-29T02:00:00Z", missed: 2, exactMissed: true},
		{name: "within the deadline", s: nightly, since: "2026-11-28T02:00:00Z", now: "2026-11-29T02:59:00Z", deadline: &hour, slot: "2026-11-29T02:00:00Z", exactMissed: true},
		{name: "past the deadline", s: nightly, since: "2026-11-28T02:00:00Z", now: "2026-11-29T03:01:00Z", deadline: &hour, tooLate: "2026-11-29T02:00:00Z", missed: 1, exactMissed: true},
		{name: "every minute, an hour down", s: every, since: "2026-11-28T10:00:00Z", now: "2026-11-28T11:00:30Z", slot: "2026-11-28T11:00:00Z", missed: 59, exactMissed: true},
		// Three months of an every-minute schedule: one backup, not 130,000, and no walk over them.
		{name: "every minute, three months down", s: every, since: "2026-08-28T00:00:00Z", now: "2026-11-28T00:00:30Z", slot: "2026-11-28T00:00:00Z", missed: 132479},
		{name: "weekdays over a weekend", s: must(t, "0 9 * * 1-5", "UTC"), since: "2026-11-27T09:00:00Z", now: "2026-11-30T09:30:00Z", slot: "2026-11-30T09:00:00Z", exactMissed: true},
		{name: "sparse: 1st and 2nd of the month", s: must(t, "0 0 1,2 * *", "UTC"), since: "2026-01-02T00:00:00Z", now: "2026-11-20T00:00:00Z", slot: "2026-11-02T00:00:00Z", missed: 19, exactMissed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.s.DueAt(utc(tc.since), utc(tc.now), tc.deadline)
			if tc.slot == "" && !d.Slot.IsZero() || tc.slot != "" && !d.Slot.Equal(utc(tc.slot)) {
				t.Errorf("slot %s, want %q", d.Slot, tc.slot)
			}
			if tc.tooLate == "" && !d.TooLate.IsZero() || tc.tooLate != "" && !d.TooLate.Equal(utc(tc.tooLate)) {
				t.Errorf("too late %s, want %q", d.TooLate, tc.tooLate)
			}
			if tc.exactMissed && d.Missed != tc.missed {
				t.Errorf("missed %d, want %d", d.Missed, tc.missed)
			}
			if !tc.exactMissed && (d.Missed < tc.missed*99/100 || d.Missed > tc.missed*101/100) {
				t.Errorf("missed %d, want about %d", d.Missed, tc.missed)
			}
			if tc.next != "" && !d.Next.Equal(utc(tc.next)) {
				t.Errorf("next %s, want %s", d.Next, tc.next)
			}
		})
	}
}

func TestFullSlot(t *testing.T) {
	weekly := must(t, "0 2 * * 0", "UTC")
	sunday, monday := utc("2026-11-29T02:00:00Z"), utc("2026-11-30T02:00:00Z")
	for _, tc := range []struct {
		full  *Schedule
		slot  time.Time
		chain bool
		want  bool
	}{
		{weekly, sunday, true, true},
		{weekly, monday, true, false},
		{weekly, monday, false, true}, // no chain: FULL whatever the slot
		{nil, monday, true, false},
		{nil, monday, false, true},
	} {
		if got := FullSlot(tc.full, tc.slot, tc.chain); got != tc.want {
			t.Errorf("FullSlot(%v, %s, chain=%t) = %t", tc.full, tc.slot, tc.chain, got)
		}
	}
}

func BenchmarkDueAtThreeMonthOutage(b *testing.B) {
	s, _ := Parse("* * * * *", "UTC")
	since, now := utc("2026-08-28T00:00:00Z"), utc("2026-11-28T00:00:30Z")
	for range b.N {
		s.DueAt(since, now, nil)
	}
}

// FuzzSchedule: whatever parses behaves: DueAt never returns a slot after now or before the
// last handled slot, never counts negative misses, and Next moves forward.
func FuzzSchedule(f *testing.F) {
	for _, seed := range []string{"* * * * *", "0 2 * * *", "*/15 9-17 * * 1-5", "@daily", "0 0 1,15 * ?", "30 2 * * *"} {
		f.Add(seed, "Europe/Berlin", int64(1_795_000_000), int64(3600*24*40))
	}
	f.Fuzz(func(t *testing.T, expr, tz string, sinceUnix, gap int64) {
		s, err := Parse(expr, tz)
		if err != nil {
			return
		}
		if sinceUnix < 0 || sinceUnix > 4_000_000_000 || gap < 0 || gap > 3600*24*400 {
			return
		}
		since := time.Unix(sinceUnix, 0).UTC()
		now := since.Add(time.Duration(gap) * time.Second)
		d := s.DueAt(since, now, nil)
		if !d.Slot.IsZero() && (d.Slot.After(now) || !d.Slot.After(since)) {
			t.Fatalf("%q in %s: slot %s outside (%s, %s]", expr, tz, d.Slot, since, now)
		}
		if d.Missed < 0 {
			t.Fatalf("%q: negative misses", expr)
		}
		if n := s.Next(now); !n.IsZero() && !n.After(now) {
			t.Fatalf("%q: Next(%s) = %s", expr, now, n)
		}
	})
}

func TestMaxGap(t *testing.T) {
	from := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) // a Friday
	for expr, want := range map[string]time.Duration{
		"* * * * *":   time.Minute,
		"0 2 * * 1-5": 72 * time.Hour,
		"0 2 * * *":   24 * time.Hour,
		"0 0 1 * *":   31 * 24 * time.Hour,
		"0 3 * * 0":   7 * 24 * time.Hour,
	} {
		s, err := Parse(expr, "UTC")
		if err != nil {
			t.Fatal(err)
		}
		if got := s.MaxGap(from); got != want {
			t.Errorf("%s: %s, want %s", expr, got, want)
		}
	}
}

// TestNextNAcrossTheSpringChange: Europe/Berlin skips 02:00-03:00 on Sunday 28 March 2027, so a
// 02:30 schedule has no slot that day; the offsets are worked out by hand (CET +1, CEST +2).
func TestNextNAcrossTheSpringChange(t *testing.T) {
	s, err := Parse("30 2 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	got := s.NextN(time.Date(2027, 3, 27, 0, 0, 0, 0, time.UTC), 3)
	want := []time.Time{
		time.Date(2027, 3, 27, 1, 30, 0, 0, time.UTC),
		time.Date(2027, 3, 29, 0, 30, 0, 0, time.UTC),
		time.Date(2027, 3, 30, 0, 30, 0, 0, time.UTC),
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("slot %d: %s, want %s", i, got[i], want[i])
		}
	}
}
