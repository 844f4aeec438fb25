package chain

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"
)

var day0 = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)

func art(name string, day int, full bool, low, high int64) Artifact {
	return Artifact{File: name, Backup: "b-" + name, Time: day0.AddDate(0, 0, day), Full: full, LowTx: low, HighTx: high}
}

// two chains: F1 D1 D2 (empty) D3 | F2 D4
func storage() []Artifact {
	return []Artifact{
		art("F1", 0, true, 1, 100),
		art("D1", 1, false, 101, 150),
		art("D2", 2, false, 0, 0), // nothing new that night
		art("D3", 3, false, 151, 170),
		art("F2", 4, true, 1, 200),
		art("D4", 5, false, 201, 260),
	}
}

func TestResolve(t *testing.T) {
	at := func(day int, h int) *time.Time {
		x := day0.AddDate(0, 0, day).Add(time.Duration(h) * time.Hour)
		return &x
	}
	for _, tc := range []struct {
		name   string
		arts   []Artifact
		target Target
		want   []string
		high   int64
		err    error
	}{
		{"newest", storage(), Target{}, []string{"F2", "D4"}, 260, nil},
		{"a Backup's own DIFF", storage(), Target{EndAt: "D3"}, []string{"F1", "D1", "D3"}, 170, nil},
		{"a FULL alone", storage(), Target{EndAt: "F1"}, []string{"F1"}, 100, nil},
		{"an empty DIFF ends on its predecessor's data", storage(), Target{EndAt: "D2"}, []string{"F1", "D1"}, 150, nil},
		{"point in time inside a DIFF", storage(), Target{Until: at(0, 12)}, []string{"F1", "D1"}, 150, nil},
		{"point in time exactly at a FULL", storage(), Target{Until: at(4, 0)}, []string{"F2"}, 200, nil},
		{"point in time between two chains", storage(), Target{Until: at(3, 12)}, nil, 0, ErrNotCovered},
		{"point in time after the newest", storage(), Target{Until: at(9, 0)}, nil, 0, ErrNotCovered},
		{"transaction in a DIFF", storage(), Target{UntilTx: 160}, []string{"F1", "D1", "D3"}, 170, nil},
		{"transaction at a FULL's end", storage(), Target{UntilTx: 200}, []string{"F2"}, 200, nil},
		{"transaction inside a FULL only", []Artifact{art("F1", 0, true, 1, 100)}, Target{UntilTx: 50}, nil, 0, ErrNotCovered},
		{"transaction beyond the newest", storage(), Target{UntilTx: 999}, nil, 0, ErrNotCovered},
		{"a DIFF without its FULL", storage()[1:4], Target{}, nil, 0, ErrNoFull},
		{"a gap in the chain", []Artifact{art("F1", 0, true, 1, 100), art("D1", 1, false, 101, 150), art("D3", 3, false, 161, 170)}, Target{}, nil, 0, ErrGap},
		{"an artifact not there", storage(), Target{EndAt: "D9"}, nil, 0, ErrNotFound},
		{"nothing at all", nil, Target{}, nil, 0, ErrNotCovered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Resolve(tc.arts, tc.target)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Files(), tc.want) || c.HighTx != tc.high {
				t.Fatalf("got %v up to %d, want %v up to %d", c.Files(), c.HighTx, tc.want, tc.high)
			}
		})
	}
}

func TestResolveNamesTheGap(t *testing.T) {
	_, err := Resolve([]Artifact{art("F1", 0, true, 1, 100), art("D3", 3, false, 161, 170)}, Target{})
	if err == nil || err.Error() != fmt.Sprintf("%v: D3 starts at transaction 161, after 100", ErrGap) {
		t.Fatalf("%v", err)
	}
}

func TestParseUntil(t *testing.T) {
	for in, ok := range map[string]bool{
		"": true, "1": true, "123456": true, "2026-11-28T02:00:00Z": true, "2026-11-28T02:00:00.5+01:00": true,
		"0": false, "-5": false, "99999999999999999999": false, "2026-11-28": false, "1969-12-31T23:59:59Z": false, "12:00": false,
	} {
		if _, err := ParseUntil(in); (err == nil) != ok {
			t.Errorf("%q: err %v, want ok=%t", in, err, ok)
		}
	}
}

// FuzzParseUntil: whatever is accepted names exactly one point (or none, for ""), a transaction
// from 1, or a time after 1970; nothing panics.
func FuzzParseUntil(f *testing.F) {
	for _, s := range []string{"", "0", "1", "42", "9223372036854775807", "9223372036854775808", "2026-11-28T02:00:00Z", "2026-02-30T00:00:00Z", "1e5", "0x10", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tgt, err := ParseUntil(s)
		if err != nil {
			return
		}
		switch {
		case s == "":
			if tgt.UntilTx != 0 || tgt.Until != nil {
				t.Fatalf("%q: %+v", s, tgt)
			}
		case tgt.UntilTx > 0:
			if tgt.Until != nil {
				t.Fatalf("%q: both a transaction and a time", s)
			}
		case tgt.Until != nil:
			if tgt.Until.Unix() <= 0 {
				t.Fatalf("%q: %v is not after 1970", s, tgt.Until)
			}
		default:
			t.Fatalf("%q accepted as no point at all", s)
		}
	})
}

