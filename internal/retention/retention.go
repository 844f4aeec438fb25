// Package retention decides which backups of a schedule to keep. It is chain-aware: a DIFF is
// only restorable with the FULL that started its chain and every DIFF between them, so keeping a
// DIFF keeps those too; the newest restorable chain is always kept, and so are the newest clean
// one and the newest a restore drill verified; and only restorable backups count towards the
// rules, so a run of failures never makes a good backup expire.
package retention

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Backup is one backup of the schedule as retention sees it.
type Backup struct {
	Name string
	// Time the backup was taken (its completion).
	Time time.Time
	// Full: it starts a chain (every database FULL).
	Full bool
	// Restorable: it wrote artifacts (Succeeded, or PartiallyFailed with some databases).
	Restorable bool
	// Clean: every database was backed up and found consistent (Succeeded). A chain is clean
	// when each of its backups back to the FULL is.
	Clean bool
	// Verified: a restore drill restored its chain and found it consistent.
	Verified bool
}

// newestClean is the index in ok (newest first) of the newest backup whose chain is clean, or -1.
func newestClean(ok []Backup) int {
	// Oldest first: a chain is clean so far while every backup since its FULL was.
	best, clean := -1, false
	for i := len(ok) - 1; i >= 0; i-- {
		if ok[i].Full || i == len(ok)-1 {
			clean = true
		}
		clean = clean && ok[i].Clean
		if clean {
			best = i
		}
	}
	return best
}

// Policy is spec.retention in plain values; zero fields are unset.
type Policy struct {
	KeepLast, KeepDaily, KeepWeekly, KeepMonthly int
	MaxAge                                       time.Duration
	// Location buckets days, weeks and months (the schedule's time zone).
	Location *time.Location
}

// Decision maps every restorable backup to why it is kept, or lists it for deletion.
type Decision struct {
	Keep   map[string]string
	Delete []string
}

// Decide applies p to the schedule's backups at now. Backups that are not restorable are not
// retention's business (the failed-history limit handles them) and are in neither list.
func Decide(backups []Backup, p Policy, now time.Time) Decision {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	var ok []Backup
	for _, b := range backups {
		if b.Restorable {
			ok = append(ok, b)
		}
	}
	// Newest first.
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Time.After(ok[j].Time) })
	d := Decision{Keep: map[string]string{}}
	keep := func(b Backup, why string) {
		if _, kept := d.Keep[b.Name]; !kept {
			d.Keep[b.Name] = why
		}
	}
	for i, b := range ok {
		if i < p.KeepLast {
			keep(b, "keepLast")
		}
		if p.MaxAge > 0 && now.Sub(b.Time) < p.MaxAge {
			keep(b, "maxAge")
		}
	}
	bucket := func(n int, why string, key func(time.Time) string) {
		seen := map[string]bool{}
		for _, b := range ok {
			k := key(b.Time.In(loc))
			if seen[k] {
				continue
			}
			if len(seen) == n {
				return
			}
			seen[k] = true
			keep(b, why) // the newest backup of each bucket
		}
	}
	bucket(p.KeepDaily, "keepDaily", func(t time.Time) string { return t.Format("2006-01-02") })
	bucket(p.KeepWeekly, "keepWeekly", func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) })
	bucket(p.KeepMonthly, "keepMonthly", func(t time.Time) string { return t.Format("2006-01") })
	if len(ok) > 0 {
		keep(ok[0], "newest") // the newest restorable chain, whatever the rules say
	}
	if i := newestClean(ok); i >= 0 {
		// And the newest clean one: while the newest chain holds an inconsistent or failed
		// backup, the last chain that restores cleanly is the one that matters.
		keep(ok[i], "newest clean")
	}
	for _, b := range ok {
		if b.Verified {
			// And the newest a restore drill proved: while the chains after it are unproved, it
			// is the one known to restore (kept with its chain below).
			keep(b, "last verified")
			break
		}
	}

	// Chains: oldest first, a FULL opens one, DIFFs extend it. Keeping any member keeps every
	// earlier member of its chain.
	for i := len(ok) - 1; i >= 0; i-- {
		if _, kept := d.Keep[ok[i].Name]; !kept || ok[i].Full {
			continue
		}
		for j := i + 1; j < len(ok); j++ { // older ones
			keep(ok[j], "chain of "+ok[i].Name)
			if ok[j].Full {
				break
			}
		}
	}
	for _, b := range ok {
		if _, kept := d.Keep[b.Name]; !kept {
			d.Delete = append(d.Delete, b.Name)
		}
	}
	return d
}

