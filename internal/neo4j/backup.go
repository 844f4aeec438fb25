package neo4j

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// BackupRequest is one neo4j-admin backup run against one server.
type BackupRequest struct {
	Version Version
	// From is the server's backup address, host:port.
	From string
	// Database is a name or a glob ("*", "neo*").
	Database string
	// Dir is the folder the backups go into: 4.4 --backup-dir (one mutable sub-folder per
	// database), 5.x --to-path (immutable <db>-<time>.backup artifacts).
	Dir string
	// Type is FULL, DIFF or AUTO. 4.4 has no --type: DIFF and AUTO are its incremental
	// backup; FULL is arranged by the agent moving the database's folder aside first.
	Type string
	// PageCache in bytes, always given: without it the backup's JVM may take the server's
	// page-cache setting (the knowledge base's named cause of backup OOMs).
	PageCache int64
	// CheckConsistency: 4.4 checks during the backup; 5.x never does (see CheckRequest).
	CheckConsistency bool
	// ReportDir receives 4.4's consistency report.
	ReportDir string
	// AdditionalConfig is a neo4j.conf fragment, e.g. the backup SSL policy.
	AdditionalConfig string
	// TempPath is scratch space for 5.24+.
	TempPath string
}

// BackupArgs returns the arguments after "neo4j-admin". The heap is never an argument: it is
// the HEAP_SIZE environment variable (a chart once passed --heap-size and every backup failed).
func BackupArgs(r BackupRequest) []string {
	var args []string
	if r.Version.Legacy() {
		args = []string{"backup",
			"--from=" + r.From,
			"--backup-dir=" + r.Dir,
			"--database=" + r.Database,
			"--pagecache=" + Size(r.PageCache),
			"--check-consistency=" + strconv.FormatBool(r.CheckConsistency),
		}
		if r.CheckConsistency && r.ReportDir != "" {
			args = append(args, "--report-dir="+r.ReportDir)
		}
	} else {
		args = []string{"database", "backup",
			"--from=" + r.From,
			"--to-path=" + r.Dir,
			"--type=" + r.Type,
			"--pagecache=" + Size(r.PageCache),
		}
		if r.TempPath != "" && r.Version.HasTempPath() {
			args = append(args, "--temp-path="+r.TempPath)
		}
	}
	if r.AdditionalConfig != "" {
		args = append(args, "--additional-config="+r.AdditionalConfig)
	}
	if !r.Version.Legacy() {
		args = append(args, r.Database)
	}
	return args
}

// Exit codes every neo4j-admin command shares (manual 5.x and dev, tools/neo4j-admin/index.adoc,
// "Exit codes": "64 | Invalid usage", "70 | Exception"; see docs/neo4j-contract.md).
const (
	// ExitUsage: neo4j-admin refused its arguments. Another member or a retry gets the same
	// answer, so a run that sees it stops at once.
	ExitUsage = 64
)

// BackupOutcome is what a backup's exit code means.
type BackupOutcome int

const (
	// BackupFailed: nothing usable was written; another server may succeed.
	BackupFailed BackupOutcome = iota
	// BackupUsage: neo4j-admin refused the arguments (exit 64); no server would accept them.
	BackupUsage
	// BackupOK: backed up (and, on 4.4 with the check on, consistent).
	BackupOK
	// BackupOKCheckNotRun: 4.4 exit 2, backed up but the consistency check failed to run.
	BackupOKCheckNotRun
	// BackupOKInconsistent: 4.4 exit 3, backed up but the check found inconsistencies.
	BackupOKInconsistent
)

// BackupExit maps neo4j-admin backup's exit code. 4.4's 2 and 3 mean the backup itself
// succeeded: treating them as failures would throw away the only copy a user has.
func BackupExit(v Version, code int) BackupOutcome {
	switch {
	case code == 0:
		return BackupOK
	case code == ExitUsage:
		return BackupUsage
	case v.Legacy() && code == 2:
		return BackupOKCheckNotRun
	case v.Legacy() && code == 3:
		return BackupOKInconsistent
	default:
		return BackupFailed
	}
}

