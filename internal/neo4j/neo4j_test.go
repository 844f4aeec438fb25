package neo4j

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{
		"4.4": {4, 4, 0}, "4.4.40": {4, 4, 40}, "5.1": {5, 1, 0}, "5.26.2": {5, 26, 2},
		"2025.01": {2025, 1, 0}, "2025.10.1": {2025, 10, 1},
	} {
		if got, err := ParseVersion(in); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "5", "3.5", "4.3", "5.0", "5.27", "2025.13", "2024.01", "v5.26", "5.x", "5.26.2.1", "-5.26"} {
		if _, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) accepted", in)
		}
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[int64]string{
		1 << 30: "1g", 3 << 30: "3g", 512 << 20: "512m", 1536 << 20: "1536m", 8 << 20: "8m",
		4096: "4k", 1000: "1000", 500_000_000: "500000000", 1: "1",
	} {
		if got := Size(in); got != want {
			t.Errorf("Size(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestBackupArgs(t *testing.T) {
	base := BackupRequest{From: "graph-2:6362", Database: "neo4j", Dir: "/backups/ns/graph", Type: "AUTO",
		PageCache: 512 << 20, CheckConsistency: true, ReportDir: "/tmp/reports", TempPath: "/tmp/backup"}
	for _, tc := range []struct {
		version string
		mut     func(*BackupRequest)
		want    string
	}{
		{"4.4", nil, "backup --from=graph-2:6362 --backup-dir=/backups/ns/graph --database=neo4j --pagecache=512m --check-consistency=true --report-dir=/tmp/reports"},
		{"4.4", func(r *BackupRequest) { r.CheckConsistency = false; r.Type = "DIFF" },
			"backup --from=graph-2:6362 --backup-dir=/backups/ns/graph --database=neo4j --pagecache=512m --check-consistency=false"},
		{"5.20", nil, "database backup --from=graph-2:6362 --to-path=/backups/ns/graph --type=AUTO --pagecache=512m neo4j"},
		{"5.24", nil, "database backup --from=graph-2:6362 --to-path=/backups/ns/graph --type=AUTO --pagecache=512m --temp-path=/tmp/backup neo4j"},
		{"2025.10", func(r *BackupRequest) { r.Type = "FULL"; r.Database = "*"; r.AdditionalConfig = "/tmp/tls.conf" },
			"database backup --from=graph-2:6362 --to-path=/backups/ns/graph --type=FULL --pagecache=512m --temp-path=/tmp/backup --additional-config=/tmp/tls.conf *"},
	} {
		r := base
		r.Version = mustVersion(t, tc.version)
		if tc.mut != nil {
			tc.mut(&r)
		}
		got := strings.Join(BackupArgs(r), " ")
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.version, got, tc.want)
		}
		if strings.Contains(got, "heap") {
			t.Errorf("%s: the heap is never an argument: %s", tc.version, got)
		}
	}
}

