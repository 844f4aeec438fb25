// Package cloud is how the stand-ins reach a bucket: through each cloud's own SDK and default
// credential chain, the chains Neo4j's tools and servers read, so a wrong environment variable, a
// missing credential file or a wrong endpoint fails a test the way it would fail the real tool.
// The stand-in neo4j-admin reads and writes backup folders with it; the stand-in cypher-shell's
// servers fetch a seed with it (CloudSeedProvider).
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
package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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

// Bucket is what a stand-in does with a bucket: list a folder, read and write objects.
type Bucket interface {
	// list names the objects directly in folder ("" is the bucket's top).
	List(ctx context.Context, folder string) ([]string, error)
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, data []byte) error
}

// Open opens bucket (for azb: the storage account) of scheme (s3, gs or azb) with the cloud
// SDK's default chain in this process's environment.
func Open(ctx context.Context, scheme, bucket string) (Bucket, error) {
	switch scheme {
	case "gs":
		return gcsBucket(ctx, bucket)
	case "azb":
		return azureAccount(bucket)
	}
	client, err := s3Client(ctx)
	if err != nil {
		return nil, err
	}
	return s3Bucket{client, bucket}, nil
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

func (b s3Bucket) List(ctx context.Context, folder string) ([]string, error) {
	var names []string
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(PrefixOf(folder)), Delimiter: aws.String("/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			names = append(names, strings.TrimPrefix(aws.ToString(o.Key), PrefixOf(folder)))
		}
	}
	return names, nil
}

func (b s3Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer obj.Body.Close()
	return io.ReadAll(obj.Body)
}

func (b s3Bucket) Put(ctx context.Context, key string, data []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	return err
}

// gcsBucket checks what the manual has the pod hold, then opens the bucket.
func gcsBucket(ctx context.Context, bucket string) (Bucket, error) {
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

func (g gcsAPI) List(ctx context.Context, folder string) ([]string, error) {
	var names []string
	it := g.b.Objects(ctx, &storage.Query{Prefix: PrefixOf(folder), Delimiter: "/"})
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if o.Name != "" { // a Prefix entry is a subfolder
			names = append(names, strings.TrimPrefix(o.Name, PrefixOf(folder)))
		}
	}
}

func (g gcsAPI) Get(ctx context.Context, key string) ([]byte, error) {
	r, err := g.b.Object(key).NewReader(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (g gcsAPI) Put(ctx context.Context, key string, data []byte) error {
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
func azureAccount(account string) (Bucket, error) {
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

func (a azureAPI) List(ctx context.Context, folder string) ([]string, error) {
	container, prefix, _ := strings.Cut(folder, "/")
	var names []string
	pages := a.c.ServiceClient().NewContainerClient(container).NewListBlobsHierarchyPager("/", &azcontainer.ListBlobsHierarchyOptions{Prefix: to.Ptr(PrefixOf(prefix))})
	for pages.More() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, strings.TrimPrefix(*b.Name, PrefixOf(prefix)))
		}
	}
	return names, nil
}

func (a azureAPI) Get(ctx context.Context, key string) ([]byte, error) {
	container, name, _ := strings.Cut(key, "/")
	r, err := a.c.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

func (a azureAPI) Put(ctx context.Context, key string, data []byte) error {
	container, name, _ := strings.Cut(key, "/")
	_, err := a.c.UploadBuffer(ctx, container, name, data, nil)
	return err
}

// PrefixOf is the key prefix of the objects in folder.
func PrefixOf(folder string) string {
	if folder == "" {
		return ""
	}
	return folder + "/"
}
