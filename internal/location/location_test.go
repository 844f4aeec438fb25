package location

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
)

var t0 = time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)

func backup(name string, created time.Duration, mod func(*v1.Backup)) v1.Backup {
	b := v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(t0.Add(created))},
		Spec: v1.BackupSpec{Cluster: v1.ClusterSpec{Name: "graph"}}}
	if mod != nil {
		mod(&b)
	}
	return b
}

func runningB(b *v1.Backup) {
	b.Status.JobName, b.Status.Phase = b.Name+"-backup", v1.BackupRunning
	b.Status.Storage = &v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: "prod/graph"}
}
func succeeded(b *v1.Backup) { runningB(b); b.Status.Phase = v1.BackupSucceeded }
func deleting(withFinalizer bool) func(*v1.Backup) {
	return func(b *v1.Backup) {
		succeeded(b)
		b.DeletionTimestamp = &metav1.Time{Time: t0}
		if withFinalizer {
			b.Finalizers = []string{v1.ArtifactsFinalizer}
		}
	}
}
func elsewhere(b *v1.Backup) { b.Spec.Storage.Path = "prod/other" }

func TestWriter(t *testing.T) {
	me := backup("me", time.Minute, nil)
	for _, tc := range []struct {
		name   string
		me     v1.Backup
		others []v1.Backup
		want   string
	}{
		{"alone", me, nil, ""},
		{"a running backup of the location holds it", me, []v1.Backup{backup("r", 0, runningB)}, "r"},
		{"a finished one does not", me, []v1.Backup{backup("s", 0, succeeded)}, ""},
		{"another location does not", me, []v1.Backup{backup("r", 0, func(b *v1.Backup) { runningB(b); b.Status.Storage.Path = "prod/other" })}, ""},
		{"an older one not started yet goes first", me, []v1.Backup{backup("old", 0, nil)}, "old"},
		{"a newer one not started yet waits for me", me, []v1.Backup{backup("new", 2*time.Minute, nil)}, ""},
		{"created in the same second: by name", me, []v1.Backup{backup("a", time.Minute, nil), backup("z", time.Minute, nil)}, "a"},
		{"a newer one that started holds it all the same", me, []v1.Backup{backup("new", 2*time.Minute, runningB)}, "new"},
		{"a Backup being deleted holds nothing by itself (its prune Job and pods do)", me, []v1.Backup{backup("p", 0, deleting(true))}, ""},
		{"a not-started one elsewhere does not", me, []v1.Backup{backup("old", 0, elsewhere)}, ""},
		{"the oldest holder is named", me, []v1.Backup{backup("r2", 30*time.Second, runningB), backup("r1", 10*time.Second, runningB)}, "r1"},
		{"a prune waits for a running backup", backup("me", 0, deleting(true)), []v1.Backup{backup("r", time.Minute, runningB)}, "r"},
		{"a prune does not wait for another prune, nor for one not started", backup("me", time.Minute, deleting(true)),
			[]v1.Backup{backup("p", 0, deleting(true)), backup("old", 0, nil)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if w := Writer(&tc.me, append(tc.others, tc.me)); w != nil {
				got = w.Name
			}
			if got != tc.want {
				t.Errorf("writer %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOf(t *testing.T) {
	b := backup("b", 0, nil)
	if got := Of(&b); got != (v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: "prod/graph"}) {
		t.Errorf("planned: %+v", got)
	}
	b.Spec.Storage.PersistentVolumeClaim = &v1.ClaimSource{ClaimName: "mine"}
	if got := Of(&b); got.ClaimName != "mine" {
		t.Errorf("named claim: %+v", got)
	}
	bucket := backup("in-bucket", 0, nil)
	bucket.Spec.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "s3://backups/neo4j/"}
	if got := Of(&bucket); got != (v1.StorageLocation{URI: "s3://backups", Path: "neo4j/prod/graph"}) {
		t.Errorf("bucket folder: %+v", got)
	}
	// One folder, however the spec splits it between uri and path: one location, one lock, one
	// label, whichever namespace names it (a bucket is not a namespace's).
	other := backup("other-spelling", 0, nil)
	other.Namespace = "elsewhere"
	other.Spec.Storage.ObjectStore, other.Spec.Storage.Path = &v1.ObjectStoreSpec{URI: "s3://backups/neo4j/prod"}, "graph"
	if Of(&other) != Of(&bucket) || Key(&other) != Key(&bucket) || resources.LocationLabel(Of(&other)) != resources.LocationLabel(Of(&bucket)) {
		t.Errorf("one folder, two locations: %+v (key %s) and %+v (key %s)", Of(&other), Key(&other), Of(&bucket), Key(&bucket))
	}
	if src := OfSource(&v1.StorageLocationSpec{ObjectStore: &v1.ObjectStoreSpec{URI: "s3://backups"}, Path: "neo4j/prod/graph"}); src != Of(&bucket) {
		t.Errorf("a Restore's source names %+v, the Backup recorded %+v", src, Of(&bucket))
	}
	// The same names at another endpoint are another store.
	minio := backup("on-minio", 0, nil)
	minio.Spec.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "s3://backups/neo4j", Endpoint: "https://minio.storage:9000"}
	if Of(&minio) == Of(&bucket) || Key(&minio) == Key(&bucket) || resources.LocationLabel(Of(&minio)) == resources.LocationLabel(Of(&bucket)) {
		t.Errorf("AWS and an S3-compatible store at an endpoint are one location: %+v", Of(&minio))
	}
	b.Status.Storage = &v1.StorageLocation{ClaimName: "recorded", Path: "p"}
	if got := Of(&b); got != *b.Status.Storage {
		t.Errorf("recorded: %+v", got)
	}
}
