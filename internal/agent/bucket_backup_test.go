package agent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/test/objectstore"
)

// bucket is a test bed server as the backup tests use it.
type bucket interface {
	store
	Get(t testing.TB, bucket, key string) []byte
}

// withEnv is r with a store's environment (KEY=VALUE) added, as the pod would have it.
func withEnv(r run, env []string) run {
	if r.env == nil {
		r.env = map[string]string{}
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		r.env[k] = v
	}
	return r
}

// TestBackupIntoABucket runs the agent as the Backup Job does for storage.objectStore: --dir is
// the bucket folder, scratch is the staging volume. neo4j-admin (the stand-in) writes, lists and
// checks through the cloud SDK, and the agent reads the bucket with the same chain.
func TestBackupIntoABucket(t *testing.T) {
	s3 := objectstore.StartS3(t, "backups")
	gcs := objectstore.StartGCS(t, "backups")
	az := objectstore.StartAzure(t, "backups")
	for _, tc := range []struct {
		// root is the URI of the bucket "backups" (for azb: the container of that name).
		root, version string
		st            bucket
	}{
		{"s3://backups", "5.26", s3},
		{"gs://backups", "5.26", gcs},
		{"azb://" + az.Account + "/backups", "5.26", az},
		{"s3://backups", "2025.10", s3}, // a RECOVERED column, and --show-metadata deprecated and ignored
	} {
		scheme, _, _ := strings.Cut(tc.root, "://")
		t.Run(scheme+"-"+tc.version, func(t *testing.T) {
			backupIntoBucket(t, tc.root, tc.version, tc.st)
		})
	}
}

