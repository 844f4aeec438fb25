// Package agent runs inside the backup and restore pods, in the Neo4j image: it drives
// neo4j-admin (and cypher-shell) with the right syntax for the version, tries the members in
// order, checks consistency, inspects what was written and reports it as JSON on the
// container's termination message. It never talks to the Kubernetes API.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// Exit codes of `agent backup`. The Job's podFailurePolicy fails the Job at once on
// ExitInvalid: a retry of a run that cannot start cannot help.
const (
	// ExitOK: at least one database was backed up (the report tells which).
	ExitOK = 0
	// ExitFailed: no database was backed up; a retry may find a member back.
	ExitFailed = 1
	// ExitInvalid: the agent's own arguments or environment are wrong.
	ExitInvalid = 2
)

// Member is a server the backup may be read from, in the order to try.
type Member struct {
	Name    string
	Zone    string
	Address string // host:port of its backup listener
}

// BackupConfig is everything one backup run needs; the Job builder sets it as flags.
type BackupConfig struct {
	Version   neo4j.Version
	Members   []Member
	Databases []string
	Type      string // FULL, DIFF or AUTO
	// Dir is the backup folder inside the mounted volume, created if missing, or a bucket
	// folder's URI (5.x only), which neo4j-admin and the agent reach through the cloud SDK's
	// default chain.
	Dir       string
	PageCache int64
	Check     bool
	// AdditionalConfig is a neo4j.conf fragment for neo4j-admin (the backup SSL policy).
	AdditionalConfig string
	// TempDir is scratch space (recovery of 5.x artifacts during a check; for a bucket, the
	// staging of the backup and the check's reports before they are uploaded).
	TempDir string
	// BackupName names the folder under Dir/.consistency where a check's report is kept when
	// it found inconsistencies (reports written to scratch would go with it).
	BackupName string
}

// ConsistencyDir is the folder, inside a backup folder, that keeps consistency reports:
// <dir>/.consistency/<backup>/<database>. A database name cannot start with '.', so 4.4's
// per-database folders never collide with it.
const ConsistencyDir = ".consistency"

// Runner runs neo4j-admin with args and returns its exit code and the tail of its output.
// err is for failures to run it at all.
type Runner interface {
	Run(ctx context.Context, args []string) (code int, output string, err error)
}

// Backup takes the backup cfg describes and reports it. The second value is the exit code.
func Backup(ctx context.Context, cfg BackupConfig, run Runner, now func() time.Time) (rep result.Backup, code int) {
	started := now()
	if len(cfg.Members) == 0 {
		return result.Backup{Error: "no member to back up from"}, ExitInvalid
	}
	store, err := backupFolder(ctx, cfg)
	if err != nil {
		var bad invalidError
		if errors.As(err, &bad) {
			return result.Backup{Error: "backup folder: " + err.Error()}, ExitInvalid
		}
		// A bucket that cannot be reached now (the network, the store) may be reached by a
		// retry; one that refuses these credentials fails the retries the same way.
		return result.Backup{Error: "backup folder: " + err.Error()}, ExitFailed
	}
	defer store.Close()
	defer func() {
		// Whatever the outcome: a volume that filled up is what a failed backup most needs to
		// say. A bucket has no size to report.
		if !isBucket(cfg.Dir) {
			rep.Space = space(cfg.Dir)
		}
		if !result.Fits(rep, result.MaxMessage-manifestRoom) {
			// Also when the run was stopped (its context cancelled): what the backup wrote
			// needs its record, or no prune would ever find the artifacts it lists.
			// Bounded well inside the pod's grace period (30 s), which the termination
			// message must not miss.
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			rep.Manifest = keepManifest(mctx, store, cfg.BackupName, started, &rep)
			cancel()
		}
	}()
	b := &backup{cfg: cfg, run: run, now: now, fresh: map[string]bool{}, store: store}
	if cfg.Version.Legacy() && cfg.Check {
		// 4.4's report folder is this run's alone (an earlier pod's reports go first), made
		// before each neo4j-admin run; one that holds no report goes at the end.
		_ = os.RemoveAll(b.reportDir(""))
		defer b.keepsReport(b.reportDir(""))
	}
	for _, db := range cfg.Databases {
		rep.Databases = append(rep.Databases, b.database(ctx, db)...)
		if b.usage != "" {
			// neo4j-admin refused the arguments: every other database and every retry would
			// get the same answer. The Job's podFailurePolicy fails at once on ExitInvalid.
			rep.Error = b.usage
			return rep, ExitInvalid
		}
	}
	for _, d := range rep.Databases {
		if d.BackedUp() {
			return rep, ExitOK
		}
	}
	return rep, ExitFailed
}

