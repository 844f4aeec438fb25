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
	termLog := filepath.Join(t.TempDir(), "termination-log")
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "inspect",
		"--neo4j-version=5.26", "--dir=" + dir, "--termination-log=" + termLog}, args...)...)
	cmd.Env = []string{"PATH=" + binDir, "HEAP_SIZE=256m", "STANDIN_NEO4J_VERSION=5.26"}
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

func TestInspectNeverReportsACutChain(t *testing.T) {
	dir := t.TempDir()
	// One FULL and 199 DIFFs: the chain's names do not fit a termination message.
	var high int64
	for i := 0; i < 200; i++ {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		head, _ := json.Marshal(map[string]any{"database": "neo4j", "full": i == 0, "lowTx": high + 1, "highTx": high + 10, "time": at.Format("2006-01-02T15:04:05")})
		high += 10
		if err := os.WriteFile(filepath.Join(dir, "neo4j-"+at.Format("2006-01-02T15-04-05")+".backup"), append(head, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, rep := inspect(t, dir, "--database=neo4j")
	// 5.26 calls it database aggregate-backup (backup aggregate from 2025.01), and without
	// --keep-old-backup=true it deletes the chain it folds.
	if code != 1 || len(rep.Chain) != 0 || !strings.Contains(rep.Error, "too many to report") ||
		!strings.Contains(rep.Error, "neo4j-admin database aggregate-backup --from-path="+dir+" --keep-old-backup=true neo4j") {
		t.Fatalf("exit %d, %+v", code, rep)
	}
}
