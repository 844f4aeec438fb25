package neo4j

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RestoreRequest is one offline neo4j-admin restore into the local server's data directory.
type RestoreRequest struct {
	Version Version
	// Artifacts are the chain's files, FULL first (5.x), as paths; 4.4 takes the one backup
	// folder of the database instead (Artifacts[0]).
	Artifacts []string
	// Database is the name to restore as.
	Database string
	// UntilTx / UntilTime stop the restore at a transaction or a moment (5.x only).
	UntilTx   int64
	UntilTime *time.Time
	// Overwrite replaces an existing database of that name (--force in 4.4,
	// --overwrite-destination in 5.x). Never set unless the Restore asked for it.
	Overwrite bool
	TempPath  string
}

// RestoreArgs returns the arguments after "neo4j-admin" (Operations Manual, "Restore a database
// backup": 4.4 `restore --from --database [--force]`; 5.x `database restore --from-path
// [--restore-until] [--overwrite-destination] [--temp-path] <database>`).
func RestoreArgs(r RestoreRequest) ([]string, error) {
	if len(r.Artifacts) == 0 {
		return nil, fmt.Errorf("no artifact to restore")
	}
	if r.Version.Legacy() {
		if r.UntilTx > 0 || r.UntilTime != nil {
			return nil, fmt.Errorf("neo4j-admin %s restores whole backups only: no point in time", r.Version)
		}
		if len(r.Artifacts) != 1 {
			return nil, fmt.Errorf("neo4j-admin %s restores one backup folder, not %d", r.Version, len(r.Artifacts))
		}
		args := []string{"restore", "--from=" + r.Artifacts[0], "--database=" + r.Database}
		if r.Overwrite {
			args = append(args, "--force")
		}
		return args, nil
	}
	args := []string{"database", "restore", "--from-path=" + strings.Join(r.Artifacts, ",")}
	switch {
	case r.UntilTx > 0:
		args = append(args, "--restore-until="+strconv.FormatInt(r.UntilTx, 10))
	case r.UntilTime != nil:
		// The manual's form: "YYYY-MM-DD hh:mm:ss", UTC. One argument: no shell splits it.
		args = append(args, "--restore-until="+r.UntilTime.UTC().Format("2006-01-02 15:04:05"))
	}
	if r.Overwrite {
		args = append(args, "--overwrite-destination=true")
	}
	if r.TempPath != "" && r.Version.HasTempPath() {
		args = append(args, "--temp-path="+r.TempPath)
	}
	return append(args, r.Database), nil
}

// DumpArgs returns the arguments after "neo4j-admin" that dump a stopped database of the local
// data directory into dir as <database>.dump (5.x `database dump --to-path <database>`): the
// one file a SeedFromURI restore serves when the chain is more than a FULL.
func DumpArgs(v Version, database, dir string) ([]string, error) {
	if v.Legacy() {
		return nil, fmt.Errorf("neo4j %s: a seed from a URI needs 5.x or later", v)
	}
	return []string{"database", "dump", "--to-path=" + dir, "--overwrite-destination=true", database}, nil
}
