package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	azcontainer "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/googleapis/gax-go/v2"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
)

// folder is a backup folder the agent reads and deletes in: a directory of the mounted backup
// volume, or a folder of a bucket (s3://bucket/prefix, gs://bucket/prefix,
// azb://account/container/prefix). A bucket is reached through gocloud.dev's blob drivers with
// the cloud SDK's own default chain, the one neo4j-admin reads in the same pod (for S3: the
// environment, ~/.aws, AWS_ENDPOINT_URL_S3; for Azure: DefaultAzureCredential): what lets
// neo4j-admin write there lets the agent delete there, and nothing else is configured.
type folder interface {
	// stat is name's size; fs.ErrNotExist when it is not there. regular is false for what is
	// not a plain file (a link, a directory), which the agent never deletes.
	stat(ctx context.Context, name string) (size int64, regular bool, err error)
	remove(ctx context.Context, name string) error
	open(ctx context.Context, name string) (io.ReadCloser, error)
	// list names what is directly in the folder; dir marks a subfolder (a bucket's common
	// prefix).
	list(ctx context.Context) ([]listed, error)
	// put writes data to name (a path of '/'-separated segments below the folder) whole or not at
	// all: a reader never sees half of it.
	put(ctx context.Context, name string, data []byte) error
	Close() error
}

// listed is one entry of a folder.
type listed struct {
	name string
	dir  bool
}

// isBucket tells whether dir is a bucket folder's URI rather than a directory.
func isBucket(dir string) bool { return neo4j.CloudPath(dir) }

// inFolder is the path (or URI) of name in the folder dir, as neo4j-admin is given it.
func inFolder(dir, name string) string {
	if isBucket(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + name // path.Join would make s3:// s3:/
	}
	return filepath.Join(dir, filepath.FromSlash(name))
}

// bucketRE is a bucket folder the agent can reach: scheme, bucket (for azb: the storage account)
// and the rest (for azb: the container, then the prefix).
var bucketRE = regexp.MustCompile(`^(s3|gs|azb)://([^/]+)(/.*)?$`)

// openFolder opens dir: a bucket URI, or a directory that exists. A folder that is not there
// must not look like one whose files are already gone.
func openFolder(ctx context.Context, dir string) (folder, error) {
	m := bucketRE.FindStringSubmatch(dir)
	if m == nil {
		if strings.Contains(dir, ":/") || !filepath.IsAbs(dir) {
			return nil, invalidError{fmt.Errorf("%s: the agent reaches s3://, gs:// and azb:// bucket folders and absolute directories", dir)}
		}
		if info, err := os.Stat(dir); err != nil {
			return nil, err
		} else if !info.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		return localFolder(dir), nil
	}
	scheme, name, prefix := m[1], m[2], strings.Trim(m[3], "/")
	if scheme == "azb" {
		// azb://<account>/<container>/<prefix>: the container is the Azure "bucket".
		var container string
		container, prefix, _ = strings.Cut(prefix, "/")
		if container == "" {
			return nil, invalidError{fmt.Errorf("%s: an Azure folder names the storage account and a container: azb://<account>/<container>[/<prefix>]", dir)}
		}
		name += "/" + container
	}
	for _, seg := range strings.Split(prefix, "/") {
		if prefix != "" && (seg == "" || seg == "." || seg == "..") {
			// Objects are keys, not paths: the store would not read it the way neo4j-admin wrote.
			return nil, invalidError{fmt.Errorf("%s: a bucket folder of plain names, without empty, '.' or '..' segments", dir)}
		}
	}
	b, closeClient, err := openBucket(ctx, scheme, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	f := bucketFolder{b: b, scheme: scheme, closeClient: closeClient}
	// Every object of a bucket that is not there is "not found": without this, a wrong bucket
	// name would look like a folder whose files are already gone. Checked inside the folder,
	// where neo4j-admin lists too (a policy may allow listing only there).
	if ok, err := b.IsAccessible(ctx); !ok {
		f.Close()
		if err == nil {
			err = errors.New("no such bucket, or not accessible with these credentials")
		}
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return f, nil
}

// openBucket opens a bucket (for azb: <account>/<container>) with the cloud SDK's default chain;
// closeClient closes a client the bucket does not own.
func openBucket(ctx context.Context, scheme, name string) (b *blob.Bucket, closeClient func() error, err error) {
	if scheme == "azb" {
		// DefaultAzureCredential, the chain the manual has neo4j-admin authenticate with
		// (partials/azb-credentials.adoc:7): the environment (a service principal, from the
		// credentials Secret), workload identity (the webhook's token file), managed identity.
		// The account's endpoint is the public cloud's, as Neo4j's default
		// dbms.integrations.cloud_storage.azb.blob_endpoint_suffix has it.
		account, container, _ := strings.Cut(name, "/")
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, nil, err
		}
		client, err := azcontainer.NewClient("https://"+account+".blob.core.windows.net/"+container, cred,
			&azcontainer.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: 3}}})
		if err != nil {
			return nil, nil, err
		}
		b, err := azureblob.OpenBucket(ctx, client, nil)
		return b, func() error { return nil }, err
	}
	if scheme == "gs" {
		// Application default credentials: GOOGLE_APPLICATION_CREDENTIALS, as the manual has
		// neo4j-admin's pod set it (partials/gcs-credentials.adoc); reads through the JSON API,
		// which an emulator (STORAGE_EMULATOR_HOST) serves too.
		client, err := storage.NewClient(ctx, storage.WithJSONReads())
		if err != nil {
			return nil, nil, err
		}
		// The client retries a refused connection for ever by default; the pod's retry (the
		// Job's backoffLimit) is the long one, so a call gives up after a few seconds.
		client.SetRetry(storage.WithMaxAttempts(4), storage.WithBackoff(gax.Backoff{Initial: 500 * time.Millisecond, Max: 5 * time.Second}))
		b, err := gcsblob.OpenBucket(ctx, nil, name, &gcsblob.Options{Client: client})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		return b, client.Close, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	// An S3-compatible server at an address (an endpoint override) is addressed by path, as the
	// stand-in neo4j-admin does (test/standin/neo4j-admin/cloud.go).
	override := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	b, err = s3blob.OpenBucket(ctx, s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = override }), name, nil)
	return b, func() error { return nil }, err
}

