package agent

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// ExitTargetExists: the target database exists and the Restore does not allow replacing it.
// Retrying cannot help; the Job's podFailurePolicy fails at once on it.
const ExitTargetExists = 3

// ExitRefused: an inspection found no chain to restore (a gap, no FULL, nothing reaches the
// point). Retrying cannot help either.
const ExitRefused = 3

// restoreMain restores a chain offline into the server data directory mounted in the pod
// (Volume mode): `neo4j-admin restore` (4.4) or `database restore` (5.x, with --restore-until).
// An existing database of the target name is never touched unless --replace is given.
func restoreMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("agent restore", flag.ContinueOnError)
	flags.SetOutput(stderr)
	version := flags.String("neo4j-version", "", "Neo4j version (4.4, 5.26, 2025.10, ...)")
	dir := flags.String("dir", "", "backup folder inside the mounted backup volume (read-only), or a bucket folder (s3://, gs://, azb://)")
	var artifacts listFlag
	flags.Var(&artifacts, "artifact", "an artifact of the chain, FULL first (4.4: the database's backup folder); repeat")
	database := flags.String("database", "", "the name to restore as")
	untilTx := flags.Int64("until-tx", 0, "restore up to and including this transaction (5.x)")
	chainHighTx := flags.Int64("chain-high-tx", 0, "the chain's last transaction (5.x, with --until-tx)")
	stageDir := flags.String("stage-dir", "", "writable folder to copy the chain into before neo4j-admin 5.24 (no --temp-path there)")
	untilTime := flags.String("until-time", "", "restore up to this RFC 3339 time (5.x)")
	replace := flags.Bool("replace", false, "replace an existing database of that name")
	dataDir := flags.String("data-dir", "/data", "the server's data directory (the target claim)")
	tempDir := flags.String("temp-dir", "", "scratch space for 5.24+")
	admin := flags.String("neo4j-admin", "neo4j-admin", "the neo4j-admin command")
	termLog := flags.String("termination-log", "/dev/termination-log", "where the report goes")
	chainLength := flags.Int("chain-length", 0, "the chain's length, when --artifact gives only its two ends (too long to list)")
	check := flags.Bool("check", false, "a drill: check the restored database's consistency (the data directory is a scratch volume)")
	checkPageCache := flags.Int64("check-page-cache-bytes", 0, "the check's page cache (5.x --max-off-heap-memory, 4.4 dbms.memory.pagecache.size)")
	source := flags.String("source-database", "", "with --chain-length: the database the chain is of (default --database)")
	if err := flags.Parse(args); err != nil {
		return ExitInvalid
	}
	rep := result.Restore{Database: *database}
	finish := restoreFinisher(&rep, *termLog, stdout, stderr)
	v, err := neo4j.ParseVersion(*version)
	if err != nil {
		return finish(ExitInvalid, "", "%v", err)
	}
	if *dir == "" || len(artifacts) == 0 || *database == "" {
		return finish(ExitInvalid, "", "--dir, --artifact and --database are required")
	}
	if os.Getenv("HEAP_SIZE") == "" {
		return finish(ExitInvalid, "", "HEAP_SIZE is not set: an unbounded JVM sizes its heap from the host")
	}
	if *check && *checkPageCache <= 0 {
		return finish(ExitInvalid, "", "--check needs --check-page-cache-bytes: an unbounded check sizes its page cache from the node")
	}
	req := neo4j.RestoreRequest{Version: v, Database: *database, UntilTx: *untilTx, ChainHighTx: *chainHighTx, Overwrite: *replace}
	if *untilTime != "" {
		t, err := time.Parse(time.RFC3339, *untilTime)
		if err != nil {
			return finish(ExitInvalid, "", "--until-time: %v", err)
		}
		req.UntilTime = &t
	}
	if *tempDir != "" {
		// "a path to a temporary empty directory" (5.x restore-backup.adoc:144): made afresh,
		// whatever an earlier pod left, and removed when done.
		if err := freshDir(*tempDir); err != nil {
			return finish(ExitFailed, "RestoreFailed", "restore staging folder: %v", err)
		}
		req.TempPath = *tempDir
		defer os.RemoveAll(*tempDir)
	}
	// The folder first: a bucket that is not there must fail as such (see inspectMain).
	store, code, reason, err := openSource(ctx, *dir)
	if err != nil {
		return finish(code, reason, "%v", err)
	}
	defer store.Close()
	if *chainLength > len(artifacts) {
		of := *source
		if of == "" {
			of = *database
		}
		resolved, err := resolveAgain(ctx, *admin, *dir, of, artifacts, *chainLength, stdout)
		var bad invalidError
		switch {
		case errors.As(err, &bad):
			return finish(ExitInvalid, "", "%v", err)
		case err != nil:
			return finish(ExitFailed, "InvalidChain", "%v", err)
		}
		artifacts = resolved
	}
	for _, a := range artifacts {
		if _, _, err := store.stat(ctx, a); err != nil {
			return finish(ExitFailed, "InvalidChain", "artifact %s: %v", a, err)
		}
		req.Artifacts = append(req.Artifacts, inFolder(*dir, a))
	}
	rep.Chain = artifacts

	// Never touched unless asked: the check is the agent's own, before neo4j-admin runs, so
	// the refusal does not depend on any version's flag defaults.
	if _, err := os.Stat(filepath.Join(*dataDir, "databases", *database)); err == nil && !*replace {
		return finish(ExitTargetExists, "TargetExists", "database %s already exists in %s; set replaceExisting to replace it", *database, *dataDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return finish(ExitFailed, "RestoreFailed", "checking the data directory: %v", err)
	}
	began := time.Now()
	err = runRestore(ctx, req, *stageDir, *admin, stdout)
	rep.RestoreTime = time.Since(began)
	if err != nil {
		var bad invalidError
		if errors.As(err, &bad) {
			return finish(ExitInvalid, "", "%v", err)
		}
		return finish(ExitFailed, "RestoreFailed", "%v", err)
	}
	if *check {
		return drillCheck(ctx, &rep, v, *dataDir, *tempDir, *checkPageCache, *admin, stdout, finish)
	}
	return finish(ExitOK, "", "")
}

