package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/chain"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// inspectMain runs `agent inspect`: for a storage location no Backup describes, it lists the
// artifacts with neo4j-admin's --inspect-path and resolves, here, the chain of one database
// that a restore needs (ending at the newest artifact, or reaching --until-tx / --until-time).
// Only that chain goes into the report, whole: a report that would not fit is a failure, never a
// cut chain.
func inspectMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("agent inspect", flag.ContinueOnError)
	flags.SetOutput(stderr)
	version := flags.String("neo4j-version", "", "Neo4j version (5.x, 2025.x and later)")
	dir := flags.String("dir", "", "backup folder inside the mounted (read-only) backup volume, or a bucket folder (s3://, gs://, azb://)")
	database := flags.String("database", "", "the database whose chain to resolve")
	untilTx := flags.Int64("until-tx", 0, "the chain must reach this transaction")
	untilTime := flags.String("until-time", "", "the chain must reach this RFC 3339 time")
	admin := flags.String("neo4j-admin", "neo4j-admin", "the neo4j-admin command")
	termLog := flags.String("termination-log", "/dev/termination-log", "where the report goes")
	manifest := flags.String("manifest", "", "file@digest: the chain ends at the database's artifact in this backup run's manifest")
	if err := flags.Parse(args); err != nil {
		return ExitInvalid
	}
	rep := result.Restore{Database: *database}
	finish := func(code int, reason, format string, a ...any) int {
		rep.Reason = reason
		if format != "" {
			rep.Error = fmt.Sprintf(format, a...)
		}
		msg := result.EncodeRestore(rep, 1<<20)
		if n := len(rep.Chain); len(msg) > result.MaxMessage && n > 2 {
			// Too long to list: its ends and length, and what restores it resolves it again.
			rep.Chain, rep.ChainLength = []string{rep.Chain[0], rep.Chain[n-1]}, n
			msg = result.EncodeRestore(rep, result.MaxMessage)
		}
		fmt.Fprintf(stdout, "report: %s\n", msg)
		if err := os.WriteFile(*termLog, msg, 0o644); err != nil {
			fmt.Fprintf(stderr, "agent: writing the report to %s: %v\n", *termLog, err)
		}
		return code
	}
	v, err := neo4j.ParseVersion(*version)
	if err != nil {
		return finish(ExitInvalid, "", "%v", err)
	}
	if v.Legacy() || *dir == "" || *database == "" {
		return finish(ExitInvalid, "", "--dir and --database are required, and a 5.x or later version")
	}
	if os.Getenv("HEAP_SIZE") == "" {
		return finish(ExitInvalid, "", "HEAP_SIZE is not set: an unbounded JVM sizes its heap from the host")
	}
	target := chain.Target{UntilTx: *untilTx}
	if *untilTime != "" {
		t, err := time.Parse(time.RFC3339, *untilTime)
		if err != nil {
			return finish(ExitInvalid, "", "--until-time: %v", err)
		}
		target.Until = &t
	}
	// The folder first: a bucket that is not there (or refuses these credentials) must fail as
	// such, never look like a folder without the chain; what neo4j-admin prints for one is not
	// documented.
	store, code, reason, err := openSource(ctx, *dir)
	if err != nil {
		return finish(code, reason, "%v", err)
	}
	defer store.Close()
	if *manifest != "" {
		file, digest, _ := strings.Cut(*manifest, "@")
		m, err := readManifest(ctx, store, file, digest)
		if err != nil {
			return finish(ExitFailed, "RestoreFailed", "%v", err)
		}
		for _, d := range m.Databases {
			if d.Name == *database && d.Artifact != "" {
				target.EndAt = d.Artifact
			}
		}
		if target.EndAt == "" {
			return finish(ExitRefused, "NotCovered", "the backup of manifest %s did not back up database %s", file, *database)
		}
	}
	c, err := resolveStored(ctx, *admin, *dir, *database, target, stdout)
	var bad invalidError
	switch {
	case errors.As(err, &bad):
		return finish(ExitInvalid, "", "%v", err)
	case errors.Is(err, chain.ErrGap), errors.Is(err, chain.ErrNoFull):
		return finish(ExitRefused, "ChainBroken", "%v", err)
	case errors.Is(err, chain.ErrNotCovered), errors.Is(err, chain.ErrNotFound):
		return finish(ExitRefused, "NotCovered", "%v", err)
	case err != nil:
		return finish(ExitFailed, "RestoreFailed", "%v", err)
	}
	rep.Chain, rep.UntilTx, rep.ChainHighTx = c.Files(), c.HighTx, c.HighTx
	switch {
	case target.UntilTx > 0:
		rep.UntilTx = target.UntilTx
	case target.Until != nil:
		rep.UntilTx = 0 // a point in time: which transaction it is, neo4j-admin finds
	}
	return finish(ExitOK, "", "")
}

