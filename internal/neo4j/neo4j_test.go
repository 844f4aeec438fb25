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
	for v, from := range map[string]string{
		// Before 2025.09 --from-path is "the directory containing dump/backup artifacts".
		"5.20": "/b", "5.26": "/b", "2025.08": "/b",
		// "label:changed[Changed in 2025.09] Path to a backup file or a directory".
		"2025.09": "/b/movies-2026-11-28T02-00-00.backup", "2025.10": "/b/movies-2026-11-28T02-00-00.backup",
	} {
		got := CheckArgs(CheckRequest{Version: mustVersion(t, v), Database: "movies", Dir: "/b", Artifact: "movies-2026-11-28T02-00-00.backup",
			ReportPath: "/r", TempPath: "/t", MaxOffHeap: 512 << 20})
		// --max-off-heap-memory defaults to "90%" of the machine's free memory: always bounded.
		want := []string{"database", "check", "--from-path=" + from, "--report-path=/r", "--max-off-heap-memory=512m", "--temp-path=/t", "movies"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, want %q", v, got, want)
		}
	}
}

func TestUsageErrorIsFinal(t *testing.T) {
	// "64 | The command was invoked with incorrect options/parameters" (tools/neo4j-admin).
	for _, v := range []string{"4.4", "5.26", "2025.10"} {
		if got := BackupExit(mustVersion(t, v), 64); got != BackupUsage {
			t.Errorf("%s exit 64 = %v, want BackupUsage", v, got)
		}
	}
}

func TestValidDatabaseName(t *testing.T) {
	// naming-databases.adoc: 3 to 63 characters, an ASCII letter first, then letters, digits,
	// dots or dashes, "cannot end with dots or dashes", "normalized to lowercase".
	for name, want := range map[string]bool{
		"neo4j": true, "my-graph.v2": true, "abc": true, "ab": false, "Movies": false, "movies.": false,
		"movies-": false, "1movies": false, "m_ovies": false, strings.Repeat("a", 63): true, strings.Repeat("a", 64): false,
	} {
		if got := ValidDatabaseName(name); got != want {
			t.Errorf("ValidDatabaseName(%q) = %t, want %t", name, got, want)
		}
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
		{File: "london-2024-10-07T16-04-05.backup", Database: "london", Time: time.Date(2024, 10, 7, 16, 4, 5, 0, time.UTC), Full: false, LowestTx: 6, HighestTx: 6},
		{File: "london-2024-10-07T16-03-51.backup", Database: "london", Time: time.Date(2024, 10, 7, 16, 3, 51, 0, time.UTC), Full: true, LowestTx: 1, HighestTx: 5},
	}
	if !reflect.DeepEqual(arts, want) {
		t.Errorf("got %+v", arts)
	}
	// 5.20.0's --inspect-path example: header "TIME", a name in local time (14-46-27) and TIME in
	// UTC (13:46:27). 2025.10.1 adds RECOVERED.
	old := `|                                                       FILE | DATABASE |                          DATABASE ID |                TIME |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX |
| file:///path/to/mybackups/neo4j-2023-06-29T14-46-27.backup |    neo4j | c8368b24-55e2-474d-bb41-75657f5bfcde | 2023-06-29T13:46:27 |  true |       true |         1 |         11 |
`
	arts, err = ParseInspect(old)
	if err != nil || len(arts) != 1 || !arts[0].Time.Equal(time.Date(2023, 6, 29, 13, 46, 27, 0, time.UTC)) || arts[0].Recovered != nil {
		t.Errorf("5.20 output: %+v %v", arts, err)
	}
	recent := `|                                              FILE | DATABASE |                          DATABASE ID |          TIME (UTC) |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX | RECOVERED |
|  file:///backups/malmo-2024-10-07T16-01-08.backup |    malmo | 62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0 | 2024-10-07T16:01:08 |  true |       true |         1 |          7 |     false |
`
	arts, err = ParseInspect(recent)
	if err != nil || len(arts) != 1 || arts[0].Recovered == nil || *arts[0].Recovered {
		t.Errorf("2025.10 output: %+v %v", arts, err)
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
	until := time.Date(2026, 11, 28, 1, 30, 0, 900_000_000, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		r    RestoreRequest
		want string
		bad  bool
	}{
		{"4.4", RestoreRequest{Version: mustVersion(t, "4.4"), Artifacts: []string{"/backups/p/neo4j"}, Database: "neo4j"},
			"restore --from=/backups/p/neo4j --database=neo4j", false},
		{"4.4 force", RestoreRequest{Version: mustVersion(t, "4.4"), Artifacts: []string{"/b/neo4j"}, Database: "copy", Overwrite: true},
			"restore --from=/b/neo4j --database=copy --force", false},
		{"4.4 point in time", RestoreRequest{Version: mustVersion(t, "4.4"), Artifacts: []string{"/b/neo4j"}, Database: "x", UntilTx: 5}, "", true},
		// "<database> ... is only allowed if the --from-path option points to a path to a single
		// artifact"; a DIFF: "find in the folder a backup chain ending at that specific
		// differential backup". The chain is given by its last artifact.
		{"chain by its last artifact", RestoreRequest{Version: mustVersion(t, "5.26"), Artifacts: []string{"/b/F.backup", "/b/D1.backup", "/b/D2.backup"},
			Database: "neo4j-restored", ChainHighTx: 180, TempPath: "/t"},
			"database restore --from-path=/b/D2.backup --temp-path=/t neo4j-restored", false},
		// "recovers transaction logs up to, but not including, the transaction 123": 160
		// included is --restore-until=161.
		{"until a transaction, included", RestoreRequest{Version: mustVersion(t, "5.26"), Artifacts: []string{"/b/F.backup", "/b/D.backup"},
			Database: "neo4j-restored", UntilTx: 160, ChainHighTx: 170, TempPath: "/t"},
			"database restore --from-path=/b/D.backup --restore-until=161 --temp-path=/t neo4j-restored", false},
		{"until the chain's end: no predicate", RestoreRequest{Version: mustVersion(t, "5.26"), Artifacts: []string{"/b/F.backup", "/b/D.backup"},
			Database: "x", UntilTx: 170, ChainHighTx: 170},
			"database restore --from-path=/b/D.backup x", false},
		{"until past the chain", RestoreRequest{Version: mustVersion(t, "5.26"), Artifacts: []string{"/b/F.backup"}, Database: "x", UntilTx: 171, ChainHighTx: 170}, "", true},
		{"until without the chain's end", RestoreRequest{Version: mustVersion(t, "5.26"), Artifacts: []string{"/b/F.backup"}, Database: "x", UntilTx: 5}, "", true},
		// "2021-09-11 10:15:30 is a UTC date and time"; the fraction is cut, never rounded up.
		{"until a time, UTC, whole seconds", RestoreRequest{Version: mustVersion(t, "5.20"), Artifacts: []string{"/b/F.backup"}, Database: "neo4j", UntilTime: &until, TempPath: "/t"},
			"database restore --from-path=/b/F.backup --restore-until=2026-11-28 00:30:00 neo4j", false},
		{"overwrite", RestoreRequest{Version: mustVersion(t, "2025.10"), Artifacts: []string{"/b/F.backup"}, Database: "neo4j", Overwrite: true},
			"database restore --from-path=/b/F.backup --overwrite-destination=true neo4j", false},
		{"a chain across folders", RestoreRequest{Version: mustVersion(t, "5.26"), Artifacts: []string{"/a/F.backup", "/b/D.backup"}, Database: "x"}, "", true},
		{"nothing", RestoreRequest{Version: mustVersion(t, "5.26"), Database: "neo4j"}, "", true},
	} {
		args, err := RestoreArgs(tc.r)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: %+v accepted", tc.name, tc.r)
			}
			continue
		}
		if err != nil || strings.Join(args, " ") != tc.want {
			t.Errorf("%s: got %q (%v)\nwant %q", tc.name, strings.Join(args, " "), err, tc.want)
		}
	}
}

