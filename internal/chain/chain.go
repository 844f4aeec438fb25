// Package chain resolves which backup artifacts a restore needs: the FULL and the contiguous
// DIFFs that end at a chosen artifact, or the newest chain that reaches a point in time or a
// transaction. It refuses, with the reason, a chain with a gap in its transactions, a DIFF whose
// FULL is gone, or a point no chain covers. Pure: artifacts come from Backup statuses (or an
// inspection of the storage) as plain values.
package chain

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Artifact is one backup artifact of one database.
type Artifact struct {
	// File is the artifact's name in the storage path.
	File string
	// Backup is the Backup that wrote it ("" when found in storage only).
	Backup string
	// Time the backup was taken.
	Time time.Time
	Full bool
	// LowTx..HighTx is the transaction range it holds. An empty DIFF (nothing new since the
	// previous backup) has 0..0 and is skipped over.
	LowTx, HighTx int64
	// Clean: backed up without error and not found inconsistent. Resolve restores an unclean
	// artifact as asked; Window counts only clean chains.
	Clean bool
}

func (a Artifact) empty() bool { return !a.Full && a.LowTx == 0 && a.HighTx == 0 }

// Target is what to restore up to: exactly one of EndAt, Until and UntilTx, or none for the
// newest restorable point.
type Target struct {
	// EndAt is an artifact file: restore the chain that ends there (a Backup's own artifact).
	EndAt string
	// Until restores the transactions committed up to this time.
	Until *time.Time
	// UntilTx restores up to and including this transaction.
	UntilTx int64
}

// Errors, for conditions.
var (
	ErrNoFull     = errors.New("no FULL backup starts the chain")
	ErrGap        = errors.New("the chain has a gap in its transactions")
	ErrNotCovered = errors.New("no chain covers the point asked for")
	ErrNotFound   = errors.New("the artifact asked for is not in the storage")
)

// Chain is the artifacts to restore, FULL first, and the last transaction it reaches.
type Chain struct {
	Artifacts []Artifact
	// HighTx is the highest transaction the chain holds.
	HighTx int64
}

// Files lists the chain's artifact names, FULL first.
func (c Chain) Files() []string {
	out := make([]string, len(c.Artifacts))
	for i, a := range c.Artifacts {
		out[i] = a.File
	}
	return out
}

// Resolve picks the chain for target from the artifacts of one database.
func Resolve(arts []Artifact, target Target) (Chain, error) {
	if len(arts) == 0 {
		return Chain{}, fmt.Errorf("%w: there is no backup of this database", ErrNotCovered)
	}
	sorted := append([]Artifact(nil), arts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })

	end := len(sorted) - 1
	switch {
	case target.EndAt != "":
		end = -1
		for i, a := range sorted {
			if a.File == target.EndAt {
				end = i
			}
		}
		if end < 0 {
			return Chain{}, fmt.Errorf("%w: %s", ErrNotFound, target.EndAt)
		}
	case target.Until != nil:
		// The artifact that spans the point: the first taken at or after it. A FULL cannot be
		// rewound (it is a snapshot of its own moment), so unless it was taken exactly then,
		// the point falls between two chains and nothing reaches it.
		t := *target.Until
		end = -1
		for i, a := range sorted {
			if !a.Time.Before(t) {
				end = i
				break
			}
		}
		switch {
		case end < 0:
			return Chain{}, fmt.Errorf("%w: the newest backup (%s) was taken before %s", ErrNotCovered,
				sorted[len(sorted)-1].Time.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
		case sorted[end].Full && !sorted[end].Time.Equal(t):
			return Chain{}, fmt.Errorf("%w: a new chain starts with FULL %s after %s, and the chain before it ends earlier",
				ErrNotCovered, sorted[end].File, t.UTC().Format(time.RFC3339))
		}
	case target.UntilTx > 0:
		// The newest artifact whose range holds the transaction; a FULL only when the
		// transaction is its last (a FULL cannot be rewound).
		tx := target.UntilTx
		end = -1
		for i := len(sorted) - 1; i >= 0; i-- {
			a := sorted[i]
			if a.empty() || tx < a.LowTx || tx > a.HighTx || (a.Full && tx != a.HighTx) {
				continue
			}
			end = i
			break
		}
		if end < 0 {
			return Chain{}, fmt.Errorf("%w: no backup holds transaction %d in a range that can be restored to it (the newest reaches %d)",
				ErrNotCovered, tx, highest(sorted))
		}
	}

	// Walk back from the end to the FULL that starts its chain.
	start := -1
	for i := end; i >= 0; i-- {
		if sorted[i].Full {
			start = i
			break
		}
	}
	if start < 0 {
		return Chain{}, fmt.Errorf("%w for %s", ErrNoFull, sorted[end].File)
	}
	c := Chain{}
	var gaps []string
	for _, a := range sorted[start : end+1] {
		if a.empty() {
			continue
		}
		if len(c.Artifacts) > 0 && a.LowTx != c.HighTx+1 {
			gaps = append(gaps, fmt.Sprintf("%s starts at transaction %d, after %d", a.File, a.LowTx, c.HighTx))
		}
		c.Artifacts = append(c.Artifacts, a)
		c.HighTx = a.HighTx
	}
	if len(gaps) > 0 {
		return Chain{}, fmt.Errorf("%w: %s", ErrGap, strings.Join(gaps, "; "))
	}
	return c, nil
}