type localFolder string

func (l localFolder) path(name string) string {
	return filepath.Join(string(l), filepath.FromSlash(name))
}

func (l localFolder) stat(_ context.Context, name string) (int64, bool, error) {
	info, err := os.Lstat(l.path(name))
	if err != nil {
		return 0, false, err
	}
	return info.Size(), info.Mode().IsRegular(), nil
}

func (l localFolder) remove(_ context.Context, name string) error { return os.Remove(l.path(name)) }

func (l localFolder) open(_ context.Context, name string) (io.ReadCloser, error) {
	return os.Open(l.path(name))
}

func (l localFolder) list(context.Context) ([]listed, error) {
	entries, err := os.ReadDir(string(l))
	if err != nil {
		return nil, err
	}
	out := make([]listed, 0, len(entries))
	for _, e := range entries {
		out = append(out, listed{name: e.Name(), dir: e.IsDir()})
	}
	return out, nil
}

func (l localFolder) put(_ context.Context, name string, data []byte) error {
	p := l.path(name)
	return writeSynced(filepath.Dir(p), filepath.Base(p), data)
}

func (localFolder) Close() error { return nil }

type bucketFolder struct {
	b           *blob.Bucket
	scheme      string
	closeClient func() error
}

// notExist makes a driver's "no such object" the fs.ErrNotExist the agent's callers test for,
// and only that: gcsblob reports a refused read (403) as NotFound too, which must stay a
// failure, never "already gone".
func (f bucketFolder) notExist(err error) error {
	switch {
	case err == nil:
		return nil
	case f.scheme == "gs" && !errors.Is(err, storage.ErrObjectNotExist):
		return err
	case gcerrors.Code(err) == gcerrors.NotFound:
		return fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	return err
}

func (f bucketFolder) stat(ctx context.Context, name string) (int64, bool, error) {
	a, err := f.b.Attributes(ctx, path.Clean(name))
	if err != nil {
		return 0, false, f.notExist(err)
	}
	return a.Size, true, nil
}

func (f bucketFolder) remove(ctx context.Context, name string) error {
	return f.notExist(f.b.Delete(ctx, path.Clean(name)))
}

func (f bucketFolder) open(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := f.b.NewReader(ctx, path.Clean(name), nil)
	if err != nil {
		return nil, f.notExist(err)
	}
	return r, nil
}

func (f bucketFolder) list(ctx context.Context) ([]listed, error) {
	var out []listed
	it := f.b.List(&blob.ListOptions{Delimiter: "/"})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if name := strings.TrimSuffix(o.Key, "/"); name != "" { // "" is the folder's own marker
			out = append(out, listed{name: name, dir: o.IsDir})
		}
	}
}

// put is one upload: the store makes the object visible whole when the write closes, or not at
// all.
func (f bucketFolder) put(ctx context.Context, name string, data []byte) error {
	return f.b.WriteAll(ctx, path.Clean(name), data, nil)
}

func (f bucketFolder) Close() error { return errors.Join(f.b.Close(), f.closeClient()) }