func TestCheckArgs(t *testing.T) {
	got := CheckArgs(CheckRequest{Version: mustVersion(t, "5.26"), Database: "movies", Dir: "/b", ReportPath: "/r", TempPath: "/t"})
	want := []string{"database", "check", "--from-path=/b", "--report-path=/r", "--temp-path=/t", "movies"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBackupExit(t *testing.T) {
	v44, v5 := mustVersion(t, "4.4"), mustVersion(t, "5.26")
	for _, tc := range []struct {
		v    Version
		code int
		want BackupOutcome
	}{
		{v44, 0, BackupOK}, {v44, 1, BackupFailed}, {v44, 2, BackupOKCheckNotRun}, {v44, 3, BackupOKInconsistent}, {v44, 4, BackupFailed},
		{v5, 0, BackupOK}, {v5, 1, BackupFailed}, {v5, 2, BackupFailed}, {v5, 3, BackupFailed},
	} {
		if got := BackupExit(tc.v, tc.code); got != tc.want {
			t.Errorf("%v exit %d = %v, want %v", tc.v, tc.code, got, tc.want)
		}
	}
}

func TestParseInspect(t *testing.T) {
	// The manual's example output ("Inspect the metadata of a backup file").
	out := `|                                              FILE | DATABASE |                          DATABASE ID |          TIME (UTC) |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX |
| file:///backups/london-2024-10-07T16-04-05.backup |   london | d4dae73c-dfef-4d28-88cd-fe6cc88ddca1 | 2024-10-07T16:04:05 | false |       true |         6 |          6 |
| file:///backups/london-2024-10-07T16-03-51.backup |   london | d4dae73c-dfef-4d28-88cd-fe6cc88ddca1 | 2024-10-07T16:03:51 |  true |       true |         1 |          5 |
`
	arts, err := ParseInspect("some log line\n" + out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Artifact{
		{File: "london-2024-10-07T16-04-05.backup", Database: "london", Full: false, LowestTx: 6, HighestTx: 6},
		{File: "london-2024-10-07T16-03-51.backup", Database: "london", Full: true, LowestTx: 1, HighestTx: 5},
	}
	if !reflect.DeepEqual(arts, want) {
		t.Errorf("got %+v", arts)
	}
	for _, bad := range []string{"", "| FILE | DATABASE |\n| a | b |", out + "| x | y |\n"} {
		if _, err := ParseInspect(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestArtifactDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"neo4j-2024-10-07T16-05-37.backup":       "neo4j",
		"my-graph.v2-2024-10-07T16-05-37.backup": "my-graph.v2",
		"neo4j-2024-10-07T16-05-37.backup.tmp":   "",
		"2024-10-07T16-05-37.backup":             "",
		"neo4j":                                  "",
	} {
		got, ok := ArtifactDatabase(in)
		if got != want || ok != (want != "") {
			t.Errorf("ArtifactDatabase(%q) = %q, %v", in, got, ok)
		}
	}
}

func TestRestoreArgs(t *testing.T) {
	until := time.Date(2026, 11, 28, 1, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		r    RestoreRequest
		want string
		bad  bool
	}{
		{RestoreRequest{Version: mustVersion(t, "4.4"), Artifacts: []string{"/backups/p/neo4j"}, Database: "neo4j"},
			"restore --from=/backups/p/neo4j --database=neo4j", false},
		{RestoreRequest{Version: mustVersion(t, "4.4"), Artifacts: []string{"/b/neo4j"}, Database: "copy", Overwrite: true},
			"restore --from=/b/neo4j --database=copy --force", false},
		{RestoreRequest{Version: mustVersion(t, "4.4"), Artifacts: []string{"/b/neo4j"}, Database: "x", UntilTx: 5}, "", true},
		{RestoreRequest{Version: mustVersion(t, "5.26"), Artifacts: []string{"/b/F.backup", "/b/D.backup"}, Database: "neo4j-restored", UntilTx: 160, TempPath: "/t"},
			"database restore --from-path=/b/F.backup,/b/D.backup --restore-until=160 --temp-path=/t neo4j-restored", false},
		{RestoreRequest{Version: mustVersion(t, "5.20"), Artifacts: []string{"/b/F.backup"}, Database: "neo4j", UntilTime: &until, TempPath: "/t"},
			"database restore --from-path=/b/F.backup --restore-until=2026-11-28 00:30:00 neo4j", false},
		{RestoreRequest{Version: mustVersion(t, "2025.10"), Artifacts: []string{"/b/F.backup"}, Database: "neo4j", Overwrite: true},
			"database restore --from-path=/b/F.backup --overwrite-destination=true neo4j", false},
		{RestoreRequest{Version: mustVersion(t, "5.26"), Database: "neo4j"}, "", true},
	} {
		args, err := RestoreArgs(tc.r)
		if tc.bad {
			if err == nil {
				t.Errorf("%+v accepted", tc.r)
			}
			continue
		}
		if err != nil || strings.Join(args, " ") != tc.want {
			t.Errorf("got %q (%v)\nwant %q", strings.Join(args, " "), err, tc.want)
		}
	}
}

func TestSeedStatement(t *testing.T) {
	for _, tc := range []struct {
		r    SeedRequest
		want string
	}{
		{SeedRequest{Version: mustVersion(t, "5.26"), Database: "neo4j-restored", SeedURI: "http://seed.prod.svc:8080/neo4j-2026-11-28T02-00-00.backup"},
			"CREATE DATABASE `neo4j-restored` OPTIONS {existingData: 'use', seedURI: 'http://seed.prod.svc:8080/neo4j-2026-11-28T02-00-00.backup'}"},
		{SeedRequest{Version: mustVersion(t, "2025.10"), Database: "neo4j", SeedURI: "http://s/x.dump", Replace: true},
			"CREATE OR REPLACE DATABASE `neo4j` OPTIONS {seedURI: 'http://s/x.dump'}"},
		{SeedRequest{Version: mustVersion(t, "2025.01"), Database: "odd`name", SeedURI: "http://s/it's"},
			"CREATE DATABASE `odd``name` OPTIONS {seedURI: 'http://s/it\\'s'}"},
	} {
		got, err := SeedStatement(tc.r)
		if err != nil || got != tc.want {
			t.Errorf("got %s (%v)\nwant %s", got, err, tc.want)
		}
	}
	for _, bad := range []SeedRequest{
		{Version: mustVersion(t, "4.4"), Database: "neo4j", SeedURI: "u"},
	} {
		if _, err := SeedStatement(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestParseShowAndOnline(t *testing.T) {
	out := `"name", "address", "currentStatus", "statusMessage"
"neo4j-restored", "graph-0.graph:7687", "online", ""
"neo4j-restored", "graph-1.graph:7687", "starting", ""
`
	states, err := ParseShow(out)
	if err != nil || len(states) != 2 || states[1].CurrentStatus != "starting" {
		t.Fatalf("%+v %v", states, err)
	}
	if online, failed := Online(states); online || failed != "" {
		t.Errorf("starting server: online=%t failed=%q", online, failed)
	}
	states[1].CurrentStatus = "online"
	if online, _ := Online(states); !online {
		t.Error("all online")
	}
	states[1] = DatabaseState{Address: "graph-1.graph:7687", CurrentStatus: "offline", StatusMessage: "Unable to fetch seed"}
	if _, failed := Online(states); !strings.Contains(failed, "Unable to fetch seed") {
		t.Errorf("failed = %q", failed)
	}
	if _, err := ParseShow(`"name"` + "\n" + `"x"`); err == nil {
		t.Error("missing columns accepted")
	}
}

func TestDumpAndCypherArgs(t *testing.T) {
	args, err := DumpArgs(mustVersion(t, "5.26"), "neo4j", "/scratch")
	if err != nil || strings.Join(args, " ") != "database dump --to-path=/scratch --overwrite-destination=true neo4j" {
		t.Errorf("dump: %q %v", args, err)
	}
	if _, err := DumpArgs(mustVersion(t, "4.4"), "neo4j", "/scratch"); err == nil {
		t.Error("4.4 dump for a seed accepted")
	}
	got := CypherArgs("graph-0.graph.ns.svc:7687", "SHOW DATABASES")
	if strings.Join(got, "|") != "-a|neo4j://graph-0.graph.ns.svc:7687|-d|system|--format|plain|--non-interactive|SHOW DATABASES" {
		t.Errorf("cypher-shell args: %q", got)
	}
	for _, a := range got {
		if strings.HasPrefix(a, "-u") || strings.HasPrefix(a, "-p") || strings.Contains(a, "password") {
			t.Errorf("credentials in cypher-shell args: %q", got)
		}
	}
	if states, err := ParseShow("\n"); err != nil || states != nil {
		t.Errorf("no output: %v %v", states, err)
	}
}
