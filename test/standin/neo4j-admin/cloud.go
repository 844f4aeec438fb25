package main

// Cloud storage paths: neo4j-admin's --to-path (backup) and --from-path (restore, check) take a
// bucket URI as well as a folder. "The --to-path=<path> option can also back up databases into
// AWS S3 buckets (from Neo4j 5.19), Google Cloud storage buckets (from Neo4j 5.21), and Azure
// buckets (from 5.24)" (5.x backup-restore/online-backup.adoc:194); restore "from AWS S3
// buckets, Google Cloud storage buckets, and Azure buckets" (5.x restore-backup.adoc:108, labels
// new-5.19, new-5.21, new-5.24 at :271, :295, :317); check "artifacts in AWS S3 buckets (from
// Neo4j 5.19) and Google Cloud storage buckets (from Neo4j 5.21)" (5.x
// tools/neo4j-admin/consistency-checker.adoc:127): no Azure there.
//
// The real tool stages locally and streams to or from the bucket: "The store files and
// transaction logs are copied to a local temporary directory (configured with --temp-path)
// before being streamed to the cloud destination" (5.x online-backup.adoc:447-448); "If
// --temp-path is unspecified, Neo4j creates the temporary directory in its current working
// directory" (:203); a restore from a bucket likewise makes "a temporary folder ... inside
// the current working directory" (5.x restore-backup.adoc:164). Not documented: where a check
// of a bucket stages without --temp-path (its default is "<from-path>", 5.x
// consistency-checker.adoc:120-122, which a bucket cannot be); the stand-in takes the working
// directory, as backup and restore do. The stand-in copies the bucket folder into a staging
// folder there, runs the local command on it, and uploads what a backup wrote, also when one
// database failed (not documented; the side that leaves the others' artifacts in the bucket,
// as a local backup leaves them in its folder).
//
// It reaches the bucket as Neo4j does, through each cloud's SDK and its default credential
// chain: package test/standin/cloud, which the stand-in cypher-shell's servers use too.
//
// Check: the page's note names only S3 and GCS (5.x consistency-checker.adoc:127), while the same
// page's worked example checks azb://myStorageAccount/myContainer/myDirectory/ (5.24.1
// tools/neo4j-admin/consistency-checker.adoc:246-257, and in every later tag): the manual
// disagrees with itself, and the stand-in follows the example, the more specific of the two.

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	buckets "github.com/graphkeeper/neo4j-backup-operator/test/standin/cloud"
)

// cloudRE is a bucket URI: scheme, bucket (for azb: the account) and the folder in it.
var cloudRE = regexp.MustCompile(`^(s3|gs|azb)://([^/]+)(/.*)?$`)

type cloudPath struct {
	scheme, bucket, folder string
}

func (c cloudPath) String() string { return c.scheme + "://" + path.Join(c.bucket, c.folder) }

// cloud tells whether p is a bucket URI, and refuses one that cmd does not take on v.
func cloud(v version, cmd, p string) (c cloudPath, ok bool, code int) {
	m := cloudRE.FindStringSubmatch(p)
	if m == nil {
		return c, false, 0
	}
	c = cloudPath{scheme: m[1], bucket: m[2], folder: strings.Trim(m[3], "/")}
	for _, seg := range strings.Split(c.folder, "/") {
		if c.folder != "" && (seg == "" || seg == "." || seg == "..") {
			// What the real tool makes of such keys is not documented: refused.
			return c, true, failed("%s: a bucket folder of plain names, without empty, '.' or '..' segments", p)
		}
	}
	since := map[string][2]int{"s3": {5, 19}, "gs": {5, 21}, "azb": {5, 24}}[c.scheme]
	switch {
	case v.legacy():
		return c, true, violation("4.4 %s takes no %s:// path: cloud storage came with 5.19", cmd, c.scheme)
	case !v.atLeast(since[0], since[1]):
		return c, true, violation("%s takes %s:// paths from %d.%d, not on %d.%d", cmd, c.scheme, since[0], since[1], v.major, v.minor)
	case c.scheme == "azb" && c.folder == "":
		return c, true, failed("%s: an Azure path names the storage account and a container: azb://<account>/<container>[/<folder>]", p)
	}
	return c, true, 0
}

// staging is where a command stages a bucket's files: --temp-path when given, else the working
// directory.
func staging(opts map[string]string) string {
	if t := opts["temp-path"]; t != "" {
		return t
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}

// inBucket runs run on a local copy of c's folder, staged under stage, and with upload puts
// back what it wrote or changed (whatever its exit code: a backup that failed one database
// still wrote the others).
func inBucket(c cloudPath, stage string, upload bool, run func(local string) int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if cloudRE.MatchString(stage) {
		return failed("Failed to create a temporary directory: %s is not a local folder", stage)
	}
	if err := writable(stage); err != nil {
		return failed("Failed to create a temporary directory: %v", err)
	}
	local, err := os.MkdirTemp(stage, "neo4j-cloud-")
	if err != nil {
		return failed("Failed to create a temporary directory: %v", err)
	}
	defer os.RemoveAll(local)
	client, err := buckets.Open(ctx, c.scheme, c.bucket)
	if err != nil {
		return failed("%s: %v", c, err)
	}
	before, err := download(ctx, client, c, local)
	if err != nil {
		return failed("%s: %v", c, err)
	}
	code := run(local)
	if !upload {
		return code
	}
	if err := uploadChanged(ctx, client, c, local, before); err != nil {
		return failed("%s: %v", c, err)
	}
	return code
}

// download copies the objects directly in c's folder into local, and returns their sizes.
func download(ctx context.Context, b buckets.Bucket, c cloudPath, local string) (map[string]int64, error) {
	names, err := b.List(ctx, c.folder)
	if err != nil {
		return nil, err
	}
	got := map[string]int64{}
	for _, name := range names {
		if name == "" {
			continue // the folder's own marker object
		}
		data, err := b.Get(ctx, buckets.PrefixOf(c.folder)+name)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(local, name), data, 0o644); err != nil {
			return nil, err
		}
		got[name] = int64(len(data))
	}
	return got, nil
}

// uploadChanged puts the files of local that are new or of another size than before.
func uploadChanged(ctx context.Context, b buckets.Bucket, c cloudPath, local string, before map[string]int64) error {
	entries, err := os.ReadDir(local)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if size, ok := before[e.Name()]; ok && size == info.Size() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(local, e.Name()))
		if err != nil {
			return err
		}
		if err := b.Put(ctx, buckets.PrefixOf(c.folder)+e.Name(), data); err != nil {
			return err
		}
	}
	return nil
}

// cloudFolder splits a bucket URI of an artifact into its folder and the artifact's name.
func cloudFolder(c cloudPath) (cloudPath, string) {
	dir, name := path.Split(c.folder)
	c.folder = strings.Trim(dir, "/")
	return c, name
}

// withOption is args with --name's value replaced.
func withOption(args []string, name, value string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if strings.HasPrefix(a, "--"+name+"=") {
			a = "--" + name + "=" + value
		}
		out = append(out, a)
	}
	return out
}