func backupIntoBucket(t *testing.T, root, version string, st bucket) {
	scheme, _, _ := strings.Cut(root, "://")
	folder := "prod/" + strings.ReplaceAll(version, ".", "-")
	dir := root + "/" + folder
	r := func(r run) run { r.version = version; return withEnv(r, st.Env()) }

	full := agent(t, dir, r(run{check: true}))
	d := db(t, full, "neo4j")
	if full.code != 0 || d.Type != "FULL" || d.HighTx == 0 || d.Size == 0 || d.Check != result.CheckPassed || d.Consistent == nil || !*d.Consistent {
		t.Fatalf("FULL into %s (exit %d): %+v\n%s", dir, full.code, d, full.stdout)
	}
	if keys := st.Keys(t, "backups", folder+"/"); strings.Join(keys, " ") != folder+"/"+d.Artifact {
		t.Fatalf("the bucket holds %q, want the artifact alone (no scratch, no report of a clean check)", keys)
	}
	// The chain is read from the bucket by backup inspect (5.25 and later), never by
	// --inspect-path, which the manual documents for folders and files.
	if !strings.Contains(full.log, "backup inspect --show-metadata --empty "+dir) || strings.Contains(full.log, "--inspect-path="+scheme) {
		t.Fatalf("inspection:\n%s", full.log)
	}
	if full.report.Space != nil {
		t.Errorf("a bucket has no capacity, yet the report gives %+v", full.report.Space)
	}

	diff := agent(t, dir, r(run{check: true}))
	dd := db(t, diff, "neo4j")
	if diff.code != 0 || dd.Type != "DIFF" || dd.LowTx != d.HighTx+1 || dd.Check != result.CheckNotSupported {
		t.Fatalf("DIFF (exit %d): %+v, after the FULL %+v\n%s", diff.code, dd, d, diff.log)
	}

	// The chain is restored from the bucket, from its last artifact, and an inspection of the
	// bucket folder resolves the same chain.
	data := t.TempDir()
	code, rep, calls := restoreEnv(t, version, dir, data, st.Env(), "--database=neo4j", "--artifact="+d.Artifact, "--artifact="+dd.Artifact,
		"--temp-dir="+filepath.Join(data, ".neo4j-restore-tmp"), "--stage-dir="+data)
	if code != 0 || strings.Join(rep.Chain, ",") != d.Artifact+","+dd.Artifact || !strings.Contains(calls, "--from-path="+dir+"/"+dd.Artifact+" ") {
		t.Fatalf("restore from %s: exit %d, %+v\n%s", dir, code, rep, calls)
	}
	if marker, _ := os.ReadFile(filepath.Join(data, "databases", "neo4j", "restored-from")); !strings.Contains(string(marker), d.Artifact+","+dd.Artifact) {
		t.Fatalf("restored: %q", marker)
	}
	if code, rep, _ := restoreEnv(t, version, dir, t.TempDir(), st.Env(), "--database=neo4j", "--artifact=neo4j-2020-01-01T00-00-00.backup", "--temp-dir="+t.TempDir()); code != 1 || rep.Reason != "InvalidChain" {
		t.Fatalf("an artifact the bucket lacks: exit %d, %+v", code, rep)
	}
	if version == "5.26" {
		if code, rep := inspectEnv(t, st.Env(), dir, "--database=neo4j"); code != 0 || strings.Join(rep.Chain, ",") != d.Artifact+","+dd.Artifact {
			t.Fatalf("inspection of %s: exit %d, %+v", dir, code, rep)
		}
	}

	// Inconsistencies: the report is kept in the bucket, beside the artifacts, where status says;
	// one an earlier Backup of the name left there is not this check's and goes.
	st.Put(t, "backups", folder+"/.consistency/nightly-1/neo4j/inconsistencies-2020-01-01.report", []byte("stale"))
	bad := agent(t, dir, r(run{check: true, typ: "FULL", env: map[string]string{"STANDIN_INCONSISTENT": "neo4j"}}))
	bd := db(t, bad, "neo4j")
	if bd.Check != result.CheckFailed || bd.Report != ".consistency/nightly-1/neo4j" || strings.Contains(bd.Error, "staging only") {
		t.Fatalf("inconsistent: %+v", bd)
	}
	if reports := st.Keys(t, "backups", folder+"/.consistency/nightly-1/neo4j/inconsistencies-"); len(reports) != 1 || strings.Contains(reports[0], "2020-01-01") {
		t.Fatalf("report objects %q", reports)
	}

	// A report too large for the termination message leaves its manifest in the bucket.
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("tenant-database-%03d", i))
	}
	many := agent(t, dir, r(run{dbs: []string{"tenant-*"}, env: map[string]string{"STANDIN_DATABASES": strings.Join(names, ","), "STANDIN_SIZE": "16"}}))
	m := many.report.Manifest
	if many.code != 0 || m == nil || m.Databases != 40 {
		t.Fatalf("40 databases (exit %d): manifest %+v, %d bytes", many.code, m, len(many.raw))
	}
	kept := st.Get(t, "backups", folder+"/"+result.ManifestDir+"/"+m.File)
	var whole result.Backup
	if sum := sha256.Sum256(kept); m.Digest != "sha256:"+hex.EncodeToString(sum[:]) || json.Unmarshal(kept, &whole) != nil || len(whole.Databases) != 40 {
		t.Fatalf("manifest %s in the bucket: %d bytes, digest %s, %d databases", m.File, len(kept), m.Digest, len(whole.Databases))
	}
}

func TestBackupIntoABucketThatIsNot(t *testing.T) {
	s3 := objectstore.StartS3(t, "backups")
	for name, tc := range map[string]struct {
		dir, version string
		env          map[string]string
		code         int
	}{
		// Found before anything is staged: a backup streamed to a bucket that is not there would
		// fail only after copying the whole store.
		"a bucket nobody made": {dir: "s3://nobody/prod/graph", version: "5.26", code: 1},
		"no credentials":       {dir: "s3://backups/prod/graph", version: "5.26", code: 1, env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}},
		// What admission refuses, the agent refuses too: 5.24 has no backup inspect to read the
		// chain with, and 4.4 no buckets at all.
		"5.24":              {dir: "s3://backups/prod/graph", version: "5.24", code: 2},
		"4.4":               {dir: "s3://backups/prod/graph", version: "4.4", code: 2},
		"a '..' in the key": {dir: "s3://backups/prod/../graph", version: "5.26", code: 2},
	} {
		t.Run(name, func(t *testing.T) {
			o := agent(t, tc.dir, withEnv(run{version: tc.version, env: tc.env}, s3.Env()))
			if o.code != tc.code || !strings.Contains(o.report.Error, "backup folder") || strings.Contains(o.log, "database backup") {
				t.Fatalf("exit %d, want %d; %q\n%s", o.code, tc.code, o.report.Error, o.log)
			}
		})
	}
}

