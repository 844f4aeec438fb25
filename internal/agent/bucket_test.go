package agent_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// s3Bed is an S3-compatible server on loopback (gofakes3, in process) and the home a pod gives
// the agent: ~/.aws with a region and a key, as the Neo4j manual shows them
// (partials/aws-s3-credentials.adoc). gofakes3 checks no signatures; a missing key is caught by
// the SDK before any request.
type s3Bed struct {
	endpoint, home string
	client         *s3.Client
}

func newS3Bed(t *testing.T) *s3Bed {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"config":      "[default]\nregion=us-east-1\n",
		"credentials": "[default]\naws_access_key_id=key\naws_secret_access_key=secret\n",
	} {
		if err := os.WriteFile(filepath.Join(home, ".aws", name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Credentials: aws.AnonymousCredentials{}})
	return &s3Bed{endpoint: srv.URL, home: home, client: client}
}

func (b *s3Bed) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := b.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}

func (b *s3Bed) keys(t *testing.T) []string {
	t.Helper()
	out, err := b.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("backups")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	return keys
}

// prune runs the agent's prune as a pod would: its own process, its home, the endpoint override,
// and never the instance metadata service.
func (b *s3Bed) prune(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "prune"}, args...)...)
	cmd.Env = append([]string{"HOME=" + b.home, "AWS_ENDPOINT_URL_S3=" + b.endpoint, "AWS_EC2_METADATA_DISABLED=true"}, env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return 0, string(out)
}

func TestPruneDeletesExactlyTheNamedObjectsOfABucketFolder(t *testing.T) {
	b := newS3Bed(t)
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
		b.put(t, k, []byte("x"))
	}
	b.put(t, "prod/graph/"+result.ManifestDir+"/run-1.json", manifest)
	args := []string{"--dir=s3://backups/prod/graph", "--artifact=neo4j-2026-11-01T02-00-00.backup", "--manifest=run-1.json@" + digest}
	all := b.keys(t)

	// Nothing is deleted when the agent cannot reach the bucket, or the manifest changed.
	for name, tc := range map[string]struct {
		env  []string
		args []string
	}{
		"no region":            {env: []string{"AWS_CONFIG_FILE=" + filepath.Join(b.home, "none")}, args: args},
		"no credentials":       {env: []string{"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(b.home, "none")}, args: args},
		"a changed manifest":   {args: append(args[:2:2], "--manifest=run-1.json@sha256:"+strings.Repeat("0", 64))},
		"a bucket nobody owns": {args: append([]string{"--dir=s3://nobody/prod/graph"}, args[1:]...)},
	} {
		if code, out := b.prune(t, tc.env, tc.args...); code != 1 {
			t.Errorf("%s: exit %d, want 1: %s", name, code, out)
		}
		if got := b.keys(t); strings.Join(got, " ") != strings.Join(all, " ") {
			t.Fatalf("%s: a refused prune deleted objects: %q", name, got)
		}
	}

	if code, out := b.prune(t, nil, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	want := []string{"other/neo4j-2026-11-01T02-00-00.backup", "prod/graph/neo4j-2026-11-02T02-00-00.backup", "prod/graph/notes.txt"}
	if got := b.keys(t); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("left %q, want %q", got, want)
	}
	if code, out := b.prune(t, nil, args...); code != 0 {
		t.Fatalf("a retried prune must succeed: exit %d: %s", code, out)
	}
	if code, _ := b.prune(t, nil, "--dir=gs://backups/prod/graph", "--artifact=neo4j-2026-11-02T02-00-00.backup"); code != 2 {
		t.Errorf("a bucket the agent cannot reach yet: exit %d, want 2", code)
	}
	if _, err := os.Stat(filepath.Join(b.home, "prod")); err == nil {
		t.Error("a bucket path was taken for a directory")
	}
}
