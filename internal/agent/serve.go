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
)

// ChainHandler serves exactly the named artifact files of dir, read-only: GET and HEAD of
// /<name> for a listed name, nothing else (no listing, no other file, no path). It is what a
// SeedFromURI restore points the Neo4j servers at.
func ChainHandler(dir string, files []string) (http.Handler, error) {
	allowed := map[string]bool{}
	for _, f := range files {
		if _, ok := neo4j.ArtifactDatabase(f); !ok || strings.ContainsAny(f, `/\`) {
			return nil, fmt.Errorf("%q is not a backup artifact name", f)
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

// serveMain runs `agent serve --dir D --file A --file B [--listen :8080]` until terminated.
func serveMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("agent serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "backup folder inside the mounted (read-only) backup volume")
	listen := flags.String("listen", ":8080", "address to serve on")
	var files listFlag
	flags.Var(&files, "file", "an artifact to serve; repeat")
	if err := flags.Parse(args); err != nil {
		return ExitInvalid
	}
	h, err := ChainHandler(*dir, files)
	if err != nil || *dir == "" || len(files) == 0 {
		fmt.Fprintf(stderr, "agent serve: --dir and valid --file names are required (%v)\n", err)
		return ExitInvalid
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "agent serve: %v\n", err)
		return ExitFailed
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(stdout, "serving %d artifact(s) of %s on %s\n", len(files), *dir, l.Addr())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "agent serve: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}