type backup struct {
	cfg BackupConfig
	run Runner
	now func() time.Time
	// fresh marks 4.4 database folders that hold a FULL this run took: new folders, folders
	// moved aside first, and folders neo4j-admin's --fallback-to-full replaced.
	fresh map[string]bool
	// usage is set when neo4j-admin exited with its usage error.
	usage string
	// store is the backup folder: cfg.Dir on the volume, or the bucket folder.
	store folder
}

// backupFolder opens cfg.Dir, made if it is a directory that is missing. A bucket folder needs
// no making (objects are keys), but the bucket must be there and reachable: a backup streamed to
// a bucket that is not would fail only after the whole store was staged.
func backupFolder(ctx context.Context, cfg BackupConfig) (folder, error) {
	if !isBucket(cfg.Dir) {
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return nil, invalidError{err}
		}
		return localFolder(cfg.Dir), nil
	}
	if !cfg.Version.AtLeast(5, 25) {
		// The chain in a bucket is read with `backup inspect`, new in 5.25 (neo4j.InspectArgs).
		return nil, invalidError{fmt.Errorf("%s: backups in a bucket need Neo4j 5.25 or later, whose backup inspect reads the chain there; this is %s", cfg.Dir, cfg.Version)}
	}
	if cfg.TempDir == "" || isBucket(cfg.TempDir) {
		return nil, invalidError{fmt.Errorf("%s: a backup to a bucket stages on a local --temp-dir", cfg.Dir)}
	}
	return openFolder(ctx, cfg.Dir)
}

func isGlob(db string) bool { return strings.ContainsAny(db, "*?") }

// database backs up one name or glob, trying the members in order until one succeeds.
func (b *backup) database(ctx context.Context, db string) []result.Database {
	if b.cfg.Version.Legacy() && b.cfg.Type == "FULL" {
		// 4.4 has no --type: "After the initial full backup, the subsequent backups attempt to
		// use the incremental mode" (4.4, backup-restore/modes.adoc). A FULL starts new
		// folders; the old ones are renamed, never deleted, so they stay restorable. For a glob
		// that is every folder it matches (the databases backed up before).
		if err := b.moveAside(db); err != nil {
			return []result.Database{{Name: db, Error: err.Error()}}
		}
	}
	var errs []string
	for _, m := range b.cfg.Members {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err().Error())
			break
		}
		before, err := b.snapshot(ctx)
		if err != nil {
			return []result.Database{{Name: db, Error: err.Error()}}
		}
		if b.cfg.Version.Legacy() && b.cfg.Check {
			if err := os.MkdirAll(b.reportDir(""), 0o750); err != nil {
				return []result.Database{{Name: db, Error: "consistency report folder: " + err.Error()}}
			}
		}
		tempPath := filepath.Join(b.cfg.TempDir, "backup")
		if b.cfg.Version.HasTempPath() {
			// "a path to a temporary empty directory" (5.x online-backup.adoc:173): made afresh
			// for each run, whatever an earlier one left.
			if err := freshDir(tempPath); err != nil {
				return []result.Database{{Name: db, Error: "backup staging folder: " + err.Error()}}
			}
		}
		started := b.now()
		code, out, err := b.run.Run(ctx, neo4j.BackupArgs(neo4j.BackupRequest{
			Version:          b.cfg.Version,
			From:             m.Address,
			Database:         db,
			Dir:              b.cfg.Dir,
			Type:             b.cfg.Type,
			PageCache:        b.cfg.PageCache,
			CheckConsistency: b.cfg.Check,
			ReportDir:        b.reportDir(""),
			AdditionalConfig: b.cfg.AdditionalConfig,
			TempPath:         tempPath,
		}))
		if err != nil {
			return []result.Database{{Name: db, Error: err.Error()}}
		}
		outcome := neo4j.BackupExit(b.cfg.Version, code)
		if outcome == neo4j.BackupUsage {
			b.usage = fmt.Sprintf("neo4j-admin %s refused the arguments (exit %d, usage error): %s", b.cfg.Version, code, firstLine(out))
			return []result.Database{{Name: db, Member: m.Name, Zone: m.Zone, Error: b.usage}}
		}
		written, werr := b.written(ctx, db, before, started, outcome)
		if werr != nil {
			return []result.Database{{Name: db, Error: werr.Error()}}
		}
		if outcome == neo4j.BackupFailed && len(written) == 0 {
			errs = append(errs, fmt.Sprintf("%s: exit %d: %s", m.Name, code, lastLine(out)))
			continue
		}
		return b.report(ctx, db, m, outcome, code, out, written)
	}
	return []result.Database{{Name: db, Error: "every member failed: " + strings.Join(errs, "; ")}}
}