var ageRE = regexp.MustCompile(`([0-9]+)([smhdw])`)

// MaxAge is the longest maxAge: 100 years of 365 days, far past any backup's use and far below
// where a time.Duration overflows.
const MaxAge = 100 * 365 * 24 * time.Hour

// ParseMaxAge reads spec.retention.maxAge: numbers with units s, m, h, d (24h) or w (7d), e.g.
// "30d", "12h", "1w3d".
func ParseMaxAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if !regexp.MustCompile(`^([0-9]+[smhdw])+$`).MatchString(s) {
		return 0, fmt.Errorf("maxAge %q: want numbers with units s, m, h, d or w, e.g. 30d", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	var total time.Duration
	for _, m := range ageRE.FindAllStringSubmatch(s, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		// Each part and the sum are bounded before they are computed: a Duration overflows
		// past 292 years and would wrap to a small or negative age (expiring everything).
		if err != nil || n > int64(MaxAge/unit[m[2]]) || total+time.Duration(n)*unit[m[2]] > MaxAge {
			return 0, fmt.Errorf("maxAge %q is too large: at most %d weeks", s, int64(MaxAge/unit["w"]))
		}
		total += time.Duration(n) * unit[m[2]]
	}
	if total <= 0 {
		return 0, fmt.Errorf("maxAge %q must be positive", s)
	}
	return total, nil
}

// Protected tells whether the artifacts of backup name must outlive its Backup object: when it
// belongs to the newest restorable chain, or when a later member of its own chain is still there
// (a DIFF needs every artifact of its chain back to the FULL). backups are the restorable
// backups in the same storage location that are not being deleted, plus name itself.
func Protected(name string, backups []Backup) (bool, string) {
	var ok []Backup
	for _, b := range backups {
		if b.Restorable {
			ok = append(ok, b)
		}
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Time.Before(ok[j].Time) }) // oldest first
	chain := make([]int, len(ok))                                                      // chain number of each backup
	n, idx := 0, -1
	for i, b := range ok {
		if b.Full || i == 0 {
			n++
		}
		chain[i] = n
		if b.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		return false, ""
	}
	for i, b := range ok {
		if i != idx && b.Time.Equal(ok[idx].Time) {
			// Which came first is unknown, so which chain needs which is too: keep.
			return true, fmt.Sprintf("backup %s finished at the same time, so the order of their chain is unknown", b.Name)
		}
	}
	if chain[idx] == chain[len(ok)-1] {
		return true, "it belongs to the newest restorable chain"
	}
	newestFirst := make([]Backup, len(ok))
	for i, b := range ok {
		newestFirst[len(ok)-1-i] = b
	}
	if c := newestClean(newestFirst); c >= 0 && chain[len(ok)-1-c] == chain[idx] && idx <= len(ok)-1-c {
		return true, fmt.Sprintf("it belongs to the newest clean chain (up to %s): the newer chain is not clean", ok[len(ok)-1-c].Name)
	}
	for j := idx + 1; j < len(ok) && chain[j] == chain[idx]; j++ {
		return true, fmt.Sprintf("backup %s, a later part of its chain, still needs it", ok[j].Name)
	}
	return false, ""
}

// Heir is the backup that comes right after name in its chain among backups (as Protected reads
// them), or "" when name ends its chain or the order is unknown (equal times): the one to hand
// name's artifacts to when they are kept for the chain, so that they go when the chain goes
// instead of being left behind with no Backup to delete them.
func Heir(name string, backups []Backup) string {
	var ok []Backup
	for _, b := range backups {
		if b.Restorable {
			ok = append(ok, b)
		}
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Time.Before(ok[j].Time) })
	for i, b := range ok {
		if b.Name != name {
			continue
		}
		for j, o := range ok {
			if j != i && o.Time.Equal(b.Time) {
				return ""
			}
		}
		if i+1 < len(ok) && !ok[i+1].Full {
			return ok[i+1].Name
		}
		return ""
	}
	return ""
}