// A SeedFromURI restore of a Backup in a bucket: the seed server (the agent, with the bucket's
// environment) fetches a FULL into its scratch space and serves it, or restores the chain from
// the bucket and serves a dump of it; the servers fetch over HTTP and need no bucket credentials.
func TestSeedServedFromABucket(t *testing.T) {
	s3 := objectstore.StartS3(t, "backups")
	dir := "s3://backups/prod/graph"
	in := func(r run) run { r.version = "5.26"; return withEnv(r, s3.Env()) }
	full := db(t, agent(t, dir, in(run{})), "neo4j")
	diff := db(t, agent(t, dir, in(run{})), "neo4j")

	url := serveEnv(t, "5.26", dir, s3.Env(), "--file="+full.Artifact)
	code, rep, calls := seed(t, seedRun{version: "5.26", state: t.TempDir(),
		args: []string{"--database=neo4j-restored", "--seed-uri=" + url + "/" + full.Artifact, "--chain=" + full.Artifact}})
	if code != 0 || !strings.Contains(calls, "SEED "+url+"/"+full.Artifact+": fetched") {
		t.Fatalf("a FULL served from the bucket: exit %d, %+v\n%s", code, rep, calls)
	}

	url = serveEnv(t, "5.26", dir, s3.Env(), "--file="+full.Artifact, "--file="+diff.Artifact, "--prepare", "--neo4j-version=5.26",
		"--database=neo4j", "--temp-dir="+filepath.Join(t.TempDir(), "restore-tmp"))
	code, rep, calls = seed(t, seedRun{version: "5.26", state: t.TempDir(),
		args: []string{"--database=neo4j-restored", "--seed-uri=" + url + "/neo4j.dump"}})
	if code != 0 || !strings.Contains(calls, ": fetched") {
		t.Fatalf("a chain prepared from the bucket: exit %d, %+v\n%s", code, rep, calls)
	}
}

// A bucket nobody made is that, for a restore and an inspection too: never "no chain there".
func TestRestoreFromABucketThatIsNot(t *testing.T) {
	s3 := objectstore.StartS3(t, "backups")
	if code, rep := inspectEnv(t, s3.Env(), "s3://nobody/prod/graph", "--database=neo4j"); code != 1 || rep.Reason != "RestoreFailed" || !strings.Contains(rep.Error, "backup folder") {
		t.Errorf("inspection: exit %d, %+v", code, rep)
	}
	if code, rep, calls := restoreEnv(t, "5.26", "s3://nobody/prod/graph", t.TempDir(), s3.Env(), "--database=neo4j",
		"--artifact=neo4j-2026-12-01T02-00-00.backup", "--temp-dir="+t.TempDir()); code != 1 || rep.Reason != "RestoreFailed" || strings.Contains(calls, "database restore") {
		t.Errorf("restore: exit %d, %+v\n%s", code, rep, calls)
	}
}

