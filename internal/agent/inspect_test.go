package agent_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// writeArtifacts lays down n artifacts of db in the stand-in's format, one a day from 1 Nov
// 2026 02:00 UTC: a FULL every 7th, DIFFs between, each 10 transactions on. skip names a day
// whose artifact is missing (a gap). Names carry the local time of a JVM in UTC+1, as Neo4j's do
// (the 5.20 manual's file neo4j-2023-06-29T14-46-27.backup has TIME 13:46:27); the header, which
// the inspect output's TIME column prints, carries UTC.
func writeArtifacts(t *testing.T, dir, db string, n, skip int) []string {
	t.Helper()
	var names []string
	var high int64
	for i := 0; i < n; i++ {
		at := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		full := i%7 == 0
		low := high + 1
		if full {
			low = 1
		}
		high += 10
		name := fmt.Sprintf("%s-%s.backup", db, at.In(time.FixedZone("CET", 3600)).Format("2006-01-02T15-04-05"))
		if i == skip {
			continue
		}
		head, _ := json.Marshal(map[string]any{"database": db, "full": full, "lowTx": low, "highTx": high, "time": at.Format("2006-01-02T15:04:05")})
		if err := os.WriteFile(filepath.Join(dir, name), append(head, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func inspect(t *testing.T, dir string, args ...string) (int, result.Restore) {
	t.Helper()
	return inspectEnv(t, nil, dir, args...)
}

// inspectEnv is inspect in a pod that also has env (a bucket's).
func inspectEnv(t *testing.T, env []string, dir string, args ...string) (int, result.Restore) {
	t.Helper()
	termLog := filepath.Join(t.TempDir(), "termination-log")
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "inspect",
		"--neo4j-version=5.26", "--dir=" + dir, "--termination-log=" + termLog}, args...)...)
	cmd.Env = append([]string{"PATH=" + binDir, "HEAP_SIZE=256m", "STANDIN_NEO4J_VERSION=5.26"}, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(termLog)
	rep, err := result.DecodeRestore(raw)
	if err != nil {
		t.Fatalf("report %q: %v\n%s", raw, err, out)
	}
	return code, rep
}

func TestInspectResolvesTheChainInStorage(t *testing.T) {
	dir := t.TempDir()
	// 60 days of neo4j and another database beside it: the inspect table is far longer than
	// the few kilobytes an error message needs, and must be read whole.
	names := writeArtifacts(t, dir, "neo4j", 60, -1)
	writeArtifacts(t, dir, "movies", 20, -1)

	code, rep := inspect(t, dir, "--database=neo4j")
	if code != 0 || rep.Error != "" || strings.Join(rep.Chain, ",") != strings.Join(names[56:], ",") || rep.UntilTx != 600 || rep.ChainHighTx != 600 {
		t.Fatalf("newest: exit %d, %+v", code, rep)
	}
	// 3 Nov 02:30 UTC lies inside the DIFF taken on 4 Nov at 02:00 UTC: FULL of 1 Nov, DIFFs of
	// 2, 3 and 4 Nov. Read from the names (03:00 local) it would end with the 3 Nov DIFF.
	code, rep = inspect(t, dir, "--database=neo4j", "--until-time=2026-11-03T02:30:00Z")
	if code != 0 || strings.Join(rep.Chain, ",") != strings.Join(names[0:4], ",") || rep.UntilTx != 0 || rep.ChainHighTx != 40 {
		t.Fatalf("until a time: exit %d, %+v", code, rep)
	}
	// The chain ends at 30; the restore stops at 25 itself.
	code, rep = inspect(t, dir, "--database=neo4j", "--until-tx=25")
	if code != 0 || strings.Join(rep.Chain, ",") != strings.Join(names[0:3], ",") || rep.UntilTx != 25 || rep.ChainHighTx != 30 {
		t.Fatalf("until a transaction: exit %d, %+v", code, rep)
	}
	if code, rep = inspect(t, dir, "--database=graph"); code != 3 || rep.Reason != "NotCovered" {
		t.Fatalf("no such database: exit %d, %+v", code, rep)
	}
	if code, rep = inspect(t, dir, "--database=neo4j", "--until-time=2027-01-01T00:00:00Z"); code != 3 || rep.Reason != "NotCovered" {
		t.Fatalf("after the newest: exit %d, %+v", code, rep)
	}

	gap := t.TempDir()
	writeArtifacts(t, gap, "neo4j", 5, 2)
	if code, rep = inspect(t, gap, "--database=neo4j"); code != 3 || rep.Reason != "ChainBroken" || !strings.Contains(rep.Error, "gap") {
		t.Fatalf("a gap: exit %d, %+v", code, rep)
	}
}

func TestA2000ArtifactChainIsRestoredFromStorage(t *testing.T) {
	dir := t.TempDir()
	// A weekly FULL with hourly DIFFs for twelve weeks: far past what a termination message
	// lists (about 90 names).
	var high int64
	var names []string
	for i := 0; i < 2000; i++ {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		head, _ := json.Marshal(map[string]any{"database": "neo4j", "full": i == 0, "lowTx": high + 1, "highTx": high + 10, "time": at.Format("2006-01-02T15:04:05")})
		high += 10
		name := "neo4j-" + at.Format("2006-01-02T15-04-05") + ".backup"
		if err := os.WriteFile(filepath.Join(dir, name), append(head, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	code, rep := inspect(t, dir, "--database=neo4j")
	if code != 0 || rep.Reason != "" || rep.ChainLength != 2000 || strings.Join(rep.Chain, ",") != names[0]+","+names[1999] || rep.ChainHighTx != 20000 {
		t.Fatalf("exit %d, %+v", code, rep)
	}

	// The restore pod resolves the same chain between those ends, and restores it whole.
	data := t.TempDir()
	ends := []string{"--database=neo4j", "--artifact=" + rep.Chain[0], "--artifact=" + rep.Chain[1], "--temp-dir=" + t.TempDir()}
	code, res, log := restore(t, "5.26", dir, data, append(ends, "--chain-length=2000")...)
	if code != 0 || len(res.Chain) == 0 || res.Chain[0] != names[0] {
		t.Fatalf("exit %d, %+v\n%s", code, res, log)
	}
	from, err := os.ReadFile(filepath.Join(data, "databases", "neo4j", "restored-from"))
	if err != nil || !strings.Contains(string(from), names[1999]) {
		t.Fatalf("restored from %q (%v)", from, err)
	}

	// A chain that changed since it was inspected is not restored: another length, or a link gone.
	if code, res, _ := restore(t, "5.26", dir, t.TempDir(), append(ends, "--chain-length=1999")...); code != 1 || res.Reason != "InvalidChain" {
		t.Fatalf("another length: exit %d, %+v", code, res)
	}
	if err := os.Remove(filepath.Join(dir, names[1000])); err != nil {
		t.Fatal(err)
	}
	if code, res, _ := restore(t, "5.26", dir, t.TempDir(), append(ends, "--chain-length=2000")...); code != 1 || res.Reason != "InvalidChain" || !strings.Contains(res.Error, "gap") {
		t.Fatalf("a link gone: exit %d, %+v", code, res)
	}
}

func TestInspectFindsADatabaseLeftOutOfTheReport(t *testing.T) {
	var names []string
	for i := range 200 {
		names = append(names, fmt.Sprintf("tenant-database-%03d", i))
	}
	dir := t.TempDir()
	o := agent(t, dir, run{version: "5.26", dbs: []string{"tenant-*"}, env: map[string]string{"STANDIN_DATABASES": strings.Join(names, ",")}})
	m := o.report.Manifest
	if m == nil || o.report.Truncated == 0 {
		t.Fatalf("no manifest: %s", o.raw)
	}
	var want string
	for _, a := range mustGlob(t, filepath.Join(dir, "tenant-database-199-*.backup")) {
		want = filepath.Base(a)
	}
	code, rep := inspect(t, dir, "--database=tenant-database-199", "--manifest="+m.File+"@"+m.Digest)
	if code != 0 || strings.Join(rep.Chain, ",") != want {
		t.Fatalf("exit %d, %+v; want %s", code, rep, want)
	}
	if code, rep := inspect(t, dir, "--database=neo4j", "--manifest="+m.File+"@"+m.Digest); code != 3 || rep.Reason != "NotCovered" {
		t.Fatalf("a database the run did not back up: exit %d, %+v", code, rep)
	}
	if code, rep := inspect(t, dir, "--database=tenant-database-199", "--manifest="+m.File+"@sha256:"+strings.Repeat("1", 64)); code != 1 || !strings.Contains(rep.Error, "digest") {
		t.Fatalf("a manifest that does not match: exit %d, %+v", code, rep)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("%s: %v, %d files", pattern, err, len(m))
	}
	return m
}
