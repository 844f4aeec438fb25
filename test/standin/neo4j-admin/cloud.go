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
// before being streamed to the cloud destination" (online-backup.adoc:447-448); "If
// --temp-path is unspecified, Neo4j creates the temporary directory in its current working
// directory" (:203); a restore from a bucket likewise makes "a temporary folder ... inside
// the current working directory" (restore-backup.adoc:164). The stand-in does the same: it
// copies the bucket folder into a staging folder there, runs the local command on it, and
// uploads what a backup wrote. It reaches the bucket through the AWS SDK for Go v2 and its
// default configuration chain, the chain Neo4j's AWS SDK v2 reads (partials/aws-s3-overrides.adoc:
// "Neo4j uses the AWS SDK v2"): credentials from the environment or ~/.aws/credentials, the
// region from ~/.aws/config or AWS_REGION (partials/aws-s3-credentials.adoc), an endpoint from
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (aws-s3-overrides.adoc). So a missing credential, a
// missing region or a wrong endpoint fails here as it would there. Not documented: how buckets
// are addressed under an endpoint override; the stand-in uses path-style addresses, which is
// what an S3-compatible server on an IP address needs. Only s3:// is played so far.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	since := map[string][2]int{"s3": {5, 19}, "gs": {5, 21}, "azb": {5, 24}}[c.scheme]
	switch {
	case v.legacy():
		return c, true, violation("4.4 %s takes no %s:// path: cloud storage came with 5.19", cmd, c.scheme)
	case cmd == "database check" && c.scheme == "azb":
		return c, true, violation("database check takes s3:// and gs:// paths, not azb:// (consistency-checker.adoc:127)")
	case !v.atLeast(since[0], since[1]):
		return c, true, violation("%s takes %s:// paths from %d.%d, not on %d.%d", cmd, c.scheme, since[0], since[1], v.major, v.minor)
	case c.scheme != "s3":
		return c, true, failed("the stand-in plays only s3:// buckets so far, not %s", p)
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
	if err := writable(stage); err != nil {
		return failed("Failed to create a temporary directory: %v", err)
	}
	local, err := os.MkdirTemp(stage, "neo4j-cloud-")
	if err != nil {
		return failed("Failed to create a temporary directory: %v", err)
	}
	defer os.RemoveAll(local)
	client, err := s3Client(ctx)
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

func s3Client(ctx context.Context) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no AWS credentials: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set it in ~/.aws/config or AWS_REGION")
	}
	override := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = override }), nil
}

// download copies the objects directly in c's folder into local, and returns their sizes.
func download(ctx context.Context, client *s3.Client, c cloudPath, local string) (map[string]int64, error) {
	prefix := ""
	if c.folder != "" {
		prefix = c.folder + "/"
	}
	got := map[string]int64{}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if name == "" {
				continue // the folder's own marker object
			}
			obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: o.Key})
			if err != nil {
				return nil, err
			}
			data, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(local, name), data, 0o644); err != nil {
				return nil, err
			}
			got[name] = int64(len(data))
		}
	}
	return got, nil
}

// uploadChanged puts the files of local that are new or of another size than before.
func uploadChanged(ctx context.Context, client *s3.Client, c cloudPath, local string, before map[string]int64) error {
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
		key := path.Join(c.folder, e.Name())
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
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
