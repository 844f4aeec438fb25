package retention

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// month is 31 nightly backups at 02:00 UTC from 1 October 2026 (a Thursday), FULL on Sundays,
// DIFF otherwise, named by day.
func month() []Backup {
	var bs []Backup
	for d := 1; d <= 31; d++ {
		t := time.Date(2026, 10, d, 2, 0, 0, 0, time.UTC)
		bs = append(bs, Backup{Name: fmt.Sprintf("d%02d", d), Time: t, Full: t.Weekday() == time.Sunday, Restorable: true})
	}
	return bs
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var now = time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)

func TestKeepLastKeepsWholeChains(t *testing.T) {
	// Sundays in October 2026: 4, 11, 18, 25. The newest 3 (29, 30, 31) need 25..28.
	d := Decide(month(), Policy{KeepLast: 3}, now)
	want := []string{"d25", "d26", "d27", "d28", "d29", "d30", "d31"}
	if got := names(d.Keep); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	if len(d.Delete) != 31-len(want) {
		t.Fatalf("deleted %d", len(d.Delete))
	}
	if d.Keep["d25"] != "chain of d29" && d.Keep["d25"] != "chain of d31" && d.Keep["d25"] != "chain of d30" {
		t.Errorf("d25 kept for %q", d.Keep["d25"])
	}
}

func TestWeeklyKeepsTheNewestOfEachWeekAndItsChain(t *testing.T) {
	d := Decide(month(), Policy{KeepWeekly: 2}, now)
	// ISO weeks: 26 Oct - 1 Nov (newest d31), 19 - 25 Oct (newest d25, a FULL).
	for _, n := range []string{"d31", "d25", "d26", "d27", "d28", "d29", "d30"} {
		if _, ok := d.Keep[n]; !ok {
			t.Errorf("%s deleted", n)
		}
	}
	if _, ok := d.Keep["d24"]; ok {
		t.Error("d24 kept: d25 is a FULL and needs nothing before it")
	}
}

func TestNothingKeptByRulesStillKeepsTheNewestChain(t *testing.T) {
	d := Decide(month(), Policy{MaxAge: time.Hour}, now)
	if got := names(d.Keep); fmt.Sprint(got) != fmt.Sprint([]string{"d25", "d26", "d27", "d28", "d29", "d30", "d31"}) {
		t.Fatalf("kept %v", got)
	}
}

func TestFailuresNeverExpireGoodBackups(t *testing.T) {
	bs := month()
	for d := 32; d <= 40; d++ { // nine failed runs after the month
		bs = append(bs, Backup{Name: fmt.Sprintf("f%02d", d), Time: now.Add(time.Duration(d) * time.Hour)})
	}
	d := Decide(bs, Policy{KeepLast: 2}, now.Add(48*time.Hour))
	for _, n := range []string{"d30", "d31", "d25"} {
		if _, ok := d.Keep[n]; !ok {
			t.Errorf("%s expired because of failures", n)
		}
	}
	for _, n := range d.Delete {
		if n[0] == 'f' {
			t.Errorf("retention deleted failed backup %s (the history limit's business)", n)
		}
	}
}

func TestDailyMonthlyAndMaxAgeInTheScheduleZone(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	// 23:30 UTC on the 30th is already the 31st in Tokyo: one bucket with the 31st's backup.
	bs := []Backup{
		{Name: "a", Time: time.Date(2026, 10, 30, 23, 30, 0, 0, time.UTC), Full: true, Restorable: true},
		{Name: "b", Time: time.Date(2026, 10, 31, 2, 0, 0, 0, time.UTC), Full: true, Restorable: true},
	}
	d := Decide(bs, Policy{KeepDaily: 1, Location: tokyo}, now)
	if _, ok := d.Keep["a"]; ok {
		t.Error("a and b share a day in Tokyo; only the newest is kept")
	}
	d = Decide(month(), Policy{KeepMonthly: 1, MaxAge: 72 * time.Hour}, now)
	for _, n := range []string{"d31", "d29", "d30"} {
		if _, ok := d.Keep[n]; !ok {
			t.Errorf("%s deleted", n)
		}
	}
}

func TestParseMaxAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"5200w": 5200 * 7 * 24 * time.Hour, "30d": 720 * time.Hour, "12h": 12 * time.Hour, "1w3d": 240 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseMaxAge(in); err != nil || got != want {
			t.Errorf("ParseMaxAge(%q) = %v, %v", in, got, err)
		}
	}
	// 1048576w is 20,000 years: its nanoseconds overflow a Duration. Six parts of 1000000h wrap
	// around to a positive 36 days: a retention far shorter than the one written.
	for _, in := range []string{"30 days", "0d", "-1d", "d", "99999999999d", "1048576w", "1000000d", strings.Repeat("1000000h", 6)} {
		if _, err := ParseMaxAge(in); err == nil {
			t.Errorf("ParseMaxAge(%q) accepted", in)
		}
	}
}

