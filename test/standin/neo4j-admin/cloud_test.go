package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/graphkeeper/neo4j-backup-operator/test/objectstore"
)

// The stand-in's bucket paths against a real S3 server on loopback (test/objectstore).
type bucketBed struct {
	t *testing.T
	*objectstore.S3
}

func newBucketBed(t *testing.T) *bucketBed {
	return &bucketBed{t: t, S3: objectstore.StartS3(t, "backups")}
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// standin builds this stand-in once: it runs as a process of its own, as in a pod, so the AWS
// SDK reads its home and environment at start as it would there.
func standin(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "standin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "neo4j-admin")
		if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// run runs the stand-in with what a pod gives neo4j-admin: its home (the SDK's ~/.aws), the
// endpoint override, never the instance metadata service (it is not on loopback), and env.
func (b *bucketBed) run(version string, env map[string]string, args ...string) int {
	b.t.Helper()
	return runStandin(b.t, b.Env(), version, env, args...)
}

// runStandin runs the stand-in with a pod's store environment, the version it plays and env.
func runStandin(t *testing.T, store []string, version string, env map[string]string, args ...string) int {
	t.Helper()
	cmd := exec.Command(standin(t), args...)
	cmd.Env = append(store, "STANDIN_NEO4J_VERSION="+version, "HEAP_SIZE=16m", "STANDIN_DATABASES=neo4j", "STANDIN_LOG="+filepath.Join(t.TempDir(), "standin.log"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if wd := env["PWD"]; wd != "" {
		cmd.Dir = wd
	}
	out, err := cmd.CombinedOutput()
	t.Logf("neo4j-admin %s: %s", strings.Join(args, " "), out)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return 0
}

func (b *bucketBed) keys(prefix string) []string { return b.Keys(b.t, "backups", prefix) }

func TestBackupRestoreAndCheckThroughAnS3Bucket(t *testing.T) {
	b := newBucketBed(t)
	stage := t.TempDir()
	backup := func(typ string) int {
		return b.run("5.26", nil, "database", "backup", "--from=graph-1:6362", "--to-path=s3://backups/prod/graph", "--pagecache=8m",
			"--temp-path="+stage, "--type="+typ, "neo4j")
	}
	if code := backup("FULL"); code != 0 {
		t.Fatalf("FULL to s3: exit %d", code)
	}
	full := b.keys("prod/graph/")
	if len(full) != 1 || !strings.HasSuffix(full[0], ".backup") {
		t.Fatalf("objects after the FULL: %q", full)
	}
	if code := b.run("5.26", nil, "database", "check", "--from-path=s3://backups/prod/graph/", "--temp-path="+stage, "--max-off-heap-memory=8m", "neo4j"); code != 0 {
		t.Fatalf("check of the bucket folder: exit %d", code)
	}
	// A DIFF needs its chain: the stand-in finds the FULL only if it fetched the folder.
	if code := backup("DIFF"); code != 0 {
		t.Fatalf("DIFF to s3: exit %d", code)
	}
	chain := b.keys("prod/graph/")
	if len(chain) != 2 {
		t.Fatalf("objects after the DIFF: %q", chain)
	}
	if entries, _ := os.ReadDir(stage); len(entries) != 0 {
		t.Errorf("the staging folder kept %d entries", len(entries))
	}

	data := t.TempDir()
	if code := b.run("5.26", map[string]string{"STANDIN_DATA_DIR": data}, "database", "restore", "--from-path=s3://backups/"+chain[1], "--temp-path="+stage, "neo4j"); code != 0 {
		t.Fatalf("restore of the DIFF's chain from s3: exit %d", code)
	}
	restored, err := os.ReadFile(filepath.Join(data, "databases", "neo4j", "restored-from"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range chain {
		if !strings.Contains(string(restored), filepath.Base(k)) {
			t.Errorf("restored from %q, which lacks %s", restored, k)
		}
	}
}

func TestBucketPathsFailAsTheRealToolWould(t *testing.T) {
	b := newBucketBed(t)
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	for _, tc := range []struct {
		name    string
		version string
		to      string
		env     map[string]string
		setup   func()
		code    int
	}{
		// 5.18 and 5.20 have no --temp-path either: the stand-in stages in the working directory.
		{name: "s3 before 5.19", version: "5.18", to: "s3://backups/x", code: exitUsage},
		{name: "4.4 has no database backup", version: "4.4", to: "s3://backups/x", code: exitUsage},
		{name: "gs before 5.21", version: "5.20", to: "gs://backups/x", code: exitUsage},
		{name: "no credentials", version: "5.26", to: "s3://backups/x", code: 1, setup: func() {
			os.Remove(filepath.Join(b.Home, ".aws", "credentials"))
		}},
		{name: "no region", version: "5.26", to: "s3://backups/x", code: 1, setup: func() {
			b.WriteAWS(t, "[default]\n", "[default]\naws_access_key_id=k\naws_secret_access_key=s\n")
		}},
		{name: "an endpoint nobody serves", version: "5.26", to: "s3://backups/x", code: 1, env: map[string]string{"AWS_ENDPOINT_URL_S3": closed}},
		{name: "a bucket that does not exist", version: "5.26", to: "s3://nobody/x", code: 1},
		{name: "a folder with a '..'", version: "5.26", to: "s3://backups/x/../y", code: 1},
		{name: "a folder with an empty segment", version: "5.26", to: "s3://backups/x//y", code: 1},
		{name: "all in order (the cases above are each one thing off)", version: "5.26", to: "s3://backups/x", code: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.WriteAWS(t, "[default]\nregion=us-east-1\n", "[default]\naws_access_key_id=k\naws_secret_access_key=s\n")
			if tc.setup != nil {
				tc.setup()
			}
			env := map[string]string{"PWD": t.TempDir()}
			for k, v := range tc.env {
				env[k] = v
			}
			args := []string{"database", "backup", "--from=graph-1:6362", "--to-path=" + tc.to, "--pagecache=8m", "neo4j"}
			if code := b.run(tc.version, env, args...); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
		})
	}
	t.Run("the staging folder is the working directory without --temp-path, and must be writable", func(t *testing.T) {
		wd := t.TempDir()
		if code := b.run("5.26", map[string]string{"PWD": wd, "STANDIN_READONLY": wd}, "database", "backup", "--from=graph-1:6362", "--to-path=s3://backups/ro", "--pagecache=8m", "neo4j"); code != 1 {
			t.Errorf("exit %d with a read-only working directory, want 1", code)
		}
	})
	t.Run("4.4 backs up into no bucket", func(t *testing.T) {
		if code := b.run("4.4", nil, "backup", "--from=graph-1:6362", "--backup-dir=s3://backups/x", "--database=neo4j", "--pagecache=8m"); code != exitUsage {
			t.Errorf("exit %d, want %d", code, exitUsage)
		}
	})
	t.Run("--inspect-path of a bucket is not documented: refused", func(t *testing.T) {
		if code := b.run("5.26", nil, "database", "backup", "--inspect-path=s3://backups/prod/graph"); code != exitUsage {
			t.Errorf("exit %d, want %d", code, exitUsage)
		}
	})
}

func TestBackupRestoreAndCheckThroughAGCSBucket(t *testing.T) {
	g := objectstore.StartGCS(t, "backups")
	stage := t.TempDir()
	run := func(version string, env map[string]string, args ...string) int {
		return runStandin(t, g.Env(), version, env, args...)
	}
	roundTrip(t, "gs://backups/", func(p string) []string { return g.Keys(t, "backups", p) }, g.Env(), g.Env())

	notAKey := filepath.Join(t.TempDir(), "user.json")
	if err := os.WriteFile(notAKey, []byte(`{"type": "authorized_user"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		version string
		env     map[string]string
		to      string
		code    int
	}{
		"gs before 5.21":                   {version: "5.20", to: "gs://backups/x", code: exitUsage},
		"no GOOGLE_CLOUD_PROJECT":          {version: "5.26", to: "gs://backups/x", env: map[string]string{"GOOGLE_CLOUD_PROJECT": ""}, code: 1},
		"a key file of no service account": {version: "5.26", to: "gs://backups/x", env: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": notAKey}, code: 1},
		"a bucket that does not exist":     {version: "5.26", to: "gs://nobody/x", code: 1},
		"all in order":                     {version: "5.26", to: "gs://backups/x", code: 0},
	} {
		if code := run(tc.version, tc.env, "database", "backup", "--from=graph-1:6362", "--to-path="+tc.to, "--pagecache=8m", "--temp-path="+stage, "neo4j"); code != tc.code {
			t.Errorf("%s: exit %d, want %d", name, code, tc.code)
		}
	}
}

// Azure through Azurite, a token endpoint and the public cloud's names (test/objectstore): the
// stand-in authenticates as the service principal in the environment, or as a workload identity.
func TestBackupRestoreAndCheckThroughAnAzureContainer(t *testing.T) {
	a := objectstore.StartAzure(t, "backups")
	stage := t.TempDir()
	run := func(version string, env map[string]string, args ...string) int {
		return runStandin(t, a.Env(), version, env, args...)
	}
	root := "azb://" + a.Account + "/backups/"
	// Restored as a workload identity: the federated token instead of the client secret.
	roundTrip(t, root, func(p string) []string { return a.Keys(t, "backups", p) }, a.Env(), a.WorkloadIdentityEnv())

	for name, tc := range map[string]struct {
		version string
		env     map[string]string
		to      string
		code    int
	}{
		"azb before 5.24":             {version: "5.23", to: root + "x", code: exitUsage},
		"a wrong client secret":       {version: "5.26", to: root + "x", env: map[string]string{"AZURE_CLIENT_SECRET": "wrong"}, code: 1},
		"a client of another tenant":  {version: "5.26", to: root + "x", env: map[string]string{"AZURE_TENANT_ID": "11111111-2222-3333-4444-555555555555"}, code: 1},
		"no credential in the chain":  {version: "5.26", to: root + "x", env: map[string]string{"AZURE_CLIENT_SECRET": "", "AZURE_CLIENT_ID": "", "AZURE_TENANT_ID": ""}, code: 1},
		"a container nobody made":     {version: "5.26", to: "azb://" + a.Account + "/nobody/x", code: 1},
		"an account this is not":      {version: "5.26", to: "azb://otheraccount/backups/x", code: 1},
		"an account and no container": {version: "5.26", to: "azb://" + a.Account, code: 1},
		"all in order":                {version: "5.26", to: root + "x", code: 0},
	} {
		args := []string{"database", "backup", "--from=graph-1:6362", "--to-path=" + tc.to, "--pagecache=8m", "--temp-path=" + stage, "neo4j"}
		env := tc.env
		if tc.version == "5.23" {
			// No --temp-path before 5.24 either: staged in the working directory.
			args, env = slices.Delete(args, 5, 6), map[string]string{"PWD": t.TempDir()}
		}
		if code := run(tc.version, env, args...); code != tc.code {
			t.Errorf("%s: exit %d, want %d", name, code, tc.code)
		}
	}
}

// roundTrip backs up a FULL and a DIFF into root+"prod/graph" (a bucket folder's URI), checks the
// folder, and restores the DIFF's chain from it, with a pod's store environment for each side;
// keys lists the objects under a prefix of the bucket.
func roundTrip(t *testing.T, root string, keys func(prefix string) []string, backupEnv, restoreEnv []string) {
	t.Helper()
	stage := t.TempDir()
	run := func(version string, env map[string]string, args ...string) int {
		return runStandin(t, backupEnv, version, env, args...)
	}
	backup := func(typ string) int {
		return run("5.26", nil, "database", "backup", "--from=graph-1:6362", "--to-path="+root+"prod/graph", "--pagecache=8m",
			"--temp-path="+stage, "--type="+typ, "neo4j")
	}
	if code := backup("FULL"); code != 0 {
		t.Fatalf("FULL to %s: exit %d", root, code)
	}
	if code := run("5.26", nil, "database", "check", "--from-path="+root+"prod/graph/", "--temp-path="+stage, "--max-off-heap-memory=8m", "neo4j"); code != 0 {
		t.Fatalf("check of the bucket folder: exit %d", code)
	}
	if code := backup("DIFF"); code != 0 {
		t.Fatalf("DIFF to %s (its chain read from the bucket): exit %d", root, code)
	}
	chain := keys("prod/graph/")
	if len(chain) != 2 {
		t.Fatalf("objects: %q", chain)
	}
	data := t.TempDir()
	if code := runStandin(t, restoreEnv, "5.26", map[string]string{"STANDIN_DATA_DIR": data}, "database", "restore", "--from-path="+root+chain[1], "--temp-path="+stage, "neo4j"); code != 0 {
		t.Fatalf("restore from %s: exit %d", root, code)
	}
	restored, err := os.ReadFile(filepath.Join(data, "databases", "neo4j", "restored-from"))
	if err != nil || !strings.Contains(string(restored), filepath.Base(chain[0])) || !strings.Contains(string(restored), filepath.Base(chain[1])) {
		t.Fatalf("restored from %q (%v), want the chain %q", restored, err, chain)
	}
}

// outputOf runs the stand-in as runStandin does and returns its exit code and output.
func outputOf(t *testing.T, store []string, version string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(standin(t), args...)
	cmd.Env = append(store, "STANDIN_NEO4J_VERSION="+version, "HEAP_SIZE=16m", "STANDIN_LOG="+filepath.Join(t.TempDir(), "standin.log"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	case err != nil:
		t.Fatal(err)
	}
	return 0, string(out)
}

// backup inspect as the manual has it: new in 5.25, the metadata only with --show-metadata before
// 2025.07, empty backups only with --empty, and bucket folders read as folders are.
func TestBackupInspect(t *testing.T) {
	b := newBucketBed(t)
	dir := t.TempDir()
	for name, h := range map[string]string{
		"neo4j-2026-12-01T02-00-00.backup": `{"database":"neo4j","full":true,"lowTx":1,"highTx":10,"time":"2026-12-01T02:00:00","recovered":true}`,
		"neo4j-2026-12-02T02-00-00.backup": `{"database":"neo4j","full":false,"lowTx":0,"highTx":0,"time":"2026-12-02T02:00:00"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(h+"\npayload"), 0o644); err != nil {
			t.Fatal(err)
		}
		b.Put(t, "backups", "prod/graph/"+name, []byte(h+"\npayload"))
	}
	rows := func(out string) (n int) {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, ".backup |") {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		version string
		args    []string
		code    int
		rows    int
		has     string
	}{
		{"5.24", []string{"--show-metadata", "--empty", dir}, 64, 0, "no backup inspect"},
		{"5.25", []string{"--show-metadata", dir}, 0, 1, "TIME (UTC)"},
		{"5.26", []string{"--show-metadata", "--empty", dir}, 0, 2, "LOWEST TX"},
		{"5.26", []string{"--empty", dir}, 0, 2, "| FILE |"}, // no metadata without --show-metadata
		{"2025.07", []string{"--empty", dir}, 0, 2, "LOWEST TX"},
		{"2025.10", []string{"--show-metadata", "--empty", dir}, 0, 2, "RECOVERED"},
		{"5.26", []string{"--show-metadata", "--empty", "s3://backups/prod/graph"}, 0, 2, "| s3://backups/prod/graph/neo4j-2026-12-01T02-00-00.backup | neo4j |"},
		{"5.26", []string{"--show-metadata", "--latest-chain", dir}, 1, 0, "does not play"},
		{"5.26", []string{"--inspect-path=" + dir}, 64, 0, "unknown option"},
	} {
		code, out := outputOf(t, b.Env(), tc.version, append([]string{"backup", "inspect"}, tc.args...)...)
		if code != tc.code || rows(out) != tc.rows || !strings.Contains(out, tc.has) {
			t.Errorf("%s backup inspect %q: exit %d with %d rows, want %d with %d and %q:\n%s", tc.version, tc.args, code, rows(out), tc.code, tc.rows, tc.has, out)
		}
	}
}
