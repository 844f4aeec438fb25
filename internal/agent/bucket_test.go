package agent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/test/objectstore"
)

// store is a bucket server of test/objectstore, as the prune test uses it.
type store interface {
	Env() []string
	Put(t testing.TB, bucket, key string, data []byte)
	Keys(t testing.TB, bucket, prefix string) []string
}

// pruneIn runs the agent's prune as a pod would: its own process, with what the pod gives it.
func pruneIn(t *testing.T, st store, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "prune"}, args...)...)
	cmd.Env = append(st.Env(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return 0, string(out)
}

func TestPruneDeletesExactlyTheNamedObjectsOfABucketFolder(t *testing.T) {
	s3 := objectstore.StartS3(t, "backups")
	gcs := objectstore.StartGCS(t, "backups")
	az := objectstore.StartAzure(t, "backups")
	notAKey := filepath.Join(t.TempDir(), "none.json")
	for _, tc := range []struct {
		scheme string
		// root is the URI of the bucket "backups" (for azb: the container of that name).
		root string
		st   store
		// unreachable are environments in which the agent cannot reach the bucket (with an
		// emulator Google's client sends no credentials: none to get wrong).
		unreachable map[string][]string
	}{
		{scheme: "s3", root: "s3://backups", st: s3, unreachable: map[string][]string{
			"no region":      {"AWS_CONFIG_FILE=" + filepath.Join(s3.Home, "none")},
			"no credentials": {"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s3.Home, "none")},
		}},
		{scheme: "gs", root: "gs://backups", st: gcs, unreachable: map[string][]string{
			"an emulator nobody serves": {"STORAGE_EMULATOR_HOST=127.0.0.1:1", "GOOGLE_APPLICATION_CREDENTIALS=" + notAKey},
		}},
		// Not "no credentials": DefaultAzureCredential would then ask the instance metadata
		// service, which is not on loopback.
		{scheme: "azb", root: "azb://" + az.Account + "/backups", st: az, unreachable: map[string][]string{
			"a wrong client secret":      {"AZURE_CLIENT_SECRET=wrong"},
			"a client of another tenant": {"AZURE_TENANT_ID=11111111-2222-3333-4444-555555555555"},
		}},
	} {
		t.Run(tc.scheme, func(t *testing.T) { pruneBucketFolder(t, tc.root, tc.st, tc.unreachable) })
	}
}

func pruneBucketFolder(t *testing.T, root string, b store, unreachable map[string][]string) {
	scheme, account, _ := strings.Cut(root, "://")
	account = strings.TrimSuffix(account, "backups") // for azb: the storage account and a '/'
	nobody := scheme + "://" + account + "nobody"
	listed := result.Backup{V: result.Version, Databases: []result.Database{{Name: "movies", Type: "FULL", Artifact: "movies-2026-11-01T02-00-00.backup"}}}
	manifest, err := json.Marshal(listed)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(manifest)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	for _, k := range []string{"prod/graph/neo4j-2026-11-01T02-00-00.backup", "prod/graph/neo4j-2026-11-02T02-00-00.backup",
		"prod/graph/movies-2026-11-01T02-00-00.backup", "prod/graph/notes.txt",
		// The same name in another folder of the bucket: not this prune's.
		"other/neo4j-2026-11-01T02-00-00.backup"} {
		b.Put(t, "backups", k, []byte("x"))
	}
	b.Put(t, "backups", "prod/graph/"+result.ManifestDir+"/run-1.json", manifest)
	args := []string{"--dir=" + root + "/prod/graph", "--artifact=neo4j-2026-11-01T02-00-00.backup", "--manifest=run-1.json@" + digest}
	all := b.Keys(t, "backups", "")

	// Nothing is deleted when the agent cannot reach the bucket, or the manifest changed.
	refusals := map[string]struct {
		env  []string
		args []string
	}{
		"a changed manifest":   {args: append(args[:2:2], "--manifest=run-1.json@sha256:"+strings.Repeat("0", 64))},
		"a bucket nobody owns": {args: append([]string{"--dir=" + nobody + "/prod/graph"}, args[1:]...)},
	}
	for name, env := range unreachable {
		refusals[name] = struct {
			env  []string
			args []string
		}{env: env, args: args}
	}
	for name, tc := range refusals {
		if code, out := pruneIn(t, b, tc.env, tc.args...); code != 1 {
			t.Errorf("%s: exit %d, want 1: %s", name, code, out)
		}
		if got := b.Keys(t, "backups", ""); strings.Join(got, " ") != strings.Join(all, " ") {
			t.Fatalf("%s: a refused prune deleted objects: %q", name, got)
		}
	}

	if code, out := pruneIn(t, b, nil, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	want := []string{"other/neo4j-2026-11-01T02-00-00.backup", "prod/graph/neo4j-2026-11-02T02-00-00.backup", "prod/graph/notes.txt"}
	if got := b.Keys(t, "backups", ""); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("left %q, want %q", got, want)
	}
	if code, out := pruneIn(t, b, nil, args...); code != 0 {
		t.Fatalf("a retried prune must succeed: exit %d: %s", code, out)
	}
	for _, dir := range []string{"azb://graphbackups", // an Azure folder names a container too
		root + "/prod/../graph", root + "/prod//graph", root + "/./prod/graph", // keys, not paths
		scheme + ":/backups/prod/graph", "prod/graph"} { // not a URI, and no absolute directory
		if code, out := pruneIn(t, b, nil, "--dir="+dir, "--artifact=neo4j-2026-11-02T02-00-00.backup"); code != 2 {
			t.Errorf("--dir=%s: exit %d, want 2: %s", dir, code, out)
		}
	}
	if got := b.Keys(t, "backups", ""); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("a refused prune deleted objects: %q", got)
	}
	if code, out := pruneIn(t, b, nil, "--dir=/nonexistent/prod/graph", "--artifact=neo4j-2026-11-02T02-00-00.backup"); code != 1 {
		t.Errorf("a directory that is not there: exit %d, want 1 (never 'already gone'): %s", code, out)
	}
}
