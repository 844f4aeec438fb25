// Package schedule is the BackupSchedule's clock arithmetic: parsing cron expressions in a time
// zone, the next slot, the most recent slot that is due (computed, never found by walking
// thousands of missed slots), the starting deadline, and whether a slot takes a FULL backup. It
// is pure: every function takes the time it reasons about.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser is cron's standard five fields plus the descriptors (@daily, ...), as the CRD admits.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron expression in a time zone.
type Schedule struct {
	expr  string
	loc   *time.Location
	sched cron.Schedule
}

// Parse reads a five-field cron expression or descriptor in the IANA time zone tz ("" = UTC).
// It refuses what the CRD's check cannot see: ranges that run backwards, @every, and schedules
// that never fire (such as 30 February).
func Parse(expr, tz string) (*Schedule, error) {
	if tz == "" {
		tz = "UTC"
	}
	if tz == "Local" {
		// time.LoadLocation's "Local" is the operator machine's zone: one schedule would
		// fire at other instants after a move to another node.
		return nil, errors.New(`time zone "Local" is the operator machine's zone: name the zone, e.g. Europe/Berlin`)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, errors.New("@every is not supported: slots must fall on fixed clock times")
	}
	if strings.Contains(expr, "TZ=") {
		return nil, errors.New("put the time zone in spec.timeZone, not in the schedule")
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("cron expression %q: %w", expr, err)
	}
	s := &Schedule{expr: expr, loc: loc, sched: sched}
	// robfig/cron gives up after five years without a match and returns the zero time.
	probe := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.Next(probe).IsZero() {
		return nil, fmt.Errorf("cron expression %q never fires", expr)
	}
	return s, nil
}

func (s *Schedule) String() string { return s.expr }

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// NextN is the first n slots after t, in UTC.
func (s *Schedule) NextN(t time.Time, n int) []time.Time {
	var out []time.Time
	for range n {
		if t = s.Next(t); t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// Next is the first slot strictly after t, in UTC (zero if none within five years). When a
// daylight-saving change repeats an hour, a wall-clock time in it is a slot once (its first
// occurrence), not twice; a time in an hour the change skips is not a slot that day.
func (s *Schedule) Next(t time.Time) time.Time {
	n := s.sched.Next(t.In(s.loc))
	for !n.IsZero() && s.repeated(n) {
		n = s.sched.Next(n)
	}
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// repeated reports whether the wall-clock time of t already happened earlier: the second pass
// through the time a daylight-saving change repeats. The change is not always an hour (Lord Howe
// Island goes back 30 minutes, Troll station two hours): it is the drop in the zone's offset
// over the last maxShift, and the first pass was that much earlier.
func (s *Schedule) repeated(t time.Time) bool {
	local := t.In(s.loc)
	_, now := local.Zone()
	_, before := t.Add(-maxShift).In(s.loc).Zone()
	if before <= now {
		return false
	}
	earlier := t.Add(-time.Duration(before-now) * time.Second).In(s.loc)
	return earlier.Year() == local.Year() && earlier.YearDay() == local.YearDay() &&
		earlier.Hour() == local.Hour() && earlier.Minute() == local.Minute()
}

// maxShift bounds how far clocks go back at once in the IANA database (two hours at most in
// use today; one transition per zone within it).
const maxShift = 3 * time.Hour

// IsSlot reports whether t is a slot of s (to the minute, as cron resolves).
func (s *Schedule) IsSlot(t time.Time) bool {
	t = t.Truncate(time.Minute)
	return s.Next(t.Add(-time.Second)).Equal(t)
}

// Due is the decision for one reconcile.
type Due struct {
	// Slot is the slot to take now; zero when nothing is due.
	Slot time.Time
	// Missed counts slots in (since, now] that will not be taken: all but Slot, or all of them
	// when the newest is past the deadline. Exact up to a thousand, estimated beyond (an outage
	// of months must not cost a walk over every minute).
	Missed int64
	// TooLate is the newest slot that was skipped for the deadline, if any.
	TooLate time.Time
	// Next is the first slot after now: when to look again.
	Next time.Time
}

// exactUpTo is how many slots Due walks one by one before it estimates.
const exactUpTo = 1000

// DueAt decides what is due at now for a schedule whose newest handled slot (taken or skipped)
// is since: the most recent slot in (since, now], taken if it is no older than deadline (nil:
// no deadline). However long the outage, at most one slot is due: never a catch-up storm.
func (s *Schedule) DueAt(since, now time.Time, deadline *time.Duration) Due {
	d := Due{Next: s.Next(now)}
	first := s.Next(since)
	if first.IsZero() || first.After(now) {
		return d
	}
	recent, count := s.mostRecent(first, now)
	if deadline != nil && now.Sub(recent) > *deadline {
		d.TooLate = recent
		d.Missed = count
		return d
	}
	d.Slot = recent
	d.Missed = count - 1
	return d
}

// mostRecent finds the newest slot in [first, now] (first is a slot ≤ now) and how many slots
// that range holds. It walks up to exactUpTo slots; past that it jumps close to now by the
// schedule's period and walks the rest, estimating the count.
func (s *Schedule) mostRecent(first, now time.Time) (time.Time, int64) {
	recent, count := first, int64(1)
	for t := s.Next(first); !t.IsZero() && !t.After(now); t = s.Next(t) {
		recent, count = t, count+1
		if count == exactUpTo {
			return s.jump(recent, now, count)
		}
	}
	return recent, count
}

// jump finds the newest slot ≤ now starting from a slot far behind it: back off from now in
// doubling windows until one holds a slot, then walk that window (a few slots for any regular
// schedule). The count of skipped slots is estimated from the average period seen so far.
func (s *Schedule) jump(from, now time.Time, counted int64) (time.Time, int64) {
	for window := time.Hour; ; window *= 2 {
		start := now.Add(-window)
		if !start.After(from) {
			start = from
		}
		t := s.Next(start.Add(-time.Second))
		if t.IsZero() || t.After(now) {
			if start.Equal(from) {
				return from, counted
			}
			continue
		}
		recent := t
		for n := s.Next(t); !n.IsZero() && !n.After(now); n = s.Next(n) {
			recent = n
		}
		est := counted
		if period := s.Next(recent).Sub(recent); period > 0 {
			est += int64(recent.Sub(from) / period)
		}
		return recent, est
	}
}

// FullSlot decides whether a slot of the schedule takes a FULL backup: always when there is no
// chain to extend (the schedule's first backup, or its chain's FULL failed or is gone), else when
// the slot is also a slot of full (nil: never by schedule).
func FullSlot(full *Schedule, slot time.Time, chainExists bool) bool {
	if !chainExists {
		return true
	}
	return full != nil && full.IsSlot(slot)
}

// MaxGap is the longest time between two consecutive slots over at least a week and three gaps
// from from: what "N intervals without a backup" must be measured in for a schedule whose slots
// are not evenly spaced (weekdays only, say, where Friday to Monday is 72 h). Zero if the
// schedule has fewer than two slots ahead.
func (s *Schedule) MaxGap(from time.Time) time.Duration {
	var gap time.Duration
	prev := s.Next(from)
	end := prev.Add(8 * 24 * time.Hour)
	for gaps := 0; !prev.IsZero() && (prev.Before(end) || gaps < 3) && gaps < 20000; gaps++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if d := next.Sub(prev); d > gap {
			gap = d
		}
		prev = next
	}
	return gap
}