// report turns a successful run (possibly partial, for a glob) into results.
func (b *backup) report(ctx context.Context, db string, m Member, outcome neo4j.BackupOutcome, code int, out string, written []string) []result.Database {
	var res []result.Database
	seen := map[string]bool{}
	for _, art := range written {
		name := art
		if !b.cfg.Version.Legacy() {
			name, _ = neo4j.ArtifactDatabase(art)
		}
		seen[name] = true
		d := result.Database{Name: name, Artifact: art, Member: m.Name, Zone: m.Zone}
		if b.cfg.Version.Legacy() {
			d.Size, _ = size(filepath.Join(b.cfg.Dir, art))
		} else {
			d.Size, _, _ = b.store.stat(ctx, art)
		}
		if b.cfg.Version.Legacy() {
			b.legacyDetails(&d, outcome)
		} else {
			b.details(ctx, &d)
		}
		res = append(res, d)
	}
	if outcome == neo4j.BackupFailed {
		// Some databases of a glob made it, the others did not; their names are unknown.
		res = append(res, result.Database{Name: db, Member: m.Name, Zone: m.Zone,
			Error: fmt.Sprintf("%s: exit %d after backing up %d database(s): %s", m.Name, code, len(written), lastLine(out))})
	} else if !isGlob(db) && !seen[db] {
		res = append(res, result.Database{Name: db, Member: m.Name, Zone: m.Zone,
			Error: fmt.Sprintf("%s: neo4j-admin reported success but wrote nothing for %s", m.Name, db)})
	}
	return res
}

// legacyDetails fills in what 4.4 tells: its exit code carries the consistency verdict, and an
// incremental backup is any backup into a folder that already held one.
func (b *backup) legacyDetails(d *result.Database, outcome neo4j.BackupOutcome) {
	d.Type = "DIFF"
	if b.fresh[d.Name] {
		d.Type = "FULL"
	}
	if !b.cfg.Check {
		return
	}
	switch outcome {
	case neo4j.BackupOK:
		d.Consistent, d.Check = ptr(true), result.CheckPassed
	case neo4j.BackupOKInconsistent:
		d.Consistent, d.Check = ptr(false), result.CheckFailed
		d.Error = "backed up, but the consistency check found inconsistencies"
		if b.keepsReport(b.reportDir("")) {
			d.Report = b.reportKey("")
			d.Error += "; the report is in " + d.Report
		}
	case neo4j.BackupOKCheckNotRun:
		d.Check = result.CheckNotRun
		d.Error = "backed up, but the consistency check failed to run"
	}
}

