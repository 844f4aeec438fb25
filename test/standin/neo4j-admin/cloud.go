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
// It reaches the bucket through the AWS SDK for Go v2 and its default configuration chain,
// the chain Neo4j's SDK reads: "Neo4j uses the AWS SDK v2 to call the APIs on AWS" (5.x
// partials/aws-s3-overrides.adoc:3), endpoints from "the environments variables
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL" (:4); the manual's pod has the region in
// ~/.aws/config ("region=us-east-1", 5.x partials/aws-s3-credentials.adoc:12-23) and the key in
// ~/.aws/credentials (:25-39). The SDK's chain also reads the environment (AWS_REGION,
// AWS_ACCESS_KEY_ID), which the manual does not mention. So a missing credential, a missing
// region or a wrong endpoint fails here as it would there. Not documented: how buckets are
// addressed under an endpoint override; the stand-in uses path-style addresses, which is what
// an S3-compatible server on an IP address needs.
//
// Google Cloud Storage: ".. Download the JSON key file for the service account. .. Set the
// GOOGLE_APPLICATION_CREDENTIALS and GOOGLE_CLOUD_PROJECT environment variables to the path of
// the JSON key file and the project ID" (5.x partials/gcs-credentials.adoc:4-5); the stand-in
// requires both, and a key file of a service account, before any call, and reaches the bucket
// through Google's Go client, which honours STORAGE_EMULATOR_HOST (the tests' emulator; there
// it sends no credentials).
//
// Azure: "Authenticate the neo4j or neo4j-admin process against Azure using the default Azure
// credentials" (5.26.2 partials/azb-credentials.adoc:7, linking the Java SDK's
// DefaultAzureCredential), and azb://myStorageAccount/myContainer/myDirectory/ names the storage
// account, the container and the folder (5.26.2 online-backup.adoc:459). The account's blob
// endpoint is https://<account>.blob.core.windows.net: "blob.core.windows.net" is the default of
// dbms.integrations.cloud_storage.azb.blob_endpoint_suffix (dev configuration-settings.adoc:
// 207-219, new in 2025.03; before that the public cloud's is the only one). The stand-in plays
// the first two members of that chain, through the Go SDK's azidentity: EnvironmentCredential
// (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) and WorkloadIdentityCredential
// (AZURE_FEDERATED_TOKEN_FILE, as Azure Workload Identity's webhook injects it). Not played, so
// refused: the chain's later members (managed identity through the instance metadata service,
// which is not on loopback, and developer logins such as az login), and the endpoint suffix.
// Check: the page's note names only S3 and GCS (5.x consistency-checker.adoc:127), while the same
// page's worked example checks azb://myStorageAccount/myContainer/myDirectory/ (5.24.1
// tools/neo4j-admin/consistency-checker.adoc:246-257, and in every later tag): the manual
// disagrees with itself, and the stand-in follows the example, the more specific of the two.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azcontainer "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/api/iterator"
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
	client, err := openBucket(ctx, c)
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

// bucketAPI is what the stand-in does with a bucket: list a folder, read and write objects.
type bucketAPI interface {
	// list names the objects directly in folder ("" is the bucket's top).
	list(ctx context.Context, folder string) ([]string, error)
	get(ctx context.Context, key string) ([]byte, error)
	put(ctx context.Context, key string, data []byte) error
}

func openBucket(ctx context.Context, c cloudPath) (bucketAPI, error) {
	switch c.scheme {
	case "gs":
		return gcsBucket(ctx, c.bucket)
	case "azb":
		return azureAccount(c.bucket)
	}
	client, err := s3Client(ctx)
	if err != nil {
		return nil, err
	}
	return s3Bucket{client, c.bucket}, nil
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

type s3Bucket struct {
	client *s3.Client
	bucket string
}

func (b s3Bucket) list(ctx context.Context, folder string) ([]string, error) {
	var names []string
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(prefixOf(folder)), Delimiter: aws.String("/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			names = append(names, strings.TrimPrefix(aws.ToString(o.Key), prefixOf(folder)))
		}
	}
	return names, nil
}

func (b s3Bucket) get(ctx context.Context, key string) ([]byte, error) {
	obj, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer obj.Body.Close()
	return io.ReadAll(obj.Body)
}

func (b s3Bucket) put(ctx context.Context, key string, data []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	return err
}

