// Package objectstore starts real object-store servers on loopback for tests, with the home a
// pod gives the cloud SDKs: the one place the stand-in's and the agent's bucket tests get them.
package objectstore

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is an S3-compatible server: gofakes3 with its in-memory backend, in process on 127.0.0.1,
// chosen over MinIO because it needs no build of its own. It checks no signatures: a missing
// key is caught by the SDK before any request, a wrong one is not caught.
type S3 struct {
	Endpoint string
	// Home is a pod's home with ~/.aws as Neo4j's manual shows it (partials/aws-s3-credentials.adoc):
	// a region in config, a key in credentials.
	Home   string
	client *s3.Client
}

// S3Handler is the S3-compatible server with buckets, in memory, for a listener of the caller's
// (test/cmd/s3server serves it inside the real node's pod network).
func S3Handler(buckets ...string) (http.Handler, error) {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	return gofakes3.New(backend).Server(), nil
}

// StartS3 starts the server with buckets, stopped when t ends.
func StartS3(t testing.TB, buckets ...string) *S3 {
	t.Helper()
	handler, err := S3Handler(buckets...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	s := &S3{Endpoint: srv.URL, Home: t.TempDir(),
		client: s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Credentials: aws.AnonymousCredentials{}})}
	s.WriteAWS(t, "[default]\nregion=us-east-1\n", "[default]\naws_access_key_id=this.is.secret\naws_secret_access_key=this.is.super.secret\n")
	return s
}

// WriteAWS rewrites ~/.aws/config and ~/.aws/credentials; an empty text removes the file.
func (s *S3) WriteAWS(t testing.TB, config, credentials string) {
	t.Helper()
	dir := filepath.Join(s.Home, ".aws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"config": config, "credentials": credentials} {
		p := filepath.Join(dir, name)
		if text == "" {
			os.Remove(p)
			continue
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Env is what a pod gives neo4j-admin and the agent: its home, the endpoint override, and never
// the instance metadata service, which is not on loopback.
func (s *S3) Env() []string {
	return []string{"HOME=" + s.Home, "AWS_ENDPOINT_URL_S3=" + s.Endpoint, "AWS_EC2_METADATA_DISABLED=true"}
}

// Put writes an object.
func (s *S3) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if _, err := s.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}

// Keys lists a bucket's objects under prefix, sorted.
func (s *S3) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	out, err := s.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
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

// Get reads an object.
func (s *S3) Get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	out, err := s.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