// A SeedFromURI restore seeded straight from the bucket: the seed Job (the agent, with no access
// to the bucket) sends the chain's last artifact's URI, and the servers (the stand-in
// cypher-shell, with their own credentials, STANDIN_SERVER_ENV) fetch the chain themselves
// through CloudSeedProvider.
func TestSeedStraightFromABucket(t *testing.T) {
	s3 := objectstore.StartS3(t, "backups")
	az := objectstore.StartAzure(t, "backups")
	servers := func(env []string) string { return "STANDIN_SERVER_ENV=" + strings.Join(env, "\n") }
	for _, tc := range []struct {
		root, version string
		st            bucket
		env           []string // the servers'
	}{
		{"s3://backups", "2025.10", s3, s3.Env()},
		{"azb://" + az.Account + "/backups", "2025.01", az, az.WorkloadIdentityEnv()},
	} {
		scheme, _, _ := strings.Cut(tc.root, "://")
		t.Run(scheme, func(t *testing.T) {
			dir := tc.root + "/prod/seed-" + strings.ReplaceAll(tc.version, ".", "-")
			in := func(r run) run { r.version = tc.version; return withEnv(r, tc.st.Env()) }
			full := db(t, agent(t, dir, in(run{})), "neo4j")
			diff := db(t, agent(t, dir, in(run{})), "neo4j")
			uri := dir + "/" + diff.Artifact
			args := []string{"--database=neo4j-restored", "--seed-uri=" + uri, "--chain=" + full.Artifact, "--chain=" + diff.Artifact}

			code, rep, calls := seed(t, seedRun{version: tc.version, state: t.TempDir(), env: []string{servers(tc.env)}, args: args})
			if code != 0 || !strings.Contains(calls, "SEED "+uri+": fetched chain "+full.Artifact+","+diff.Artifact) || strings.Contains(calls, "seedRestoreUntil") {
				t.Fatalf("the chain from the bucket: exit %d, %+v\n%s", code, rep, calls)
			}
			// Up to the FULL's last transaction: seedRestoreUntil is exclusive, so the one after.
			code, rep, calls = seed(t, seedRun{version: tc.version, state: t.TempDir(), env: []string{servers(tc.env)},
				args: append(args, fmt.Sprintf("--until-tx=%d", full.HighTx), fmt.Sprintf("--chain-high-tx=%d", diff.HighTx))})
			if want := fmt.Sprintf("seedRestoreUntil: %d}", full.HighTx+1); code != 0 || !strings.Contains(calls, want) || !strings.Contains(calls, fmt.Sprintf("until %d", full.HighTx+1)) {
				t.Fatalf("until transaction %d: exit %d, %+v, want %q\n%s", full.HighTx, code, rep, want, calls)
			}
		})
	}

	// The servers fail to start the seed, and the report says what a seed from a bucket needs.
	dir := "s3://backups/prod/seed-2025-10"
	full := db(t, agent(t, dir, withEnv(run{version: "2025.10"}, s3.Env())), "neo4j")
	args := []string{"--database=neo4j-restored", "--seed-uri=" + dir + "/" + full.Artifact, "--chain=" + full.Artifact}
	for name, tc := range map[string]struct {
		version string
		env     []string
		code    int
	}{
		"servers without credentials":                            {version: "2025.10", env: []string{servers([]string{"HOME=" + t.TempDir(), "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_S3=" + s3.Endpoint})}, code: 1},
		"5.26's default providers pick S3SeedProvider for s3://": {version: "5.26", env: []string{servers(s3.Env())}, code: 1},
		"5.26 with CloudSeedProvider listed first":               {version: "5.26", env: []string{servers(s3.Env()), "STANDIN_SEED_PROVIDERS=CloudSeedProvider,URLConnectionSeedProvider"}},
		"no seed provider for buckets":                           {version: "2025.10", env: []string{servers(s3.Env()), "STANDIN_SEED_PROVIDERS=URLConnectionSeedProvider"}, code: 1},
	} {
		t.Run(name, func(t *testing.T) {
			code, rep, calls := seed(t, seedRun{version: tc.version, state: t.TempDir(), env: tc.env, args: args})
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %+v\n%s", code, tc.code, rep, calls)
			}
			if code != 0 && (rep.Reason != v1.ReasonSeedFromBucketFailed || !strings.Contains(rep.Error, "read access to the bucket") || !strings.Contains(rep.Error, "seedFrom: SeedServer")) {
				t.Errorf("report %+v", rep)
			}
		})
	}
}