// reportDir is where the check of database (4.4: of the whole run, "") writes its report: on
// the backup volume, beside the artifacts, so an inconsistent verdict keeps its evidence. For a
// bucket, in the staging folder, from where keepsReport uploads it to reportKey.
func (b *backup) reportDir(database string) string {
	if isBucket(b.cfg.Dir) {
		return filepath.Join(b.cfg.TempDir, filepath.FromSlash(b.reportKey(database)))
	}
	return filepath.Join(b.cfg.Dir, filepath.FromSlash(b.reportKey(database)))
}

// reportKey is where database's report is kept, relative to the backup folder, as status shows
// it: .consistency/<backup>/<database>.
func (b *backup) reportKey(database string) string {
	name := b.cfg.BackupName
	if name == "" {
		name = "unnamed"
	}
	return path.Join(ConsistencyDir, name, database)
}

// keepsReport tells whether dir holds an inconsistency report; when it does not, dir (and the
// folders above it that are left empty) are removed: only evidence is kept.
func (b *backup) keepsReport(dir string) bool {
	if len(inconsistencyReports(dir)) > 0 {
		return true
	}
	_ = os.RemoveAll(dir)
	for p := filepath.Dir(dir); p != b.cfg.Dir && strings.HasPrefix(p, b.cfg.Dir); p = filepath.Dir(p) {
		if os.Remove(p) != nil {
			break
		}
	}
	return false
}

// details inspects a 5.x artifact for its type and transaction range and, when asked, checks
// its consistency where Neo4j supports that: a FULL (recovered, on the versions that say so).
func (b *backup) details(ctx context.Context, d *result.Database) {
	var recovered *bool
	code, out, err := b.run.Run(ctx, neo4j.InspectArgs(b.cfg.Dir))
	if err == nil && code == 0 {
		if arts, perr := neo4j.ParseInspect(out); perr == nil {
			for _, a := range arts {
				if a.File == d.Artifact {
					d.Type = map[bool]string{true: "FULL", false: "DIFF"}[a.Full]
					d.LowTx, d.HighTx = a.LowestTx, a.HighestTx
					recovered = a.Recovered
				}
			}
		}
	}
	if !b.cfg.Check {
		return
	}
	switch {
	case d.Type == "DIFF":
		// "consistency check is not supported for differential backups. The backup chain must
		// be aggregated into a full backup artifact before running consistency check" (5.x,
		// 2025.08 and later, consistency-checker.adoc). The FULL that starts the chain carries
		// its own verdict.
		d.Check = result.CheckNotSupported
		return
	case d.Type == "" && !b.cfg.Version.ChecksSingleArtifact():
		// Not found in the inspection: a check of the folder might check some other chain.
		d.Check = result.CheckNotRun
		d.Error = "backed up, but the consistency check did not run: the artifact was not found in the inspection"
		return
	case b.cfg.Version.ChecksSingleArtifact() && recovered != nil && !*recovered:
		// 2025.09 and later: "not supported for differential backups or unrecovered full backups".
		d.Check = result.CheckNotSupported
		return
	}
	reports := b.reportDir(d.Name)
	// A report left by an earlier pod of this Job (or a deleted Backup of the name) is not
	// this check's: only what this run writes may say "inconsistent".
	_ = os.RemoveAll(reports)
	b.dropUploadedReports(ctx, d.Name)
	if err := os.MkdirAll(reports, 0o750); err != nil {
		d.Check = result.CheckNotRun
		d.Error = "backed up, but the consistency check could not start: " + err.Error()
		return
	}
	// The check's staging area, made afresh: a bucket's artifact is extracted there.
	checkTemp := filepath.Join(b.cfg.TempDir, "check")
	if err := freshDir(checkTemp); err != nil {
		d.Check = result.CheckNotRun
		d.Error = "backed up, but the consistency check could not start: " + err.Error()
		return
	}
	code, out, err = b.run.Run(ctx, neo4j.CheckArgs(neo4j.CheckRequest{
		Version:          b.cfg.Version,
		Database:         d.Name,
		Dir:              b.cfg.Dir,
		Artifact:         d.Artifact,
		ReportPath:       reports,
		TempPath:         checkTemp,
		MaxOffHeap:       b.cfg.PageCache,
		AdditionalConfig: b.cfg.AdditionalConfig,
	}))
	switch {
	case err != nil:
		d.Check = result.CheckNotRun
		d.Error = "backed up, but the consistency check could not start: " + err.Error()
	case code == 0:
		d.Consistent, d.Check = ptr(true), result.CheckPassed
	case b.keepsReport(reports):
		// "If the consistency checker finds errors, it exits with an exit code other than 0
		// and writes a report file" (consistency-checker.adoc): the report, not the exit
		// code, tells "inconsistent" from "could not run".
		d.Consistent, d.Check = ptr(false), result.CheckFailed
		d.Report = b.reportKey(d.Name)
		d.Error = "backed up, but the consistency check found inconsistencies; the report is in " + d.Report
		if err := b.uploadReports(ctx, reports, d.Report); err != nil {
			// No report in the bucket: status names none, and the operator keeps the pod, whose
			// staging volume holds it.
			d.Report = ""
			d.Error = "backed up, but the consistency check found inconsistencies; uploading the report to the bucket failed (" + err.Error() + "): it is on the backup pod's staging volume only"
		}
		return
	default:
		d.Check = result.CheckNotRun
		d.Error = fmt.Sprintf("backed up, but the consistency check failed to run: exit %d: %s", code, lastLine(out))
	}
	b.keepsReport(reports)
}