func TestSeedStatements(t *testing.T) {
	for _, tc := range []struct {
		r    SeedRequest
		want []string
	}{
		// 5.x: Cypher 5 only, existingData required, no prefix.
		{SeedRequest{Version: mustVersion(t, "5.26"), Database: "neo4j-restored", SeedURI: "http://seed.prod.svc:8080/neo4j-2026-11-28T02-00-00.backup"},
			[]string{"CREATE DATABASE `neo4j-restored` OPTIONS {existingData: 'use', seedURI: 'http://seed.prod.svc:8080/neo4j-2026-11-28T02-00-00.backup'}"}},
		// Replace: never OR REPLACE with seed options ("cannot be combined" before 2025.01).
		{SeedRequest{Version: mustVersion(t, "5.26"), Database: "neo4j", SeedURI: "http://s/x.dump", Replace: true},
			[]string{"DROP DATABASE `neo4j` IF EXISTS WAIT", "CREATE DATABASE `neo4j` OPTIONS {existingData: 'use', seedURI: 'http://s/x.dump'}"}},
		// 2025.01-2025.05: still only Cypher 5, existingData still required.
		{SeedRequest{Version: mustVersion(t, "2025.01"), Database: "odd`name", SeedURI: "http://s/it's"},
			[]string{"CREATE DATABASE `odd``name` OPTIONS {existingData: 'use', seedURI: 'http://s/it\\'s'}"}},
		// 2025.06+: pinned to Cypher 5, whatever the DBMS's default language; from 2025.01 a
		// replace is one statement, so a refused one leaves the old database.
		{SeedRequest{Version: mustVersion(t, "2025.10"), Database: "neo4j", SeedURI: "http://s/x.dump", Replace: true},
			[]string{"CYPHER 5 CREATE OR REPLACE DATABASE `neo4j` OPTIONS {existingData: 'use', seedURI: 'http://s/x.dump'}"}},
		{SeedRequest{Version: mustVersion(t, "2025.01"), Database: "neo4j", SeedURI: "http://s/x.dump", Replace: true},
			[]string{"CREATE OR REPLACE DATABASE `neo4j` OPTIONS {existingData: 'use', seedURI: 'http://s/x.dump'}"}},
	} {
		got, err := SeedStatements(tc.r)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("got %q (%v)\nwant %q", got, err, tc.want)
		}
	}
	if _, err := SeedStatements(SeedRequest{Version: mustVersion(t, "4.4"), Database: "neo4j", SeedURI: "u"}); err == nil {
		t.Error("4.4 seed accepted")
	}

	// Straight from a bucket: seedRestoreUntil, "Starting from Neo4j 2025.01", a datetime or a
	// transaction id "up to (but not including)" (2025.10.1 seed-from-uri.adoc:285, :303-312,
	// :322-350), supported by CloudSeedProvider.
	until := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		r    SeedRequest
		want string
	}{
		{SeedRequest{Version: mustVersion(t, "2025.01"), Database: "neo4j", SeedURI: "s3://b/prod/graph/neo4j-2026-11-28T03-00-00.backup", UntilTime: &until},
			"CREATE DATABASE `neo4j` OPTIONS {existingData: 'use', seedURI: 's3://b/prod/graph/neo4j-2026-11-28T03-00-00.backup', seedRestoreUntil: datetime('2026-11-28T02:00:00Z')}"},
		{SeedRequest{Version: mustVersion(t, "2025.10"), Database: "neo4j", SeedURI: "azb://a/c/neo4j-x.backup", UntilTx: 123, ChainHighTx: 200},
			"CYPHER 5 CREATE DATABASE `neo4j` OPTIONS {existingData: 'use', seedURI: 'azb://a/c/neo4j-x.backup', seedRestoreUntil: 124}"},
		// Up to the chain's last transaction is the whole chain: no option, so any version.
		{SeedRequest{Version: mustVersion(t, "5.26"), Database: "neo4j", SeedURI: "gs://b/neo4j-x.backup", UntilTx: 200, ChainHighTx: 200},
			"CREATE DATABASE `neo4j` OPTIONS {existingData: 'use', seedURI: 'gs://b/neo4j-x.backup'}"},
	} {
		got, err := SeedStatements(tc.r)
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("got %q (%v)\nwant %q", got, err, tc.want)
		}
	}
	for _, r := range []SeedRequest{
		{Version: mustVersion(t, "5.26"), Database: "neo4j", SeedURI: "s3://b/x.backup", UntilTx: 5},                // before 2025.01
		{Version: mustVersion(t, "2025.10"), Database: "neo4j", SeedURI: "http://s/x.backup", UntilTx: 5},           // not CloudSeedProvider's
		{Version: mustVersion(t, "2025.10"), Database: "neo4j", SeedURI: "s3://b/x", UntilTx: 5, UntilTime: &until}, // both
	} {
		if got, err := SeedStatements(r); err == nil {
			t.Errorf("%+v: accepted as %q", r, got)
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
	// cypher-shell prints strings through the Java driver's StringValue.toString: a quote inside
	// is \", not CSV's "". NULL is a null.
	quoted := `"name", "address", "currentStatus", "statusMessage"
"neo4j-restored", "graph-1.graph:7687", "offline", "Unable to start database: could not read \"http://seed/x.dump\", bad header"
"neo4j-restored", "graph-2.graph:7687", "online", NULL
`
	states, err = ParseShow(quoted)
	if err != nil || len(states) != 2 || states[0].StatusMessage != `Unable to start database: could not read "http://seed/x.dump", bad header` || states[1].StatusMessage != "" {
		t.Fatalf("Java-escaped output: %+v %v", states, err)
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
	if got := CypherArgs(SchemeTLS, "g:7687", "x"); got[1] != "neo4j+s://g:7687" {
		t.Errorf("TLS scheme: %q", got)
	}
	got := CypherArgs("", "graph-0.graph.ns.svc:7687", "SHOW DATABASES")
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

// A drill checks the database it restored, stopped, in the local data directory: 5.x without
// --from-path and with its off-heap memory bounded; 4.4 through a config file holding the page
// cache (its check-consistency has no memory flag).
func TestDatabaseCheckArgs(t *testing.T) {
	for _, c := range []struct {
		version, want, conf string
	}{
		{"5.26", "database check --report-path=/data/drill-report --max-off-heap-memory=256m movies", ""},
		{"2025.10", "database check --report-path=/data/drill-report --max-off-heap-memory=256m movies", ""},
		{"4.4", "check-consistency --database=movies --report-dir=/data/drill-report --additional-config=/tmp/check.conf", "dbms.memory.pagecache.size=256m\n"},
	} {
		v, err := ParseVersion(c.version)
		if err != nil {
			t.Fatal(err)
		}
		args, conf := DatabaseCheckArgs(DatabaseCheck{Version: v, Database: "movies", ReportDir: "/data/drill-report", PageCache: 256 << 20, ConfigFile: "/tmp/check.conf"})
		if got := strings.Join(args, " "); got != c.want || conf != c.conf {
			t.Errorf("%s: %q, config %q; want %q, %q", c.version, got, conf, c.want, c.conf)
		}
	}
}