// CheckRequest is a 5.x consistency check of one FULL artifact just written into Dir.
//
// Only FULL artifacts are checked: "consistency check is not supported for differential
// backups" (5.x branch since August 2025, 2025.08 and later; see docs/neo4j-contract.md), and
// on older versions a check of a folder ending in a DIFF recovers the whole chain first, which
// is not the memory the check was budgeted for. A DIFF's verdict is reported as not supported.
type CheckRequest struct {
	Version  Version
	Database string
	Dir      string
	// Artifact is the FULL's file name in Dir. From 2025.09 it is checked by itself; before,
	// --from-path is the folder, where the check "selects the most recent backup chain": the
	// FULL just written, since nothing newer of the database is there.
	Artifact   string
	ReportPath string
	TempPath   string
	// MaxOffHeap bounds --max-off-heap-memory, whose default is "90%" of the machine's free
	// memory: in a pod whose limit is its request, that is the node's, not the pod's.
	MaxOffHeap int64
	// AdditionalConfig is passed on as for the backup.
	AdditionalConfig string
}

// CheckArgs returns the arguments of `neo4j-admin database check --from-path` (5.x, 2025.x).
func CheckArgs(r CheckRequest) []string {
	from := r.Dir
	if r.Version.ChecksSingleArtifact() && r.Artifact != "" {
		from = strings.TrimSuffix(r.Dir, "/") + "/" + r.Artifact // not path.Join, which makes s3:// s3:/
	}
	args := []string{"database", "check", "--from-path=" + from, "--report-path=" + r.ReportPath,
		"--max-off-heap-memory=" + Size(r.MaxOffHeap)}
	if r.TempPath != "" {
		// The check's --temp-path ("a staging area to extract dump/backup artifacts") exists
		// from 5.0, unlike backup's and restore's; its default is the --from-path folder.
		args = append(args, "--temp-path="+r.TempPath)
	}
	if r.AdditionalConfig != "" {
		args = append(args, "--additional-config="+r.AdditionalConfig)
	}
	return append(args, r.Database)
}

// cloudRE is a path neo4j-admin reads as a bucket: "s3://", "gs://" or "azb://" (5.x
// online-backup.adoc, --to-path: "AWS S3 buckets, Google Cloud storage buckets, and Azure using
// the appropriate URI as the path").
var cloudRE = regexp.MustCompile(`^(s3|gs|azb)://`)

// CloudPath tells whether p is a bucket URI rather than a local path.
func CloudPath(p string) bool { return cloudRE.MatchString(p) }

// InspectArgs lists the backup artifacts in dir with their metadata (5.x, 2025.x). A folder of
// the volume goes to `database backup --inspect-path` ("List and show the metadata of the backup
// artifact(s). Accepts a folder or a file", 5.x online-backup.adoc:155-156), which says nothing
// of buckets. A bucket folder goes to `backup inspect`, whose "<backup-path> parameter can also
// inspect backups stored in AWS S3 buckets (from Neo4j 5.19), Google Cloud storage buckets (from
// Neo4j 5.21), and Azure buckets (from Neo4j 5.24)" (5.25.1 and 5.x backup-restore/inspect.adoc:56).
// The command is new in 5.25 (page-role new-5.25 at :4; the page is not in the 5.24.1 tag), so
// the operator stores in buckets from 5.25. "--show-metadata" is needed before 2025.07 and "deprecated and ignored" from then
// (2025.08.0 inspect.adoc:119); "--empty" includes the empty backups, which --inspect-path lists
// and a chain counts.
func InspectArgs(dir string) []string {
	if CloudPath(dir) {
		return []string{"backup", "inspect", "--show-metadata", "--empty", dir}
	}
	return []string{"database", "backup", "--inspect-path=" + dir}
}