func TestProtected(t *testing.T) {
	bs := month() // chains start on Sundays 4, 11, 18, 25
	for _, tc := range []struct {
		name string
		set  []Backup
		want bool
	}{
		{"d31", bs, true},        // newest chain
		{"d25", bs, true},        // FULL of the newest chain
		{"d12", bs, true},        // d13..d17 still need it
		{"d17", bs, false},       // last of an older chain
		{"d11", bs[10:11], true}, // alone: it is the newest chain
		{"d04", append([]Backup{bs[3]}, bs[10:]...), false}, // its chain's later members are gone
		{"d02", bs, true}, // first chain (no FULL before it): d03 still needs d02
		{"d17", append(append([]Backup{}, bs...), Backup{Name: "twin", Time: bs[16].Time, Restorable: true}), true}, // order unknown
	} {
		if got, why := Protected(tc.name, tc.set); got != tc.want {
			t.Errorf("Protected(%s) = %t (%s), want %t", tc.name, got, why, tc.want)
		}
	}
}

// cleanMonth is month() with every backup clean but d25, the FULL of the newest chain, which a
// consistency check failed: the chain d25..d31 restores, but not cleanly.
func cleanMonth() []Backup {
	bs := month()
	for i := range bs {
		bs[i].Clean = bs[i].Name != "d25"
	}
	return bs
}

func TestTheNewestCleanChainIsKept(t *testing.T) {
	d := Decide(cleanMonth(), Policy{KeepLast: 1}, now)
	// d31's chain (d25..d31), and the newest clean one: d18..d24.
	want := []string{"d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27", "d28", "d29", "d30", "d31"}
	if got := names(d.Keep); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	if d.Keep["d24"] != "newest clean" {
		t.Errorf("d24 kept for %q", d.Keep["d24"])
	}
	// A clean newest chain needs nothing older.
	if d := Decide(month(), Policy{KeepLast: 1}, now); len(d.Keep) != 7 {
		t.Errorf("all clean: kept %v", names(d.Keep))
	}
}

func TestProtectedKeepsTheNewestCleanChain(t *testing.T) {
	bs := cleanMonth()
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"d24", true},  // newest clean backup
		{"d18", true},  // its FULL
		{"d17", false}, // an older clean chain: not needed
		{"d25", true},  // the newest chain, clean or not
	} {
		if got, why := Protected(tc.name, bs); got != tc.want {
			t.Errorf("Protected(%s) = %t (%s), want %t", tc.name, got, why, tc.want)
		}
	}
}

func TestHeir(t *testing.T) {
	bs := month() // chains start on Sundays 4, 11, 18, 25
	for name, want := range map[string]string{
		"d11": "d12", // a FULL hands to its first DIFF
		"d12": "d13",
		"d17": "", // the last of its chain: the next is a FULL
		"d31": "", // the newest
	} {
		if got := Heir(name, bs); got != want {
			t.Errorf("Heir(%s) = %q, want %q", name, got, want)
		}
	}
	twin := append(append([]Backup{}, bs...), Backup{Name: "twin", Time: bs[11].Time, Restorable: true})
	if got := Heir("d12", twin); got != "" {
		t.Errorf("order unknown: heir %q", got)
	}
}

func FuzzParseMaxAge(f *testing.F) {
	for _, s := range []string{"30d", "1w3d", "12h", "0d", "99999999999d", "1s1s1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseMaxAge(s)
		if err == nil && d <= 0 && s != "" { // "" is unset: 0, no error
			t.Fatalf("%q accepted as %v", s, d)
		}
	})
}

// The newest chain a drill proved is kept, whatever the rules say, while the newer ones are not
// proved: the one backup known to restore is never the one let go.
func TestTheLastVerifiedChainIsKept(t *testing.T) {
	bs := month()
	for i := range bs {
		// d12 and d20 proved (DIFFs of the chains started on the 11th and the 18th).
		bs[i].Verified = bs[i].Name == "d12" || bs[i].Name == "d20"
	}
	d := Decide(bs, Policy{KeepLast: 3}, now)
	for _, n := range []string{"d18", "d19", "d20", "d25", "d29", "d30", "d31"} {
		if _, ok := d.Keep[n]; !ok {
			t.Errorf("%s deleted", n)
		}
	}
	if d.Keep["d20"] != "last verified" {
		t.Errorf("d20 kept for %q", d.Keep["d20"])
	}
	for _, n := range []string{"d12", "d17", "d21"} {
		if why, ok := d.Keep[n]; ok {
			t.Errorf("%s kept (%s): only the newest verified chain is", n, why)
		}
	}
	// Once the newest chain is proved, the older proofs follow the rules.
	bs[len(bs)-1].Verified = true
	if why, ok := Decide(bs, Policy{KeepLast: 3}, now).Keep["d20"]; ok {
		t.Errorf("d20 kept (%s) after d31 was verified", why)
	}
}
