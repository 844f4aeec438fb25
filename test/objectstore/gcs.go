package objectstore

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/iterator"
)

// GCS is a Google Cloud Storage server: fake-gcs-server's library, in process on 127.0.0.1
// (the emulator Google's client libraries reach through STORAGE_EMULATOR_HOST). With the
// emulator the client sends no credentials at all, so what a key file holds is not checked by
// the server: the stand-in checks what the manual asks of the pod instead
// (partials/gcs-credentials.adoc).
type GCS struct {
	// Host is the emulator's host:port, for STORAGE_EMULATOR_HOST.
	Host string
	// KeyFile is a service-account key file as the manual has the pod hold it, named by
	// GOOGLE_APPLICATION_CREDENTIALS. Its key is a placeholder: nothing signs with it.
	KeyFile string
	server  *fakestorage.Server
}

// StartGCS starts the server with buckets, stopped when t ends.
func StartGCS(t testing.TB, buckets ...string) *GCS {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	for _, b := range buckets {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "keyfile.json")
	if err := os.WriteFile(key, []byte(`{"type": "service_account", "project_id": "graphs", "client_email": "backup@graphs.iam.gserviceaccount.com", "private_key": "placeholder"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return &GCS{Host: u.Host, KeyFile: key, server: srv}
}

// Env is what a pod gives neo4j-admin and the agent: the manual's two variables, and the
// emulator's address.
func (g *GCS) Env() []string {
	return []string{"GOOGLE_APPLICATION_CREDENTIALS=" + g.KeyFile, "GOOGLE_CLOUD_PROJECT=graphs", "STORAGE_EMULATOR_HOST=" + g.Host}
}

// Put writes an object.
func (g *GCS) Put(t testing.TB, bucket, name string, data []byte) {
	t.Helper()
	g.server.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name}, Content: data})
}

// Keys lists a bucket's objects under prefix, sorted.
func (g *GCS) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	it := g.server.Client().Bucket(bucket).Objects(context.Background(), &storage.Query{Prefix: prefix})
	var keys []string
	for {
		o, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Name)
	}
	sort.Strings(keys)
	return keys
}

// Get reads an object.
func (g *GCS) Get(t testing.TB, bucket, name string) []byte {
	t.Helper()
	o, err := g.server.GetObject(bucket, name)
	if err != nil {
		t.Fatal(err)
	}
	return o.Content
}
