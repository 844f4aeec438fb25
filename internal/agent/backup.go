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
	"sort"
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
	// Dir is the backup folder inside the mounted volume, created if missing.
	Dir       string
	PageCache int64
	Check     bool
	// AdditionalConfig is a neo4j.conf fragment for neo4j-admin (the backup SSL policy).
	AdditionalConfig string
	// TempDir is scratch space (consistency-check reports, recovery of 5.x artifacts).
	TempDir string
}

// Runner runs neo4j-admin with args and returns its exit code and the tail of its output.
// err is for failures to run it at all.
type Runner interface {
	Run(ctx context.Context, args []string) (code int, output string, err error)
}

// Backup takes the backup cfg describes and reports it. The second value is the exit code.
func Backup(ctx context.Context, cfg BackupConfig, run Runner, now func() time.Time) (result.Backup, int) {
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return result.Backup{Error: "backup folder: " + err.Error()}, ExitInvalid
	}
	if len(cfg.Members) == 0 {
		return result.Backup{Error: "no member to back up from"}, ExitInvalid
	}
	b := &backup{cfg: cfg, run: run, now: now, fresh: map[string]bool{}}
	var rep result.Backup
	for _, db := range cfg.Databases {
		rep.Databases = append(rep.Databases, b.database(ctx, db)...)
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
	// fresh marks 4.4 database folders this run created: their backup was a FULL.
	fresh map[string]bool
}

func isGlob(db string) bool { return strings.ContainsAny(db, "*?") }

// database backs up one name or glob, trying the members in order until one succeeds.
func (b *backup) database(ctx context.Context, db string) []result.Database {
	if b.cfg.Version.Legacy() && b.cfg.Type == "FULL" && !isGlob(db) {
		// 4.4 has no --type: a backup into an existing folder is incremental. A FULL starts
		// a new folder; the old one is renamed, never deleted, so it stays restorable.
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
		before, err := b.snapshot()
		if err != nil {
			return []result.Database{{Name: db, Error: err.Error()}}
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
			ReportDir:        filepath.Join(b.cfg.TempDir, "reports"),
			AdditionalConfig: b.cfg.AdditionalConfig,
			TempPath:         filepath.Join(b.cfg.TempDir, "backup"),
		}))
		if err != nil {
			return []result.Database{{Name: db, Error: err.Error()}}
		}
		outcome := neo4j.BackupExit(b.cfg.Version, code)
		written, werr := b.written(db, before, started, outcome)
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
		d.Size, _ = size(filepath.Join(b.cfg.Dir, art))
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
	if b.cfg.Type == "FULL" || b.fresh[d.Name] {
		d.Type = "FULL"
	}
	if !b.cfg.Check {
		return
	}
	switch outcome {
	case neo4j.BackupOK:
		d.Consistent = ptr(true)
	case neo4j.BackupOKInconsistent:
		d.Consistent = ptr(false)
		d.Error = "backed up, but the consistency check found inconsistencies"
	case neo4j.BackupOKCheckNotRun:
		d.Error = "backed up, but the consistency check failed to run"
	}
}

// details inspects a 5.x artifact for its type and transaction range and, when asked, checks
// the consistency of the backup it ends.
func (b *backup) details(ctx context.Context, d *result.Database) {
	code, out, err := b.run.Run(ctx, neo4j.InspectArgs(b.cfg.Dir))
	if err == nil && code == 0 {
		if arts, perr := neo4j.ParseInspect(out); perr == nil {
			for _, a := range arts {
				if a.File == d.Artifact {
					d.Type = map[bool]string{true: "FULL", false: "DIFF"}[a.Full]
					d.LowTx, d.HighTx = a.LowestTx, a.HighestTx
				}
			}
		}
	}
	if !b.cfg.Check {
		return
	}
	reports := filepath.Join(b.cfg.TempDir, "reports", d.Name)
	if err := os.MkdirAll(reports, 0o750); err != nil {
		d.Error = "backed up, but the consistency check could not start: " + err.Error()
		return
	}
	code, out, err = b.run.Run(ctx, neo4j.CheckArgs(neo4j.CheckRequest{
		Version:          b.cfg.Version,
		Database:         d.Name,
		Dir:              b.cfg.Dir,
		ReportPath:       reports,
		TempPath:         filepath.Join(b.cfg.TempDir, "check"),
		AdditionalConfig: b.cfg.AdditionalConfig,
	}))
	switch {
	case err != nil:
		d.Error = "backed up, but the consistency check could not start: " + err.Error()
	case code == 0:
		d.Consistent = ptr(true)
	case hasInconsistencyReport(reports):
		// The check's exit code alone does not tell "inconsistent" from "could not run"
		// across versions; the report file it writes for inconsistencies does.
		d.Consistent = ptr(false)
		d.Error = "backed up, but the consistency check found inconsistencies"
	default:
		d.Error = fmt.Sprintf("backed up, but the consistency check failed to run: exit %d: %s", code, lastLine(out))
	}
}

func hasInconsistencyReport(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "inconsistencies*.report"))
	return len(matches) > 0
}

// snapshot lists what the backup folder holds before a run: 5.x artifact files, 4.4 database
// folders with their modification times.
func (b *backup) snapshot() (map[string]time.Time, error) {
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
func (b *backup) written(db string, before map[string]time.Time, started time.Time, outcome neo4j.BackupOutcome) ([]string, error) {
	entries, err := os.ReadDir(b.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup folder: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if b.cfg.Version.Legacy() {
			if !e.IsDir() || strings.Contains(name, ".") {
				continue // moved-aside folders (<db>.<time>, <db>.err.N) are not this run's
			}
			if ok, _ := path.Match(db, name); !ok {
				continue
			}
			_, existed := before[name]
			changed := !newestChange(filepath.Join(b.cfg.Dir, name)).Before(started.Add(-time.Second))
			if (!isGlob(db) && outcome != neo4j.BackupFailed) || (isGlob(db) && changed) {
				if !existed {
					b.fresh[name] = true
				}
				out = append(out, name)
			}
			continue
		}
		if _, existed := before[name]; existed || e.IsDir() {
			continue
		}
		dbName, ok := neo4j.ArtifactDatabase(name)
		if !ok {
			continue
		}
		if ok, _ := path.Match(db, dbName); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
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

// moveAside renames 4.4's folder for db so that the next backup is a full one.
func (b *backup) moveAside(db string) error {
	cur := filepath.Join(b.cfg.Dir, db)
	if _, err := os.Stat(cur); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	dst := filepath.Join(b.cfg.Dir, db+"."+b.now().UTC().Format("2006-01-02T15-04-05"))
	if err := os.Rename(cur, dst); err != nil {
		return fmt.Errorf("moving the previous backup aside for a FULL: %w", err)
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
