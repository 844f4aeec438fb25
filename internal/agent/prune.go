package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// pruneMain deletes named 5.x backup artifacts from a backup folder (a directory of the mounted
// volume, or a bucket folder), and those that manifests list: the deletion half of a Backup
// whose storage.deletionPolicy is Delete, or that a retention rule expired. It deletes exactly
// the files it is given, only files whose names are artifacts, and never anything outside the
// folder. Files already gone are fine (a retried prune).
func pruneMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("agent prune", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "backup folder: inside the mounted volume, or a bucket folder (s3://, gs://, azb://)")
	var artifacts, manifests listFlag
	flags.Var(&artifacts, "artifact", "an artifact file name to delete; repeat")
	flags.Var(&manifests, "manifest", "file@digest: a backup run's manifest; every artifact it lists is deleted, then it; repeat")
	if err := flags.Parse(args); err != nil {
		return ExitInvalid
	}
	if *dir == "" || len(artifacts)+len(manifests) == 0 {
		fmt.Fprintln(stderr, "agent prune: --dir and at least one --artifact or --manifest are required")
		return ExitInvalid
	}
	// A server that accepts and never answers must not hold the prune until the Job's deadline.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	store, err := openFolder(ctx, *dir)
	var bad invalidError
	switch {
	case errors.As(err, &bad):
		fmt.Fprintf(stderr, "agent prune: %v\n", err)
		return ExitInvalid
	case err != nil:
		fmt.Fprintf(stderr, "agent prune: %v; nothing deleted\n", err)
		return ExitFailed
	}
	defer store.Close()
	// Every manifest is read and checked before anything is deleted: one that cannot be
	// trusted fails the prune with every file in place.
	var read []string
	for _, m := range manifests {
		file, digest, _ := strings.Cut(m, "@")
		rep, err := readManifest(ctx, store, file, digest)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// A retried prune deleted it last, after what it lists.
			fmt.Fprintf(stdout, "prune: manifest %s already gone\n", file)
			continue
		case err != nil:
			fmt.Fprintf(stderr, "agent prune: %v; nothing deleted\n", err)
			return ExitFailed
		}
		for _, d := range rep.Databases {
			if d.Artifact != "" {
				artifacts = append(artifacts, d.Artifact)
			}
		}
		read = append(read, file)
	}
	for _, a := range artifacts {
		if _, ok := neo4j.ArtifactDatabase(a); !ok || strings.ContainsAny(a, `/\`) {
			fmt.Fprintf(stderr, "agent prune: %q is not a backup artifact name; nothing deleted\n", a)
			return ExitInvalid
		}
	}
	failed := false
	for _, a := range artifacts {
		size, regular, err := store.stat(ctx, a)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stdout, "prune: %s already gone\n", a)
			continue
		case err != nil:
			fmt.Fprintf(stderr, "prune: %s: %v\n", a, err)
			failed = true
			continue
		case !regular:
			fmt.Fprintf(stderr, "prune: %s is not a regular file; left alone\n", a)
			failed = true
			continue
		}
		if err := store.remove(ctx, a); err != nil {
			fmt.Fprintf(stderr, "prune: %s: %v\n", a, err)
			failed = true
			continue
		}
		fmt.Fprintf(stdout, "prune: deleted %s (%d bytes)\n", a, size)
	}
	if failed {
		return ExitFailed // the manifests stay: a retry deletes what they list
	}
	for _, file := range read {
		if err := store.remove(ctx, result.ManifestDir+"/"+file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "prune: manifest %s: %v\n", file, err)
			return ExitFailed
		}
		fmt.Fprintf(stdout, "prune: deleted manifest %s\n", file)
	}
	return ExitOK
}