// inconsistencyReports are the reports a consistency check wrote into dir.
func inconsistencyReports(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "inconsistencies*.report"))
	return matches
}

// snapshot lists what the backup folder holds before a run: 5.x artifact files, 4.4 database
// folders with their modification times (5.x needs only the names: artifacts are never
// rewritten, and a bucket lists none).
func (b *backup) snapshot(ctx context.Context) (map[string]time.Time, error) {
	if !b.cfg.Version.Legacy() {
		entries, err := b.store.list(ctx)
		if err != nil {
			return nil, fmt.Errorf("backup folder: %w", err)
		}
		m := map[string]time.Time{}
		for _, e := range entries {
			m[e.name] = time.Time{}
		}
		return m, nil
	}
	entries, err := os.ReadDir(b.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup folder: %w", err)
	}
	m := map[string]time.Time{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		m[e.Name()] = info.ModTime()
	}
	return m, nil
}

// written lists what a run for db wrote: new 5.x artifacts of matching databases; for 4.4,
// the database's folder after a successful run, or for a glob the matching folders that hold a
// file changed since the run started (4.4 rewrites folders in place, so only times tell).
func (b *backup) written(ctx context.Context, db string, before map[string]time.Time, started time.Time, outcome neo4j.BackupOutcome) ([]string, error) {
	if !b.cfg.Version.Legacy() {
		return b.newArtifacts(ctx, db, before)
	}
	entries, err := os.ReadDir(b.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup folder: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || aside(name) {
			continue // moved-aside folders and the reports are not this run's backups
		}
		if ok, _ := path.Match(db, name); !ok {
			continue
		}
		_, existed := before[name]
		changed := !newestChange(filepath.Join(b.cfg.Dir, name)).Before(started.Add(-time.Second))
		if (!isGlob(db) && outcome != neo4j.BackupFailed) || (isGlob(db) && changed) {
			if !existed || fellBackToFull(before, entries, name) {
				b.fresh[name] = true
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// newArtifacts are the 5.x artifact files of databases matching db that were not in the folder
// before the run.
func (b *backup) newArtifacts(ctx context.Context, db string, before map[string]time.Time) ([]string, error) {
	entries, err := b.store.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup folder: %w", err)
	}
	var out []string
	for _, e := range entries {
		if _, existed := before[e.name]; existed || e.dir {
			continue
		}
		dbName, ok := neo4j.ArtifactDatabase(e.name)
		if !ok {
			continue
		}
		if ok, _ := path.Match(db, dbName); ok {
			out = append(out, e.name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// dropUploadedReports deletes, in a bucket, the reports of database an earlier pod of this Job
// (or a deleted Backup of the name) uploaded: on the volume the folder is removed before the
// check, here its objects. Only report files are deleted; one that cannot be is said in the log.
func (b *backup) dropUploadedReports(ctx context.Context, database string) {
	if !isBucket(b.cfg.Dir) {
		return
	}
	f, err := openFolder(ctx, inFolder(b.cfg.Dir, b.reportKey(database)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "agent: earlier reports of %s: %v\n", database, err)
		return
	}
	defer f.Close()
	entries, err := f.list(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "agent: earlier reports of %s: %v\n", database, err)
		return
	}
	for _, e := range entries {
		if ok, _ := filepath.Match("inconsistencies*.report", e.name); ok && !e.dir {
			if err := f.remove(ctx, e.name); err != nil {
				fmt.Fprintf(os.Stderr, "agent: earlier report %s of %s: %v\n", e.name, database, err)
			}
		}
	}
}

// uploadReports puts the reports in the local folder dir into the bucket folder under key; on
// the volume they are written there already.
func (b *backup) uploadReports(ctx context.Context, dir, key string) error {
	if !isBucket(b.cfg.Dir) {
		return nil
	}
	for _, f := range inconsistencyReports(dir) {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := b.store.put(ctx, key+"/"+filepath.Base(f), data); err != nil {
			return err
		}
	}
	return nil
}

// asideRE matches the folders beside 4.4's database folders that are not a database's backup:
// neo4j-admin's "<name>.err.<N>" (4.4, online-backup.adoc, --fallback-to-full: "backup will move
// the old backup to <name>.err.<N> and fallback on a full backup instead"), and the agent's own
// "<name>.<yyyy-mm-ddThh-mm-ss>" of a FULL. Database names may contain '.', so only these
// shapes are excluded; a name starting with '.' is never a database (ConsistencyDir).
var asideRE = regexp.MustCompile(`\.(err\.[0-9]+|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2})$`)

func aside(name string) bool { return strings.HasPrefix(name, ".") || asideRE.MatchString(name) }

// fellBackToFull tells whether a run moved db's folder to a new <db>.err.<N>: its incremental
// backup failed and neo4j-admin took a full one instead (--fallback-to-full defaults to true).
func fellBackToFull(before map[string]time.Time, after []os.DirEntry, db string) bool {
	for _, e := range after {
		n := e.Name()
		if _, existed := before[n]; existed || !strings.HasPrefix(n, db+".err.") {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimPrefix(n, db+".err.")); err == nil {
			return true
		}
	}
	return false
}

// newestChange is the latest modification time of anything under p.
func newestChange(p string) time.Time {
	var newest time.Time
	_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	return newest
}

// moveAside renames 4.4's folders matching db (a name or a glob) so that the next backup of
// each is a full one, and marks them fresh.
func (b *backup) moveAside(db string) error {
	entries, err := os.ReadDir(b.cfg.Dir)
	if err != nil {
		return fmt.Errorf("backup folder: %w", err)
	}
	stamp := b.now().UTC().Format("2006-01-02T15-04-05")
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || aside(name) {
			continue
		}
		if ok, _ := path.Match(db, name); !ok {
			continue
		}
		cur := filepath.Join(b.cfg.Dir, name)
		if err := os.Rename(cur, cur+"."+stamp); err != nil {
			return fmt.Errorf("moving the previous backup of %s aside for a FULL: %w", name, err)
		}
		b.fresh[name] = true
	}
	return nil
}

func size(p string) (int64, error) {
	var total int64
	err := filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// firstLine is the first line neo4j-admin printed that is not the agent's: a usage error names
// the option first, then prints the usage.
func firstLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "agent: ") {
			return result.Clean(l, 300)
		}
	}
	return "no output"
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return result.Clean(l, 300)
		}
	}
	return "no output"
}

func ptr[T any](v T) *T { return &v }
