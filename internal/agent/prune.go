package agent

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
)

// pruneMain deletes named 5.x backup artifacts from a backup folder: the deletion half of a
// Backup whose storage.deletionPolicy is Delete. It deletes exactly the files it is given, only
// files whose names are artifacts, and never anything outside the folder. Files already gone
// are fine (a retried prune).
func pruneMain(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("agent prune", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "backup folder inside the mounted volume")
	var artifacts listFlag
	flags.Var(&artifacts, "artifact", "an artifact file name to delete; repeat")
	if err := flags.Parse(args); err != nil {
		return ExitInvalid
	}
	if *dir == "" || len(artifacts) == 0 {
		fmt.Fprintln(stderr, "agent prune: --dir and at least one --artifact are required")
		return ExitInvalid
	}
	for _, a := range artifacts {
		if _, ok := neo4j.ArtifactDatabase(a); !ok || strings.ContainsAny(a, `/\`) {
			fmt.Fprintf(stderr, "agent prune: %q is not a backup artifact name; nothing deleted\n", a)
			return ExitInvalid
		}
	}
	failed := false
	for _, a := range artifacts {
		p := filepath.Join(*dir, a)
		info, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stdout, "prune: %s already gone\n", a)
			continue
		case err != nil:
			fmt.Fprintf(stderr, "prune: %s: %v\n", a, err)
			failed = true
			continue
		case !info.Mode().IsRegular():
			fmt.Fprintf(stderr, "prune: %s is not a regular file; left alone\n", a)
			failed = true
			continue
		}
		if err := os.Remove(p); err != nil {
			fmt.Fprintf(stderr, "prune: %s: %v\n", a, err)
			failed = true
			continue
		}
		fmt.Fprintf(stdout, "prune: deleted %s (%d bytes)\n", a, info.Size())
	}
	if failed {
		return ExitFailed
	}
	return ExitOK
}