func clean(arts []Artifact) []Artifact {
	for i := range arts {
		arts[i].Clean = true
	}
	return arts
}

func TestRestorableWindow(t *testing.T) {
	day := func(d int) time.Time { return day0.AddDate(0, 0, d) }
	unclean := func(arts []Artifact, file string) []Artifact {
		for i := range arts {
			if arts[i].File == file {
				arts[i].Clean = false
			}
		}
		return arts
	}
	for _, tc := range []struct {
		name string
		arts []Artifact
		want Window
		ok   bool
	}{
		{"two chains: from the first FULL to the newest DIFF", clean(storage()), Window{day(0), day(5), 260}, true},
		{"an empty DIFF last ends on its predecessor's data", clean(storage()[:3]), Window{day(0), day(2), 150}, true},
		{"DIFFs without their FULL: from the next FULL", clean(storage()[1:]), Window{day(4), day(5), 260}, true},
		{"a gap closes the chain until the next FULL", clean([]Artifact{art("F1", 0, true, 1, 100), art("D1", 1, false, 101, 150),
			art("D3", 3, false, 161, 170), art("F2", 4, true, 1, 200)}), Window{day(0), day(4), 200}, true},
		{"a gap at the end: the newest point is before it", clean([]Artifact{art("F1", 0, true, 1, 100), art("D1", 1, false, 101, 150),
			art("D3", 3, false, 161, 170)}), Window{day(0), day(1), 150}, true},
		{"an inconsistent DIFF closes its chain", unclean(clean(storage()), "D3"), Window{day(0), day(5), 260}, true},
		{"an inconsistent newest DIFF: the newest point is before it", unclean(clean(storage()), "D4"), Window{day(0), day(4), 200}, true},
		{"an inconsistent FULL: its chain is no point", unclean(clean(storage()), "F1"), Window{day(4), day(5), 260}, true},
		{"order is by time, not as listed", clean([]Artifact{art("D4", 5, false, 201, 260), art("F2", 4, true, 1, 200)}), Window{day(4), day(5), 260}, true},
		{"only DIFFs", clean(storage()[1:4]), Window{}, false},
		{"nothing", nil, Window{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := RestorableWindow(tc.arts)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("got %+v %t, want %+v %t", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// The window agrees with Resolve: its ends are the oldest and the newest artifacts Resolve makes
// a chain end at whose artifacts are all clean, and the newest's transaction is the one that
// chain reaches. Random sets of artifacts, some with gaps, empty or unclean ones.
func TestRestorableWindowAgreesWithResolve(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for n := range 3000 {
		var arts []Artifact
		var tx int64
		for i := range rnd.IntN(9) {
			a := Artifact{File: fmt.Sprintf("a%d", i), Time: day0.Add(time.Duration(rnd.IntN(40)) * time.Hour), Clean: rnd.IntN(6) > 0}
			switch rnd.IntN(5) {
			case 0:
				a.Full, a.LowTx, a.HighTx = true, 1, tx+int64(rnd.IntN(3))
			case 1: // empty
			default:
				a.LowTx = tx + 1 + int64(rnd.IntN(4)/3) // a gap now and then
				a.HighTx = a.LowTx + int64(rnd.IntN(5))
			}
			if a.HighTx > tx {
				tx = a.HighTx
			}
			arts = append(arts, a)
		}
		// Resolve's order: by time, stably.
		sorted := append([]Artifact(nil), arts...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
		var want Window
		found := false
		for i, a := range sorted {
			c, err := Resolve(arts, Target{EndAt: a.File})
			if err != nil || !allClean(sorted[:i+1], c.Artifacts[0].File) {
				continue
			}
			if !found {
				want.Oldest, found = a.Time, true
			}
			want.Newest, want.NewestTx = a.Time, c.HighTx
		}
		got, ok := RestorableWindow(arts)
		if ok != found || got != want {
			t.Fatalf("set %d %+v: got %+v %t, Resolve says %+v %t", n, arts, got, ok, want, found)
		}
	}
}

// allClean: every artifact from the one named first, to the end of upto, is clean (empty DIFFs,
// which Resolve leaves out of a chain, included).
func allClean(upto []Artifact, first string) bool {
	for i := len(upto) - 1; i >= 0; i-- {
		if !upto[i].Clean {
			return false
		}
		if upto[i].File == first {
			return true
		}
	}
	return false
}