// DrillReportDir is the folder of the data directory (a drill's scratch volume) where a check
// that found inconsistencies leaves its report.
const DrillReportDir = "drill-report"

// drillCheck checks the database just restored, stopped, in the data directory, and ends the
// drill with its verdict: inconsistencies are final (exit 3; the scratch volume keeps the
// report), a check that could not run is retried like any failure.
func drillCheck(ctx context.Context, rep *result.Restore, v neo4j.Version, dataDir, tempDir string, pageCache int64, admin string,
	log io.Writer, finish func(code int, reason, format string, a ...any) int) int {
	cannotStart := func(err error) int {
		return finish(ExitFailed, "CheckFailed", "restored, but the consistency check could not start: %v", err)
	}
	reports := filepath.Join(dataDir, DrillReportDir)
	// A report an earlier pod of this Job left is not this check's.
	_ = os.RemoveAll(reports)
	if err := os.MkdirAll(reports, 0o750); err != nil {
		return cannotStart(err)
	}
	// The 4.4 check's settings file goes in a folder of its own, removed once the check has run.
	var scratch string
	err := os.MkdirAll(cmp.Or(tempDir, os.TempDir()), 0o750)
	if err == nil {
		scratch, err = os.MkdirTemp(tempDir, "neo4j-check-")
	}
	if err != nil {
		return cannotStart(err)
	}
	defer os.RemoveAll(scratch)
	confFile := filepath.Join(scratch, "check.conf")
	argv, conf := neo4j.DatabaseCheckArgs(neo4j.DatabaseCheck{Version: v, Database: rep.Database, ReportDir: reports,
		PageCache: pageCache, ConfigFile: confFile})
	if conf != "" {
		if err := os.WriteFile(confFile, []byte(conf), 0o640); err != nil {
			return cannotStart(err)
		}
	}
	began := time.Now()
	_, err = adminOutput(ctx, admin, argv, log)
	rep.CheckTime = time.Since(began)
	found := inconsistencyReports(reports)
	if err == nil || len(found) == 0 {
		// Only evidence is kept.
		_ = os.RemoveAll(reports)
	}
	var bad invalidError
	switch {
	case err == nil:
		rep.Consistent = ptr(true)
		return finish(ExitOK, "", "")
	case len(found) > 0:
		// "If the consistency checker finds errors, it exits with an exit code other than 0 and
		// writes a report file": the report, not the exit code, tells "inconsistent" from
		// "could not run".
		rep.Consistent = ptr(false)
		rep.Report = filepath.ToSlash(filepath.Join(DrillReportDir, filepath.Base(found[0])))
		if head, rerr := os.ReadFile(found[0]); rerr == nil {
			fmt.Fprintf(log, "agent: %s begins:\n%s\n", rep.Report, result.Clip(string(head), 4096))
		}
		return finish(ExitRefused, "Inconsistent", "database %s restored, but the consistency check found inconsistencies: report %s", rep.Database, rep.Report)
	case errors.As(err, &bad):
		return finish(ExitInvalid, "", "%v", err)
	default:
		return finish(ExitFailed, "CheckFailed", "database %s restored, but the consistency check did not run to a verdict: %v", rep.Database, err)
	}
}

