package neo4j

import (
	"fmt"
	"path"
	"strconv"
	"time"
)

// RestoreRequest is one offline neo4j-admin restore into the local server's data directory.
type RestoreRequest struct {
	Version Version
	// Artifacts are the chain's files, FULL first (5.x), as paths in one folder; 4.4 takes the
	// one backup folder of the database instead (Artifacts[0]).
	Artifacts []string
	// Database is the name to restore as.
	Database string
	// UntilTx restores up to and including this transaction (5.x only); ChainHighTx is the
	// chain's last transaction, which says whether a --restore-until is needed at all.
	UntilTx, ChainHighTx int64
	// UntilTime restores the transactions committed before this moment (5.x only).
	UntilTime *time.Time
	// Overwrite replaces an existing database of that name (--force in 4.4,
	// --overwrite-destination in 5.x). Never set unless the Restore asked for it.
	Overwrite bool
	TempPath  string
}

// RestoreArgs returns the arguments after "neo4j-admin" (Operations Manual, "Restore a database
// backup": 4.4 `restore --from --database [--force]`; 5.x `database restore --from-path
// [--restore-until] [--overwrite-destination] [--temp-path] <database>`).
//
// 5.x and later restore a chain from its last artifact: "<database> ... is only allowed if the
// --from-path option points to a path to a single artifact", and for "a differential backup ...
// the command tries first to find in the folder a backup chain ending at that specific
// differential backup and then restores that chain" (5.26.2, backup-restore/restore-backup.adoc).
// A comma-separated list means several databases, each restored as itself. So the chain's other
// artifacts must be in the same folder; the agent checks they are before it runs this.
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
	last := r.Artifacts[len(r.Artifacts)-1]
	for _, a := range r.Artifacts {
		if path.Dir(a) != path.Dir(last) {
			return nil, fmt.Errorf("artifact %s is not in the folder of %s: neo4j-admin finds a chain only in one folder", a, last)
		}
	}
	args := []string{"database", "restore", "--from-path=" + last}
	switch {
	case r.UntilTx > 0 && r.ChainHighTx <= 0:
		return nil, fmt.Errorf("restoring up to transaction %d needs the chain's last transaction", r.UntilTx)
	case r.UntilTx > r.ChainHighTx:
		return nil, fmt.Errorf("the chain ends at transaction %d, before %d", r.ChainHighTx, r.UntilTx)
	case r.UntilTx > 0 && r.UntilTx < r.ChainHighTx:
		// "The restore recovers transaction logs up to, but not including, the transaction
		// 123": to include UntilTx, stop before the one after it. At the chain's end no
		// predicate is needed (nor one naming a transaction the chain does not hold).
		args = append(args, "--restore-until="+strconv.FormatInt(r.UntilTx+1, 10))
	case r.UntilTime != nil:
		// The manual's form: "2021-09-11 10:15:30 is a UTC date and time", and it "recovers
		// transactions that were committed before" it. Seconds only: a fraction is cut, so
		// nothing committed after the moment asked for is restored. One argument: no shell
		// splits it.
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

// DatabaseCheck is a consistency check of a stopped database in the local data directory: a
// restore drill's, on the database it just restored into a scratch volume.
type DatabaseCheck struct {
	Version  Version
	Database string
	// ReportDir is where a report of inconsistencies goes.
	ReportDir string
	// PageCache bounds the check's page cache (5.x --max-off-heap-memory, whose default is 90 %
	// of the machine's free memory; 4.4 dbms.memory.pagecache.size, which "If no page cache
	// memory is configured" is "computed based on available system resources").
	PageCache int64
	// ConfigFile is where 4.4's page cache setting is written (--additional-config).
	ConfigFile string
}

// DatabaseCheckArgs returns the arguments after "neo4j-admin" of the check, and for 4.4 the
// content of the additional config file it names. 5.x: `database check
// [--max-off-heap-memory] [--report-path] <database>` ("Check the consistency of a local
// database ... the database must be stopped first", tools/neo4j-admin/consistency-checker.adoc);
// 4.4: `check-consistency --database=<database> [--report-dir] [--additional-config]`.
func DatabaseCheckArgs(c DatabaseCheck) (args []string, config string) {
	if c.Version.Legacy() {
		return []string{"check-consistency", "--database=" + c.Database, "--report-dir=" + c.ReportDir,
			"--additional-config=" + c.ConfigFile}, "dbms.memory.pagecache.size=" + Size(c.PageCache) + "\n"
	}
	return []string{"database", "check", "--report-path=" + c.ReportDir,
		"--max-off-heap-memory=" + Size(c.PageCache), c.Database}, ""
}