// Artifact is one row of the inspect output.
type Artifact struct {
	// File is the artifact's base name, e.g. neo4j-2026-11-28T02-00-00.backup. The time in the
	// name is the JVM's local time, not UTC: Time is the one to use.
	File     string
	Database string
	// Time the backup was taken, from the TIME column (UTC).
	Time     time.Time
	Full     bool
	LowestTx int64
	// HighestTx is 0 for an empty DIFF (nothing new since the previous backup).
	HighestTx int64
	// Recovered is the RECOVERED column (2025.06 and later); nil where the version has none.
	Recovered *bool
}

// ParseInspect reads the tabular inspect output: a header row of column names between '|',
// then one row per artifact. Columns are found by name, so their order does not matter and
// columns newer versions add (STORE ID HASH, RECOVERED) are ignored. The time column is "TIME"
// in 5.20 and "TIME (UTC)" from 5.26; the manual's 5.20 example shows file
// neo4j-2023-06-29T14-46-27.backup with TIME 2023-06-29T13:46:27, so both are UTC.
func ParseInspect(out string) ([]Artifact, error) {
	var header []string
	var arts []Artifact
	col := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			for i, h := range cells {
				h = strings.ToUpper(h)
				if h == "TIME (UTC)" {
					h = "TIME"
				}
				col[h] = i
			}
			for _, need := range []string{"FILE", "DATABASE", "TIME", "FULL", "LOWEST TX", "HIGHEST TX"} {
				if _, ok := col[need]; !ok {
					return nil, fmt.Errorf("inspect output has no %s column (header %q)", need, line)
				}
			}
			continue
		}
		if len(cells) != len(header) {
			return nil, fmt.Errorf("inspect row has %d cells, header %d: %q", len(cells), len(header), line)
		}
		low, err1 := strconv.ParseInt(cells[col["LOWEST TX"]], 10, 64)
		high, err2 := strconv.ParseInt(cells[col["HIGHEST TX"]], 10, 64)
		full, err3 := strconv.ParseBool(cells[col["FULL"]])
		at, err4 := time.Parse("2006-01-02T15:04:05", cells[col["TIME"]])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("inspect row not understood: %q", line)
		}
		a := Artifact{
			File:      path.Base(strings.TrimPrefix(cells[col["FILE"]], "file://")),
			Database:  cells[col["DATABASE"]],
			Time:      at,
			Full:      full,
			LowestTx:  low,
			HighestTx: high,
		}
		if i, ok := col["RECOVERED"]; ok {
			rec, err := strconv.ParseBool(cells[i])
			if err != nil {
				return nil, fmt.Errorf("inspect row not understood: %q", line)
			}
			a.Recovered = &rec
		}
		arts = append(arts, a)
	}
	if header == nil {
		return nil, fmt.Errorf("inspect output has no table")
	}
	return arts, nil
}

// ArtifactDatabase returns the database a 5.x artifact file name belongs to:
// "<database>-<yyyy-mm-ddThh-mm-ss>.backup". Database names may contain '-', so the time is cut
// from the end.
func ArtifactDatabase(file string) (string, bool) {
	const timeLen = len("2006-01-02T15-04-05")
	name, ok := strings.CutSuffix(file, ".backup")
	if !ok || len(name) < timeLen+2 || name[len(name)-timeLen-1] != '-' {
		return "", false
	}
	return name[:len(name)-timeLen-1], true
}

// DatabaseNamePattern is a Neo4j database name as the API admits it (manual 5.26.2 and dev,
// database-administration/standard-databases/naming-databases.adoc): "Length must be between 3
// and 63 characters", first an ASCII letter, then letters, digits, dots or dashes, "Names cannot
// end with dots or dashes", and lowercase only: "Names are case-insensitive and normalized to
// lowercase", so "Movies" is stored as movies, and an artifact or a SHOW DATABASE row would never
// carry the name as written. (2025.01 also allows a digit first; the API does not, yet.)
const DatabaseNamePattern = `^[a-z][-a-z0-9.]{1,61}[a-z0-9]$`

var databaseNameRE = regexp.MustCompile(DatabaseNamePattern)

// ValidDatabaseName tells whether name is a Neo4j database name as the API admits it.
func ValidDatabaseName(name string) bool { return databaseNameRE.MatchString(name) }