// invalidError is a mistake in what the agent was asked, not a failure of the restore.
type invalidError struct{ error }

// freshDir makes p an empty folder, whatever an earlier pod left there: neo4j-admin's --temp-path
// is "a path to a temporary empty directory" (5.x online-backup.adoc:173, restore-backup.adoc:144).
func freshDir(p string) error {
	_ = os.RemoveAll(p)
	return os.MkdirAll(p, 0o750)
}

// openSource opens the backup folder a restore or an inspection reads; when it cannot, code and
// reason are how its report ends: bad arguments fail at once, a folder or bucket out of reach
// like any failed restore.
func openSource(ctx context.Context, dir string) (f folder, code int, reason string, err error) {
	f, err = openFolder(ctx, dir)
	var bad invalidError
	switch {
	case errors.As(err, &bad):
		return nil, ExitInvalid, "", err
	case err != nil:
		return nil, ExitFailed, "RestoreFailed", fmt.Errorf("backup folder: %w", err)
	}
	return f, ExitOK, "", nil
}

// runRestore runs one neo4j-admin restore.
//
// From 5.24, "If --temp-path is not set, a temporary directory is created inside the directory
// specified by the --from-path option" (5.x, restore-backup.adoc): the backup volume, which the
// restore pods mount read-only, so req.TempPath is always set there. Before 5.24 there is no
// --temp-path and where the restore stages is not documented: the safe side is a copy of the
// chain in stage (a writable folder the builder sized), restored from there and removed after.
func runRestore(ctx context.Context, req neo4j.RestoreRequest, stage, admin string, log io.Writer) error {
	if !req.Version.Legacy() && !req.Version.HasTempPath() {
		if stage == "" {
			return invalidError{fmt.Errorf("neo4j-admin %s has no --temp-path: a --stage-dir to copy the chain into is required", req.Version)}
		}
		// A copy a killed attempt left behind is ours by its name: remove it first.
		stale, _ := filepath.Glob(filepath.Join(stage, stagePrefix+"*"))
		for _, p := range stale {
			_ = os.RemoveAll(p)
		}
		dir, err := os.MkdirTemp(stage, stagePrefix)
		if err != nil {
			return fmt.Errorf("staging the chain: %w", err)
		}
		defer os.RemoveAll(dir)
		staged := make([]string, 0, len(req.Artifacts))
		for _, a := range req.Artifacts {
			dst := filepath.Join(dir, filepath.Base(a))
			if err := copyFile(a, dst); err != nil {
				return fmt.Errorf("staging the chain: %w", err)
			}
			staged = append(staged, dst)
		}
		fmt.Fprintf(log, "agent: copied %d artifact(s) to %s (neo4j-admin %s has no --temp-path)\n", len(staged), dir, req.Version)
		req.Artifacts = staged
	}
	argv, err := neo4j.RestoreArgs(req)
	if err != nil {
		return invalidError{err}
	}
	return runAdmin(ctx, admin, argv, log)
}

// stagePrefix names the agent's copies of a chain; a database name cannot start with '.'.
const stagePrefix = ".neo4j-backup-chain-"

// copyFile copies src to dst, synced, so that a restore never reads a half-written copy.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	return syncedCopy(out, in)
}

// syncedCopy copies in to out, syncs and closes it: what is there afterwards is on disk.
func syncedCopy(out *os.File, in io.Reader) error {
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runAdmin runs neo4j-admin with argv; a non-zero exit is an error naming its last line.
func runAdmin(ctx context.Context, admin string, argv []string, log io.Writer) error {
	_, err := adminOutput(ctx, admin, argv, log)
	return err
}

// restoreFinisher returns how restore and seed end: the report's reason and error set, the
// whole report in the log and the capped one in the termination message (as writeReport does a
// backup's), and the exit code passed through.
func restoreFinisher(rep *result.Restore, termLog string, stdout, stderr io.Writer) func(code int, reason, format string, a ...any) int {
	return func(code int, reason, format string, a ...any) int {
		rep.Reason = reason
		if format != "" {
			rep.Error = fmt.Sprintf(format, a...)
		}
		fmt.Fprintf(stdout, "report: %s\n", result.EncodeRestore(*rep, 1<<20))
		if err := os.WriteFile(termLog, result.EncodeRestore(*rep, result.MaxMessage), 0o644); err != nil {
			fmt.Fprintf(stderr, "agent: writing the report to %s: %v\n", termLog, err)
		}
		return code
	}
}