// resolveStored lists the artifacts in dir with neo4j-admin's --inspect-path and resolves the
// chain of database that target asks for.
func resolveStored(ctx context.Context, admin, dir, database string, target chain.Target, log io.Writer) (chain.Chain, error) {
	out, err := adminOutput(ctx, admin, neo4j.InspectArgs(dir), log)
	if err != nil {
		var bad invalidError
		if errors.As(err, &bad) {
			return chain.Chain{}, err
		}
		return chain.Chain{}, fmt.Errorf("inspecting %s: %w", dir, err)
	}
	listed, err := neo4j.ParseInspect(out)
	if err != nil {
		return chain.Chain{}, fmt.Errorf("inspecting %s: %w", dir, err)
	}
	var arts []chain.Artifact
	for _, a := range listed {
		if a.Database != database {
			continue
		}
		// The TIME column, not the name: the name carries the JVM's local time (see ParseInspect).
		arts = append(arts, chain.Artifact{File: a.File, Time: a.Time, Full: a.Full, LowTx: a.LowestTx, HighTx: a.HighestTx})
	}
	return chain.Resolve(arts, target)
}

// resolveAgain is the chain an inspection reported by its ends and length (too long to list),
// resolved again on the volume: the same chain or an error, never another one.
func resolveAgain(ctx context.Context, admin, dir, database string, ends []string, length int, log io.Writer) ([]string, error) {
	if len(ends) != 2 {
		return nil, invalidError{fmt.Errorf("a chain given by its length takes its two ends, FULL first; got %d artifacts", len(ends))}
	}
	c, err := resolveStored(ctx, admin, dir, database, chain.Target{EndAt: ends[1]}, log)
	switch {
	case err != nil:
		return nil, err
	case len(c.Artifacts) != length || c.Artifacts[0].File != ends[0]:
		return nil, fmt.Errorf("the chain ending at %s now has %d artifacts from %s, not the %d from %s it had when inspected",
			ends[1], len(c.Artifacts), c.Artifacts[0].File, length, ends[0])
	}
	return c.Files(), nil
}

// adminOutput runs neo4j-admin and returns its output; a non-zero exit is an error.
func adminOutput(ctx context.Context, admin string, argv []string, log io.Writer) (string, error) {
	bin, err := exec.LookPath(admin)
	if err != nil {
		return "", invalidError{fmt.Errorf("neo4j-admin not found (%v): is spec.image a Neo4j Enterprise image?", err)}
	}
	code, out, err := (&execRunner{bin: bin, log: log}).Run(ctx, argv)
	switch {
	case err != nil:
		return "", err
	case code == neo4j.ExitUsage:
		// Every retry gets the same answer: the caller fails at once.
		return "", invalidError{fmt.Errorf("neo4j-admin refused the arguments (exit %d, usage error): %s", code, firstLine(out))}
	case code != 0:
		return "", fmt.Errorf("neo4j-admin exit %d: %s", code, lastLine(out))
	}
	return out, nil
}