// Window is the span of points a database can be restored to, cleanly: the oldest and the newest
// artifact that ends a chain Resolve accepts (a FULL, then contiguous DIFFs) whose every artifact
// is clean, and the last transaction the newest such chain holds.
type Window struct {
	Oldest, Newest time.Time
	NewestTx       int64
}

// RestorableWindow is the Window of a database's artifacts, or false when no clean chain is
// restorable. It walks the artifacts once, oldest first, as Resolve orders them: a FULL opens a
// chain, a DIFF that starts right after the chain's last transaction extends it, and any other
// (a gap, no FULL before it, or an unclean artifact) closes it until the next FULL. An empty DIFF
// ends a chain with its predecessor's data.
func RestorableWindow(arts []Artifact) (Window, bool) {
	sorted := append([]Artifact(nil), arts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	var w Window
	found, open := false, false
	var high int64
	for _, a := range sorted {
		switch {
		case a.Full:
			open, high = a.Clean, a.HighTx
		case a.empty() && a.Clean:
		case open && a.Clean && a.LowTx == high+1:
			high = a.HighTx
		default:
			open = false
		}
		if !open {
			continue
		}
		if !found {
			w.Oldest, found = a.Time, true
		}
		w.Newest, w.NewestTx = a.Time, high
	}
	return w, found
}

func highest(arts []Artifact) int64 {
	var h int64
	for _, a := range arts {
		if a.HighTx > h {
			h = a.HighTx
		}
	}
	return h
}

// ParseUntil reads a Restore's restoreUntil: a transaction id (1 or more; "0" is before any
// transaction and is refused, never read as "the newest") or an RFC 3339 time. The empty string
// is the newest restorable point.
func ParseUntil(s string) (Target, error) {
	if s == "" {
		return Target{}, nil
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		tx, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			return Target{}, fmt.Errorf("restoreUntil %q: not a transaction id (1 to %d)", s, int64(math.MaxInt64))
		case tx < 1:
			return Target{}, fmt.Errorf("restoreUntil %q: transaction ids start at 1", s)
		}
		return Target{UntilTx: tx}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Target{}, fmt.Errorf("restoreUntil %q: want an RFC 3339 time such as 2026-11-28T02:00:00Z or a transaction id", s)
	}
	if t.Unix() <= 0 {
		return Target{}, fmt.Errorf("restoreUntil %q: before 1970", s)
	}
	return Target{Until: &t}, nil
}
