package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// ChainHandler serves exactly the named files of dir, read-only: GET and HEAD of /<name> for a
// listed name, nothing else (no listing, no other file, no path). The names are backup
// artifacts or a prepared <database>.dump. It is what a SeedFromURI restore points the Neo4j
// servers at.
func ChainHandler(dir string, files []string) (http.Handler, error) {
	allowed := map[string]bool{}
	for _, f := range files {
		_, artifact := neo4j.ArtifactDatabase(f)
		if !(artifact || isDumpName(f)) || strings.ContainsAny(f, `/\`) {
			return nil, fmt.Errorf("%q is not a backup artifact or dump name", f)
		}
		allowed[f] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if !allowed[name] {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		http.ServeContent(w, r, name, info.ModTime(), f)
	}), nil
}

func isDumpName(f string) bool {
	db, ok := strings.CutSuffix(f, ".dump")
	return ok && neo4j.ValidDatabaseName(db)
}

// serveMain runs `agent serve --dir D --file A [--file B ...] [--listen :8080]` until
// terminated. With --prepare it first restores the chain (to --until-tx / --until-time) into
// --data-dir and dumps it into --scratch, then serves only that dump; a failure is reported
// in the termination message and ends the process.
func serveMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("agent serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "backup folder inside the mounted (read-only) backup volume, or a bucket folder (s3://, gs://, azb://)")
	listen := flags.String("listen", ":8080", "address to serve on")
	var files listFlag
	flags.Var(&files, "file", "an artifact to serve, or with --prepare, of the chain, FULL first; repeat")
	prepare := flags.Bool("prepare", false, "restore the chain and serve a dump of it")
	version := flags.String("neo4j-version", "", "with --prepare: the Neo4j version")
	database := flags.String("database", "", "with --prepare: the database of the chain")
	untilTx := flags.Int64("until-tx", 0, "with --prepare: restore up to and including this transaction")
	chainHighTx := flags.Int64("chain-high-tx", 0, "with --prepare and --until-tx: the chain's last transaction")
	untilTime := flags.String("until-time", "", "with --prepare: restore up to this RFC 3339 time")
	dataDir := flags.String("data-dir", "/data", "with --prepare: a scratch data directory")
	scratch := flags.String("scratch", "/scratch", "with --prepare: where the dump is written")
	tempDir := flags.String("temp-dir", "", "with --prepare: scratch space for neo4j-admin 5.24+")
	admin := flags.String("neo4j-admin", "neo4j-admin", "the neo4j-admin command")
	termLog := flags.String("termination-log", "/dev/termination-log", "where a failure's report goes")
	chainLength := flags.Int("chain-length", 0, "with --prepare: the chain's length, when --file gives only its two ends (too long to list)")
	if err := flags.Parse(args); err != nil {
		return ExitInvalid
	}
	report := func(code int, reason, format string, a ...any) int {
		rep := result.Restore{Database: *database, Chain: files, Reason: reason, Error: fmt.Sprintf(format, a...)}
		fmt.Fprintf(stderr, "agent serve: %s\n", rep.Error)
		if err := os.WriteFile(*termLog, result.EncodeRestore(rep, result.MaxMessage), 0o644); err != nil {
			fmt.Fprintf(stderr, "agent: writing the report to %s: %v\n", *termLog, err)
		}
		return code
	}
	if *dir == "" || len(files) == 0 {
		return report(ExitInvalid, "", "--dir and --file are required")
	}
	serveDir, serveFiles := *dir, []string(files)
	if *prepare {
		v, err := neo4j.ParseVersion(*version)
		if err != nil || *database == "" {
			return report(ExitInvalid, "", "--prepare needs --neo4j-version and --database (%v)", err)
		}
		if os.Getenv("HEAP_SIZE") == "" {
			return report(ExitInvalid, "", "HEAP_SIZE is not set: an unbounded JVM sizes its heap from the host")
		}
		req := neo4j.RestoreRequest{Version: v, Database: *database, UntilTx: *untilTx, ChainHighTx: *chainHighTx, TempPath: *tempDir}
		if *tempDir != "" {
			// "a temporary empty directory" (5.x restore-backup.adoc:144), made afresh.
			if err := freshDir(*tempDir); err != nil {
				return report(ExitFailed, "RestoreFailed", "preparing the seed: %v", err)
			}
			defer os.RemoveAll(*tempDir)
		}
		if *untilTime != "" {
			t, err := time.Parse(time.RFC3339, *untilTime)
			if err != nil {
				return report(ExitInvalid, "", "--until-time: %v", err)
			}
			req.UntilTime = &t
		}
		chain := []string(files)
		if store, err := openFolder(ctx, *dir); err != nil {
			// A bucket that is not there fails as such (see inspectMain).
			var bad invalidError
			if errors.As(err, &bad) {
				return report(ExitInvalid, "", "preparing the seed: %v", err)
			}
			return report(ExitFailed, "RestoreFailed", "preparing the seed: backup folder: %v", err)
		} else {
			store.Close()
		}
		if *chainLength > len(files) {
			if chain, err = resolveAgain(ctx, *admin, *dir, *database, files, *chainLength, stdout); err != nil {
				var bad invalidError
				if errors.As(err, &bad) {
					return report(ExitInvalid, "", "preparing the seed: %v", err)
				}
				return report(ExitFailed, "InvalidChain", "preparing the seed: %v", err)
			}
		}
		for _, f := range chain {
			req.Artifacts = append(req.Artifacts, inFolder(*dir, f))
		}
		fmt.Fprintf(stdout, "preparing the seed: restoring %d artifact(s) of %s, then dumping it\n", len(chain), *database)
		// Before 5.24 the chain is copied into the scratch space first (see runRestore).
		if err := runRestore(ctx, req, *scratch, *admin, stdout); err != nil {
			var bad invalidError
			if errors.As(err, &bad) {
				return report(ExitInvalid, "", "preparing the seed: %v", err)
			}
			return report(ExitFailed, "RestoreFailed", "preparing the seed: %v", err)
		}
		dumpArgs, err := neo4j.DumpArgs(v, *database, *scratch)
		if err != nil {
			return report(ExitInvalid, "", "%v", err)
		}
		if err := runAdmin(ctx, *admin, dumpArgs, stdout); err != nil {
			return report(ExitFailed, "RestoreFailed", "preparing the seed: %v", err)
		}
		// The restored store is not needed any more: only the dump is served.
		_ = os.RemoveAll(filepath.Join(*dataDir, "databases", *database))
		_ = os.RemoveAll(filepath.Join(*dataDir, "transactions", *database))
		serveDir, serveFiles = *scratch, []string{*database + ".dump"}
	} else if isBucket(*dir) {
		// A bucket's objects are not files to serve ranges of: the FULL is fetched into the
		// scratch space first, and served from there.
		if err := fetchAll(ctx, *dir, files, *scratch, stdout); err != nil {
			var bad invalidError
			if errors.As(err, &bad) {
				return report(ExitInvalid, "", "fetching the seed: %v", err)
			}
			return report(ExitFailed, "RestoreFailed", "fetching the seed: %v", err)
		}
		serveDir = *scratch
	}
	h, err := ChainHandler(serveDir, serveFiles)
	if err != nil {
		return report(ExitInvalid, "", "%v", err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return report(ExitFailed, "RestoreFailed", "listening on %s: %v", *listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(stdout, "serving %s from %s on %s\n", strings.Join(serveFiles, ", "), serveDir, l.Addr())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return report(ExitFailed, "RestoreFailed", "serving: %v", err)
	}
	// Only ever stopped from outside (the operator deletes it, or the pod is evicted): not a
	// success, so that a Job whose pod was drained replaces it instead of counting it complete.
	return ExitTerminated
}

// fetchAll copies files from the bucket folder dir into the local folder into, each synced and
// renamed into place whole.
func fetchAll(ctx context.Context, dir string, files []string, into string, log io.Writer) error {
	store, err := openFolder(ctx, dir)
	if err != nil {
		return err
	}
	defer store.Close()
	for _, f := range files {
		if strings.ContainsAny(f, `/\`) || f == "." || f == ".." {
			return invalidError{fmt.Errorf("%q is not a file of the folder", f)}
		}
		if err := fetch(ctx, store, f, filepath.Join(into, f)); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintf(log, "agent: fetched %s from %s\n", f, dir)
	}
	return nil
}

func fetch(ctx context.Context, store folder, name, dst string) error {
	in, err := store.open(ctx, name)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".part"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // gone after the rename; left only when something failed
	if err := syncedCopy(out, in); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// ExitTerminated is the seed server's exit code when it was stopped by a signal (128+SIGTERM).
const ExitTerminated = 143