// gcsBucket checks what the manual has the pod hold, then opens the bucket.
func gcsBucket(ctx context.Context, bucket string) (bucketAPI, error) {
	keyFile := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	if keyFile == "" || os.Getenv("GOOGLE_CLOUD_PROJECT") == "" {
		return nil, errors.New("GOOGLE_APPLICATION_CREDENTIALS and GOOGLE_CLOUD_PROJECT must be set")
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("GOOGLE_APPLICATION_CREDENTIALS: %w", err)
	}
	var key struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &key); err != nil || key.Type != "service_account" {
		return nil, fmt.Errorf("GOOGLE_APPLICATION_CREDENTIALS=%s is not the JSON key file of a service account", keyFile)
	}
	// Reads through the JSON API, as writes and lists go: the emulator serves it on its address.
	client, err := storage.NewClient(ctx, storage.WithJSONReads())
	if err != nil {
		return nil, err
	}
	// Bounded, so that a test pointing at no server fails rather than hangs.
	client.SetRetry(storage.WithMaxAttempts(3))
	return gcsAPI{client.Bucket(bucket)}, nil
}

type gcsAPI struct{ b *storage.BucketHandle }

func (g gcsAPI) list(ctx context.Context, folder string) ([]string, error) {
	var names []string
	it := g.b.Objects(ctx, &storage.Query{Prefix: prefixOf(folder), Delimiter: "/"})
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if o.Name != "" { // a Prefix entry is a subfolder
			names = append(names, strings.TrimPrefix(o.Name, prefixOf(folder)))
		}
	}
}

func (g gcsAPI) get(ctx context.Context, key string) ([]byte, error) {
	r, err := g.b.Object(key).NewReader(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (g gcsAPI) put(ctx context.Context, key string, data []byte) error {
	w := g.b.Object(key).NewWriter(ctx)
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// azureAccount is a storage account's blob service, reached with the credentials of the chain's
// members the stand-in plays. Its keys are <container>/<blob>: the container is the first
// segment of an azb:// path's folder.
func azureAccount(account string) (bucketAPI, error) {
	var creds []azcore.TokenCredential
	var why []string
	if c, err := azidentity.NewEnvironmentCredential(nil); err == nil {
		creds = append(creds, c)
	} else {
		why = append(why, "EnvironmentCredential: "+err.Error())
	}
	if c, err := azidentity.NewWorkloadIdentityCredential(nil); err == nil {
		creds = append(creds, c)
	} else {
		why = append(why, "WorkloadIdentityCredential: "+err.Error())
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("DefaultAzureCredential found no credential (the stand-in plays the environment and workload identity): %s", strings.Join(why, "; "))
	}
	chain, err := azidentity.NewChainedTokenCredential(creds, nil)
	if err != nil {
		return nil, err
	}
	client, err := azblob.NewClient("https://"+account+".blob.core.windows.net/", chain,
		&azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: 2}}})
	if err != nil {
		return nil, err
	}
	return azureAPI{client}, nil
}

type azureAPI struct{ c *azblob.Client }

func (a azureAPI) list(ctx context.Context, folder string) ([]string, error) {
	container, prefix, _ := strings.Cut(folder, "/")
	var names []string
	pages := a.c.ServiceClient().NewContainerClient(container).NewListBlobsHierarchyPager("/", &azcontainer.ListBlobsHierarchyOptions{Prefix: to.Ptr(prefixOf(prefix))})
	for pages.More() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, strings.TrimPrefix(*b.Name, prefixOf(prefix)))
		}
	}
	return names, nil
}

func (a azureAPI) get(ctx context.Context, key string) ([]byte, error) {
	container, name, _ := strings.Cut(key, "/")
	r, err := a.c.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

func (a azureAPI) put(ctx context.Context, key string, data []byte) error {
	container, name, _ := strings.Cut(key, "/")
	_, err := a.c.UploadBuffer(ctx, container, name, data, nil)
	return err
}

func prefixOf(folder string) string {
	if folder == "" {
		return ""
	}
	return folder + "/"
}

// download copies the objects directly in c's folder into local, and returns their sizes.
func download(ctx context.Context, b bucketAPI, c cloudPath, local string) (map[string]int64, error) {
	names, err := b.list(ctx, c.folder)
	if err != nil {
		return nil, err
	}
	got := map[string]int64{}
	for _, name := range names {
		if name == "" {
			continue // the folder's own marker object
		}
		data, err := b.get(ctx, prefixOf(c.folder)+name)
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
func uploadChanged(ctx context.Context, b bucketAPI, c cloudPath, local string, before map[string]int64) error {
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
		if err := b.put(ctx, prefixOf(c.folder)+e.Name(), data); err != nil {
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
