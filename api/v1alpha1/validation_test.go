package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

func q(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

func validCluster() v1.ClusterSpec {
	return v1.ClusterSpec{
		Name:                "graph",
		Neo4jVersion:        "5.26",
		ServerSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}},
		ReadReplicaSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"neo4j.com/role": "secondary"}},
	}
}

func validBackupSpec() v1.BackupSpec {
	return v1.BackupSpec{
		Cluster: validCluster(),
		Storage: v1.StorageSpec{PersistentVolumeClaim: &v1.ClaimSource{
			Template: &v1.ClaimTemplate{Size: resource.MustParse("100Gi")},
		}},
		JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise"},
	}
}

func validObjectStore() *v1.ObjectStoreSpec {
	return &v1.ObjectStoreSpec{
		URI:         "s3://graph-backups/neo4j",
		Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"},
		Region:      "eu-west-1",
		Staging:     &v1.ClaimTemplate{Size: resource.MustParse("100Gi")},
	}
}

// inBucket is a valid Backup stored in a bucket, then changed by edit.
func inBucket(edit func(*v1.BackupSpec)) func(string) client.Object {
	return backupWith(func(s *v1.BackupSpec) {
		s.Storage.PersistentVolumeClaim, s.Storage.ObjectStore = nil, validObjectStore()
		edit(s)
	})
}

func validBackup(name string) *v1.Backup {
	return &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: validBackupSpec()}
}

func validSchedule(name string) *v1.BackupSchedule {
	return &v1.BackupSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       v1.BackupScheduleSpec{Schedule: "0 2 * * *", Template: validBackupSpec()},
	}
}

func validRestore(name string) *v1.Restore {
	c := validCluster()
	c.Neo4jVersion = "2025.10"
	return &v1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: v1.RestoreSpec{
			Source:            v1.RestoreSource{BackupName: "nightly"},
			Database:          "neo4j",
			Cluster:           c,
			Mode:              v1.RestoreSeedFromURI,
			CredentialsSecret: &v1.CredentialsSecret{Name: "neo4j-admin"},
			JobOptions:        v1.JobOptions{Image: "neo4j:2025.10.1-enterprise"},
		},
	}
}

func volumeRestore(name string) *v1.Restore {
	r := validRestore(name)
	r.Spec.Mode = v1.RestoreVolume
	r.Spec.CredentialsSecret = nil
	r.Spec.Target = &v1.RestoreTarget{ClaimName: "new-server-data"}
	return r
}

// fromBucket is a Volume restore from a bucket folder no Backup describes (another cluster's).
func fromBucket(name string) *v1.Restore {
	r := volumeRestore(name)
	r.Spec.Cluster.Neo4jVersion = "5.26"
	o := validObjectStore()
	o.Staging = nil
	r.Spec.Source = v1.RestoreSource{Storage: &v1.StorageLocationSpec{ObjectStore: o, Path: "prod/graph"}}
	return r
}

func verifyRestore(name string) *v1.Restore {
	r := validRestore(name)
	r.Spec.Mode = v1.RestoreVerify
	r.Spec.CredentialsSecret = nil
	r.Spec.Scratch = &v1.ClaimTemplate{Size: resource.MustParse("20Gi")}
	return r
}

// invalid is one object the API server must refuse, and what its message must say: the field's
// path and the words that tell the user what is expected.
type invalid struct {
	obj   func(name string) client.Object
	field string
	says  string
}

func backupWith(mut func(*v1.BackupSpec)) func(string) client.Object {
	return func(name string) client.Object { b := validBackup(name); mut(&b.Spec); return b }
}

func scheduleWith(mut func(*v1.BackupScheduleSpec)) func(string) client.Object {
	return func(name string) client.Object { s := validSchedule(name); mut(&s.Spec); return s }
}

func restoreWith(base func(string) *v1.Restore, mut func(*v1.RestoreSpec)) func(string) client.Object {
	return func(name string) client.Object { r := base(name); mut(&r.Spec); return r }
}

var invalidObjects = map[string]invalid{
	// Backup: the cluster.
	"empty cluster name": {backupWith(func(s *v1.BackupSpec) { s.Cluster.Name = "" }),
		"spec.cluster.name", "should be at least 1 chars long"},
	"cluster name not a DNS label": {backupWith(func(s *v1.BackupSpec) { s.Cluster.Name = "Prod_Graph" }),
		"spec.cluster.name", "must be a DNS label"},
	"Neo4j 3.5": {backupWith(func(s *v1.BackupSpec) { s.Cluster.Neo4jVersion = "3.5" }),
		"spec.cluster.neo4jVersion", "must be a supported Neo4j version"},
	"Neo4j 5.27 (5.x ended at 5.26)": {backupWith(func(s *v1.BackupSpec) { s.Cluster.Neo4jVersion = "5.27" }),
		"spec.cluster.neo4jVersion", "must be a supported Neo4j version"},
	"Neo4j version with a v": {backupWith(func(s *v1.BackupSpec) { s.Cluster.Neo4jVersion = "v5.26" }),
		"spec.cluster.neo4jVersion", "must be a supported Neo4j version"},
	"calendar version month 13": {backupWith(func(s *v1.BackupSpec) { s.Cluster.Neo4jVersion = "2025.13" }),
		"spec.cluster.neo4jVersion", "must be a supported Neo4j version"},
	"no server selector": {backupWith(func(s *v1.BackupSpec) { s.Cluster.ServerSelector = nil }),
		"spec.cluster.serverSelector", "cluster.serverSelector is required for a backup"},
	"backup port out of range": {backupWith(func(s *v1.BackupSpec) { s.Cluster.BackupPort = 70000 }),
		"spec.cluster.backupPort", "less than or equal to 65535"},
	"negative backup port": {backupWith(func(s *v1.BackupSpec) { s.Cluster.BackupPort = -1 }),
		"spec.cluster.backupPort", "greater than or equal to 1"},
	"TLS without a Secret name": {backupWith(func(s *v1.BackupSpec) { s.Cluster.TLS = &v1.TLSSpec{} }),
		"spec.cluster.tls.secretName", "should be at least 1 chars long"},

	// Backup: source and databases.
	"unknown source policy": {backupWith(func(s *v1.BackupSpec) { s.Source.Policy = "PrimaryOnly" }),
		"spec.source.policy", `supported values: "ReadReplicaOnly", "PreferReadReplica", "Any"`},
	"ReadReplicaOnly without a read replica selector": {backupWith(func(s *v1.BackupSpec) {
		s.Source.Policy = v1.SourceReadReplicaOnly
		s.Cluster.ReadReplicaSelector = nil
	}), "spec.source.policy", "needs cluster.readReplicaSelector"},
	"database name too short": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"ab"} }),
		"spec.databases[0]", "must be a Neo4j database name"},
	"database name starting with a digit": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"neo4j", "1graph"} }),
		"spec.databases[1]", "must be a Neo4j database name"},
	"database name with an underscore": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"my_db"} }),
		"spec.databases[0]", "must be a Neo4j database name"},
	"empty database name": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{""} }),
		"spec.databases[0]", "must be a Neo4j database name"},
	// Neo4j normalizes names to lowercase: "Movies" would be written as movies and never found.
	"database name in uppercase": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"neo4j", "Movies"} }),
		"spec.databases[1]", "in lowercase"},
	"database glob in uppercase": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"Tenant-*"} }),
		"spec.databases[0]", "in lowercase"},
	// "Names cannot end with dots or dashes."
	"database name ending with a dash": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"movies-"} }),
		"spec.databases[0]", "not ending with '.' or '-'"},
	"database name ending with a dot": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"movies."} }),
		"spec.databases[0]", "not ending with '.' or '-'"},
	"database listed twice": {backupWith(func(s *v1.BackupSpec) { s.Databases = []string{"neo4j", "neo4j"} }),
		"spec.databases[1]", "Duplicate value"},
	"unknown backup type": {backupWith(func(s *v1.BackupSpec) { s.Type = "INCREMENTAL" }),
		"spec.type", `supported values: "AUTO", "FULL", "DIFF"`},

	// Backup: memory.
	"zero heap": {backupWith(func(s *v1.BackupSpec) { s.Memory.HeapSize = q("0") }),
		"spec.memory.heapSize", "must be greater than 0"},
	"negative page cache": {backupWith(func(s *v1.BackupSpec) { s.Memory.PageCache = q("-1Gi") }),
		"spec.memory.pageCache", "must be greater than 0"},
	"zero overhead": {backupWith(func(s *v1.BackupSpec) { s.Memory.Overhead = q("0") }),
		"spec.memory.overhead", "must be greater than 0"},
	"zero limit": {backupWith(func(s *v1.BackupSpec) { s.Memory.Limit = q("0") }),
		"spec.memory.limit", "must be greater than 0"},
	"heap + page cache + overhead over the limit": {backupWith(func(s *v1.BackupSpec) {
		s.Memory = v1.MemorySpec{HeapSize: q("2Gi"), PageCache: q("1Gi"), Overhead: q("512Mi"), Limit: q("3Gi")}
	}), "spec.memory.limit", "heapSize (2Gi) + pageCache (1Gi) + overhead (512Mi) must not exceed limit (3Gi)"},
	"defaults over a small limit": {backupWith(func(s *v1.BackupSpec) { s.Memory.Limit = q("1Gi") }),
		"spec.memory.limit", "heapSize (1Gi) + pageCache (512Mi) + overhead (512Mi) must not exceed limit (1Gi)"},
	"zero CPU": {backupWith(func(s *v1.BackupSpec) { s.Resources.CPU = q("0") }),
		"spec.resources.cpu", "must be greater than 0"},

	// Backup: storage.
	"neither claimName nor template": {backupWith(func(s *v1.BackupSpec) { s.Storage.PersistentVolumeClaim = &v1.ClaimSource{} }),
		"spec.storage.persistentVolumeClaim", "set exactly one of claimName"},
	"both claimName and template": {backupWith(func(s *v1.BackupSpec) { s.Storage.PersistentVolumeClaim.ClaimName = "backups" }),
		"spec.storage.persistentVolumeClaim", "set exactly one of claimName"},
	"zero-size claim template": {backupWith(func(s *v1.BackupSpec) { s.Storage.PersistentVolumeClaim.Template.Size = resource.MustParse("0") }),
		"spec.storage.persistentVolumeClaim.template.size", "must be greater than 0"},
	"Fixed zone without a name": {backupWith(func(s *v1.BackupSpec) { s.Storage.Zone.Policy = v1.ZoneFixed }),
		"spec.storage.zone.name", "policy Fixed needs name"},
	"zone name without Fixed": {backupWith(func(s *v1.BackupSpec) { s.Storage.Zone.Name = "zone-c" }),
		"spec.storage.zone.name", "name is used only with policy Fixed"},
	"zone name that no node label can hold": {backupWith(func(s *v1.BackupSpec) {
		s.Storage.Zone = v1.ZoneSpec{Policy: v1.ZoneFixed, Name: "zone c"}
	}), "spec.storage.zone.name", "must be a label value"},
	"unknown zone policy": {backupWith(func(s *v1.BackupSpec) { s.Storage.Zone.Policy = "Random" }),
		"spec.storage.zone.policy", `supported values: "AvoidClusterZones", "AvoidSourceZone", "Fixed"`},
	"path escaping upwards": {backupWith(func(s *v1.BackupSpec) { s.Storage.Path = "prod/../../etc" }),
		"spec.storage.path", "without '..' segments"},
	"absolute path": {backupWith(func(s *v1.BackupSpec) { s.Storage.Path = "/var/backups" }),
		"spec.storage.path", "must be a relative path"},
	"path with an empty segment": {backupWith(func(s *v1.BackupSpec) { s.Storage.Path = "prod//graph" }),
		"spec.storage.path", "must be a relative path"},
	"Delete policy on an existing claim": {backupWith(func(s *v1.BackupSpec) {
		s.Storage.PersistentVolumeClaim = &v1.ClaimSource{ClaimName: "backups"}
		s.Storage.DeletionPolicy = v1.DeletionDelete
	}), "spec.storage.deletionPolicy", "an existing claim (claimName) is never deleted"},
	"unknown deletion policy": {backupWith(func(s *v1.BackupSpec) { s.Storage.DeletionPolicy = "Purge" }),
		"spec.storage.deletionPolicy", `supported values: "Retain", "Delete"`},

	// Backup: a bucket.
	"a volume and a bucket": {backupWith(func(s *v1.BackupSpec) { s.Storage.ObjectStore = validObjectStore() }),
		"spec.storage", "set exactly one of persistentVolumeClaim (a volume) and objectStore (a bucket)"},
	"neither a volume nor a bucket": {backupWith(func(s *v1.BackupSpec) { s.Storage.PersistentVolumeClaim = nil }),
		"spec.storage", "set exactly one of persistentVolumeClaim (a volume) and objectStore (a bucket)"},
	"a bucket on 4.4": {inBucket(func(s *v1.BackupSpec) { s.Cluster.Neo4jVersion = "4.4" }),
		"spec.storage.objectStore", "needs Neo4j 5.25 or later"},
	"a bucket on 5.24, whose backup inspect cannot read it": {inBucket(func(s *v1.BackupSpec) { s.Cluster.Neo4jVersion = "5.24.1" }),
		"spec.storage.objectStore", "needs Neo4j 5.25 or later"},
	"a URI of another scheme": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "https://backups.s3.amazonaws.com/neo4j" }),
		"spec.storage.objectStore.uri", "must be s3://<bucket>[/<prefix>], gs://<bucket>[/<prefix>] or azb://<account>/<container>[/<prefix>]"},
	"an Azure account and no container": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "azb://graphbackups" }),
		"spec.storage.objectStore.uri", "azb://<account>/<container>[/<prefix>]"},
	"an Azure account in capitals": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "azb://GraphBackups/backups" }),
		"spec.storage.objectStore.uri", "an Azure storage account of 3 to 24 lowercase letters and digits"},
	"an Azure account of 25 characters": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "azb://" + strings.Repeat("a", 25) + "/backups" }),
		"spec.storage.objectStore.uri", "an Azure storage account of 3 to 24"},
	"an Azure container with '--'": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "azb://graphbackups/neo4j--backups/prod" }),
		"spec.storage.objectStore.uri", "an Azure container name has no two '-' in a row"},
	"an Azure container with '_'": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "azb://graphbackups/neo4j_backups" }),
		"spec.storage.objectStore.uri", "a container of 3 to 63 lowercase letters, digits and '-'"},
	"an Azure container with a region": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "azb://graphbackups/backups" }),
		"spec.storage.objectStore.region", "region is for s3:// URIs"},
	"a bucket name in capitals": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "s3://MyBucket/neo4j" }),
		"spec.storage.objectStore.uri", "must be s3://<bucket>[/<prefix>]"},
	"a prefix with '..'": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "s3://backups/neo4j/../other" }),
		"spec.storage.objectStore.uri", "must be s3://<bucket>[/<prefix>]"},
	"a prefix with an empty segment": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "s3://backups//neo4j" }),
		"spec.storage.objectStore.uri", "must be s3://<bucket>[/<prefix>]"},
	"no credentials": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.Credentials = v1.ObjectStoreCredentials{} }),
		"spec.storage.objectStore.credentials", "set exactly one of secretName"},
	"a Secret and workload identity": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.Credentials.WorkloadIdentity = true }),
		"spec.storage.objectStore.credentials", "set exactly one of secretName"},
	"workload identity without a ServiceAccount": {inBucket(func(s *v1.BackupSpec) {
		s.Storage.ObjectStore.Credentials = v1.ObjectStoreCredentials{WorkloadIdentity: true}
	}), "spec.serviceAccountName", "workloadIdentity needs serviceAccountName"},
	"an endpoint with a path": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.Endpoint = "https://minio:9000/bucket" }),
		"spec.storage.objectStore.endpoint", "must be http(s)://host[:port]"},
	"an endpoint for GCS": {inBucket(func(s *v1.BackupSpec) {
		s.Storage.ObjectStore.URI, s.Storage.ObjectStore.Project, s.Storage.ObjectStore.Endpoint = "gs://backups", "graph-prod", "https://storage.example:443"
	}), "spec.storage.objectStore.endpoint", "endpoint is for S3-compatible stores"},
	"a GCS bucket without a project": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "gs://backups"; s.Storage.ObjectStore.Region = "" }),
		"spec.storage.objectStore.project", "project (GOOGLE_CLOUD_PROJECT"},
	"an S3 Express One Zone bucket without its zone": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.URI = "s3://graph--use1-az4--x-s3/neo4j" }),
		"spec.storage.objectStore.zone", "lives in one zone: set zone"},
	"a zero-size staging volume": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.Staging.Size = resource.MustParse("0") }),
		"spec.storage.objectStore.staging.size", "must be greater than 0"},

	"a schedule's backupOwnerReference of another kind": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.BackupOwnerReference = "Controller" }),
		"spec.backupOwnerReference", `supported values: "None", "Schedule"`},

	// Backup: the pod.
	"no image": {backupWith(func(s *v1.BackupSpec) { s.Image = "" }),
		"spec.image", "should be at least 1 chars long"},
	"unknown pull policy": {backupWith(func(s *v1.BackupSpec) { s.ImagePullPolicy = "Sometimes" }),
		"spec.imagePullPolicy", "supported values"},
	"zero deadline": {backupWith(func(s *v1.BackupSpec) { s.ActiveDeadlineSeconds = ptr.To[int64](0) }),
		"spec.activeDeadlineSeconds", "greater than or equal to 1"},
	"backoff limit over 10": {backupWith(func(s *v1.BackupSpec) { s.BackoffLimit = ptr.To[int32](11) }),
		"spec.backoffLimit", "less than or equal to 10"},

	// BackupSchedule.
	"drills of a database the schedule does not back up": {scheduleWith(func(s *v1.BackupScheduleSpec) {
		s.Template.Databases = []string{"neo4j", "movies"}
		s.Verify = &v1.VerifySpec{Database: "graph", Scratch: v1.ClaimTemplate{Size: resource.MustParse("10Gi")}}
	}), "spec.verify.database", "verify.database must be one of the databases template.databases backs up"},
	"drills of a glob": {scheduleWith(func(s *v1.BackupScheduleSpec) {
		s.Verify = &v1.VerifySpec{Database: "*", Scratch: v1.ClaimTemplate{Size: resource.MustParse("10Gi")}}
	}), "spec.verify.database", "no globs"},
	"drills every hour and a half": {scheduleWith(func(s *v1.BackupScheduleSpec) {
		s.Verify = &v1.VerifySpec{Schedule: "@every 90m", Scratch: v1.ClaimTemplate{Size: resource.MustParse("10Gi")}}
	}), "spec.verify.schedule", "@every is not supported"},
	"drills into a scratch claim of size 0": {scheduleWith(func(s *v1.BackupScheduleSpec) {
		s.Verify = &v1.VerifySpec{Scratch: v1.ClaimTemplate{Size: resource.MustParse("0")}}
	}), "spec.verify.scratch.size", "must be greater than 0"},
	"empty schedule": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "" }),
		"spec.schedule", "should be at least 1 chars long"},
	"minute 61": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "61 * * * *" }),
		"spec.schedule", "must be a 5-field cron expression"},
	"four cron fields": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "0 2 * *" }),
		"spec.schedule", "must be a 5-field cron expression"},
	"six cron fields (seconds)": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "0 0 2 * * *" }),
		"spec.schedule", "must be a 5-field cron expression"},
	"weekday 7": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "0 2 * * 7" }),
		"spec.schedule", "must be a 5-field cron expression"},
	"step of zero": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "*/0 * * * *" }),
		"spec.schedule", "must be a 5-field cron expression"},
	"unknown descriptor": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "@fortnightly" }),
		"spec.schedule", "must be a 5-field cron expression"},
	"@every": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "@every 1h" }),
		"spec.schedule", "@every is not supported"},
	"time zone inside the schedule": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Schedule = "CRON_TZ=Europe/Berlin 0 2 * * *" }),
		"spec.schedule", "put the time zone in spec.timeZone"},
	"full schedule hour 25": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.FullBackupSchedule = "0 25 * * 0" }),
		"spec.fullBackupSchedule", "must be a 5-field cron expression"},
	"time zone with a space": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.TimeZone = "Europe/ Berlin" }),
		"spec.timeZone", "must be an IANA time zone name"},
	"the machine's time zone": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.TimeZone = "Local" }),
		"spec.timeZone", "the operator machine's zone"},
	"unknown time zone": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.TimeZone = "Mars/Olympus_Mons" }),
		"spec.timeZone", "must be an IANA time zone name"},
	"unknown concurrency policy": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.ConcurrencyPolicy = "Queue" }),
		"spec.concurrencyPolicy", `supported values: "Forbid", "Allow", "Replace"`},
	"zero starting deadline": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.StartingDeadlineSeconds = ptr.To[int64](0) }),
		"spec.startingDeadlineSeconds", "greater than or equal to 1"},
	"empty retention": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Retention = &v1.RetentionSpec{} }),
		"spec.retention", "set at least one of keepLast"},
	"keepLast 0": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Retention = &v1.RetentionSpec{KeepLast: ptr.To[int32](0)} }),
		"spec.retention.keepLast", "greater than or equal to 1"},
	"negative keepDaily": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Retention = &v1.RetentionSpec{KeepDaily: ptr.To[int32](-7)} }),
		"spec.retention.keepDaily", "greater than or equal to 1"},
	"maxAge in words": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Retention = &v1.RetentionSpec{MaxAge: "30 days"} }),
		"spec.retention.maxAge", "must be a positive duration"},
	"maxAge zero": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Retention = &v1.RetentionSpec{MaxAge: "0d"} }),
		"spec.retention.maxAge", "must be a positive duration"},
	"negative history limit": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.SuccessfulBackupsHistoryLimit = ptr.To[int32](-1) }),
		"spec.successfulBackupsHistoryLimit", "greater than or equal to 0"},
	"template type FULL beside fullBackupSchedule": {scheduleWith(func(s *v1.BackupScheduleSpec) {
		s.FullBackupSchedule = "0 2 * * 0"
		s.Template.Type = v1.BackupFull
	}), "spec.template.type", "must be AUTO (or unset) when fullBackupSchedule"},
	"template over its memory limit": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Template.Memory.Limit = q("1500Mi") }),
		"spec.template.memory.limit", "must not exceed limit (1500Mi)"},
	"template without an image": {scheduleWith(func(s *v1.BackupScheduleSpec) { s.Template.Image = "" }),
		"spec.template.image", "should be at least 1 chars long"},

	// Restore.
	"restore source neither backup nor storage": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Source = v1.RestoreSource{} }),
		"spec.source", "set exactly one of backupName"},
	"restore source both backup and storage": {restoreWith(validRestore, func(s *v1.RestoreSpec) {
		s.Source.Storage = &v1.StorageLocationSpec{ClaimName: "backups", Path: "prod/graph"}
	}), "spec.source", "set exactly one of backupName"},
	"restore storage path escaping": {restoreWith(validRestore, func(s *v1.RestoreSpec) {
		s.Source = v1.RestoreSource{Storage: &v1.StorageLocationSpec{ClaimName: "backups", Path: ".."}}
	}), "spec.source.storage.path", "without '..' segments"},
	"restore of a glob": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Database = "*" }),
		"spec.database", "should be at least 3 chars long"},
	"restore of an invalid name": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Database = "neo4j*" }),
		"spec.database", "must be a Neo4j database name"},
	"restore over system": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.TargetDatabase = "system" }),
		"spec.targetDatabase", "the system database cannot be restored over"},
	// "Names that begin with an underscore and with the prefix system are reserved".
	"restore to a reserved name": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.TargetDatabase = "system-copy" }),
		"spec.targetDatabase", "reserved by Neo4j"},
	"restore to an uppercase name": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.TargetDatabase = "Movies" }),
		"spec.targetDatabase", "in lowercase"},
	"restore of an uppercase name": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Database = "Movies" }),
		"spec.database", "in lowercase"},
	"seedFrom with a Volume restore": {restoreWith(volumeRestore, func(s *v1.RestoreSpec) { s.SeedFrom = v1.SeedFromBucket }),
		"spec.seedFrom", "seedFrom is used only with mode SeedFromURI"},
	"seedFrom: Bucket on 5.25": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.SeedFrom, s.Cluster.Neo4jVersion = v1.SeedFromBucket, "5.25" }),
		"spec.seedFrom", "seedFrom: Bucket needs Neo4j 5.26 or later"},
	"seedFrom: Bucket with restoreUntil on 5.26": {restoreWith(validRestore, func(s *v1.RestoreSpec) {
		s.SeedFrom, s.Cluster.Neo4jVersion, s.RestoreUntil = v1.SeedFromBucket, "5.26.2", "123"
	}), "spec.seedFrom", "seedFrom: Bucket with restoreUntil needs Neo4j 2025.01 or later"},
	"seedFrom: Bucket with replaceExisting": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.SeedFrom, s.ReplaceExisting = v1.SeedFromBucket, true }),
		"spec.seedFrom", "seedFrom: Bucket cannot be combined with replaceExisting"},
	"seedFrom: Bucket from a claim": {restoreWith(validRestore, func(s *v1.RestoreSpec) {
		s.SeedFrom, s.Source = v1.SeedFromBucket, v1.RestoreSource{Storage: &v1.StorageLocationSpec{ClaimName: "neo4j-backups-graph", Path: "prod/graph"}}
	}), "spec.seedFrom", "seedFrom: Bucket needs a source in a bucket"},
	"seedFrom of another kind": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.SeedFrom = "Servers" }),
		"spec.seedFrom", `supported values: "Auto", "Bucket", "SeedServer"`},
	"restoreUntil in words": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.RestoreUntil = "yesterday" }),
		"spec.restoreUntil", "must be an RFC 3339 time"},
	"restoreUntil without a zone": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.RestoreUntil = "2026-11-28 02:00:00" }),
		"spec.restoreUntil", "must be an RFC 3339 time"},
	"restoreUntil transaction 0": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.RestoreUntil = "0" }),
		"spec.restoreUntil", "no leading zero"},
	"restoreUntil on 4.4": {restoreWith(volumeRestore, func(s *v1.RestoreSpec) {
		s.Cluster.Neo4jVersion = "4.4"
		s.RestoreUntil = "123456"
	}), "spec.restoreUntil", "restoreUntil needs Neo4j 5.x or later"},
	"SeedFromURI on 4.4": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Cluster.Neo4jVersion = "4.4" }),
		"spec.mode", "mode SeedFromURI needs Neo4j 5.x or later"},
	"SeedFromURI without credentials": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.CredentialsSecret = nil }),
		"spec.credentialsSecret", "mode SeedFromURI needs credentialsSecret"},
	"SeedFromURI without a server selector": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Cluster.ServerSelector = nil }),
		"spec.cluster.serverSelector", "mode SeedFromURI needs cluster.serverSelector"},
	"SeedFromURI with a target claim": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Target = &v1.RestoreTarget{ClaimName: "data"} }),
		"spec.target", "target is used only with mode Volume"},
	"Volume without a target": {restoreWith(volumeRestore, func(s *v1.RestoreSpec) { s.Target = nil }),
		"spec.target", "mode Volume needs target.claimName"},
	"unknown restore mode": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.Mode = "Online" }),
		"spec.mode", `supported values: "SeedFromURI", "Volume", "Verify"`},
	"Verify without scratch": {restoreWith(verifyRestore, func(s *v1.RestoreSpec) { s.Scratch = nil }),
		"spec.scratch", "mode Verify needs scratch"},
	"Verify with a target claim": {restoreWith(verifyRestore, func(s *v1.RestoreSpec) { s.Target = &v1.RestoreTarget{ClaimName: "data"} }),
		"spec.target", "a Verify drill restores into its own scratch claim"},
	"Volume with scratch": {restoreWith(volumeRestore, func(s *v1.RestoreSpec) { s.Scratch = &v1.ClaimTemplate{Size: resource.MustParse("1Gi")} }),
		"spec.scratch", "scratch is used only with mode Verify"},
	"Verify scratch of size 0": {restoreWith(verifyRestore, func(s *v1.RestoreSpec) { s.Scratch.Size = resource.MustParse("0") }),
		"spec.scratch.size", "must be greater than 0"},
	"a restore source with a claim and a bucket": {restoreWith(fromBucket, func(s *v1.RestoreSpec) { s.Source.Storage.ClaimName = "backups" }),
		"spec.source.storage", "set exactly one of claimName (a volume) and objectStore (a bucket)"},
	"a restore source with neither a claim nor a bucket": {restoreWith(fromBucket, func(s *v1.RestoreSpec) { s.Source.Storage.ObjectStore = nil }),
		"spec.source.storage", "set exactly one of claimName (a volume) and objectStore (a bucket)"},
	"a restore from a bucket on 5.24": {restoreWith(fromBucket, func(s *v1.RestoreSpec) { s.Cluster.Neo4jVersion = "5.24" }),
		"spec.source.storage.objectStore", "a restore from a bucket needs Neo4j 5.25 or later"},
	"a restore from a bucket with a staging volume": {restoreWith(fromBucket, func(s *v1.RestoreSpec) {
		s.Source.Storage.ObjectStore.Staging = &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}
	}), "spec.source.storage.objectStore", "staging is for backups"},
	"a restore from a bucket with a malformed URI": {restoreWith(fromBucket, func(s *v1.RestoreSpec) { s.Source.Storage.ObjectStore.URI = "s3:/graph-backups" }),
		"spec.source.storage.objectStore.uri", "must be s3://<bucket>[/<prefix>]"},
	"a restore from a bucket by workload identity without a ServiceAccount": {restoreWith(fromBucket, func(s *v1.RestoreSpec) {
		s.Source.Storage.ObjectStore.Credentials = v1.ObjectStoreCredentials{WorkloadIdentity: true}
	}), "spec.serviceAccountName", "workloadIdentity needs serviceAccountName"},
	"a backup to a bucket without staging": {inBucket(func(s *v1.BackupSpec) { s.Storage.ObjectStore.Staging = nil }),
		"spec.storage.objectStore.staging", "staging is required"},
	"credentials Secret without a name": {restoreWith(validRestore, func(s *v1.RestoreSpec) { s.CredentialsSecret.Name = "" }),
		"spec.credentialsSecret.name", "should be at least 1 chars long"},
}

var _ = Describe("admission of invalid objects", func() {
	It("has a table of at least 40 invalid objects", func() {
		Expect(len(invalidObjects)).To(BeNumerically(">=", 40))
	})

	i := 0
	for name, tc := range invalidObjects {
		i++
		objName := fmt.Sprintf("invalid-%d", i)
		It("refuses "+name+", naming "+tc.field, func() {
			err := k8sClient.Create(ctx, tc.obj(objName))
			Expect(err).To(HaveOccurred(), "the API server accepted it")
			GinkgoWriter.Println(err)
			Expect(err.Error()).To(ContainSubstring(tc.field+":"), "the message names the field")
			Expect(err.Error()).To(ContainSubstring(tc.says))
		})
	}

	It("accepts the valid base objects, so each refusal above is the mutation's doing", func() {
		pointInTime := restoreWith(validRestore, func(s *v1.RestoreSpec) {
			s.Cluster.Neo4jVersion = "5.26" // the operator applies it while preparing the seed
			s.RestoreUntil = "2026-11-28T02:00:00Z"
		})("base-seed-until")
		for _, obj := range []client.Object{validBackup("base"), validSchedule("base"), validRestore("base"), volumeRestore("base-volume"), pointInTime,
			verifyRestore("base-verify"), scheduleWith(func(s *v1.BackupScheduleSpec) {
				s.Template.Databases = []string{"*"}
				s.Verify = &v1.VerifySpec{Database: "movies", Scratch: v1.ClaimTemplate{Size: resource.MustParse("10Gi")}}
			})("base-drills"), restoreWith(verifyRestore, func(s *v1.RestoreSpec) { s.Cluster.Neo4jVersion = "4.4" })("base-verify-44"),
			inBucket(func(*v1.BackupSpec) {})("base-s3"), fromBucket("base-from-s3"),
			restoreWith(fromBucket, func(s *v1.RestoreSpec) {
				s.Source.Storage.ObjectStore.URI, s.Source.Storage.ObjectStore.Zone = "s3://graph--use1-az4--x-s3", "us-east-1a"
			})("base-from-s3-express"),
			scheduleWith(func(s *v1.BackupScheduleSpec) {
				s.Template.Storage.PersistentVolumeClaim, s.Template.Storage.ObjectStore = nil, validObjectStore()
				s.Verify = &v1.VerifySpec{Scratch: v1.ClaimTemplate{Size: resource.MustParse("10Gi")}}
			})("base-drills-s3"),
			inBucket(func(s *v1.BackupSpec) {
				s.Cluster.Neo4jVersion = "2025.10.1"
				s.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "gs://graph_backups.example/", Project: "graph-prod", Credentials: v1.ObjectStoreCredentials{WorkloadIdentity: true},
					Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}}
				s.ServiceAccountName = "neo4j-backup"
				s.Storage.DeletionPolicy = v1.DeletionDelete
			})("base-gs"),
			inBucket(func(s *v1.BackupSpec) {
				s.Storage.ObjectStore.URI, s.Storage.ObjectStore.Zone = "s3://graph--use1-az4--x-s3", "us-east-1a"
				s.Storage.ObjectStore.Endpoint = "http://127.0.0.1:9000"
			})("base-s3-express"),
			inBucket(func(s *v1.BackupSpec) {
				s.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "azb://graphbackups/neo4j-backups/prod", Credentials: v1.ObjectStoreCredentials{SecretName: "azure-sp"},
					Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}}
			})("base-azb"),
			restoreWith(fromBucket, func(s *v1.RestoreSpec) {
				s.Source.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "azb://abc/a-b", Credentials: v1.ObjectStoreCredentials{WorkloadIdentity: true}}
				s.ServiceAccountName = "neo4j-restore"
			})("base-from-azb"),
			restoreWith(validRestore, func(s *v1.RestoreSpec) { s.SeedFrom, s.RestoreUntil = v1.SeedFromBucket, "2026-11-28T02:00:00Z" })("base-seed-from-bucket"),
			restoreWith(validRestore, func(s *v1.RestoreSpec) { s.SeedFrom, s.Cluster.Neo4jVersion = v1.SeedFromBucket, "5.26" })("base-seed-from-bucket-526"),
			restoreWith(validRestore, func(s *v1.RestoreSpec) { s.SeedFrom = v1.SeedFromSeedServer })("base-seed-server")} {
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "%T", obj)
		}
	})

	It("keeps a Backup's spec immutable", func() {
		b := validBackup("immutable")
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		b.Spec.Databases = []string{"neo4j", "movies"}
		err := k8sClient.Update(ctx, b)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec: Invalid value"))
		Expect(err.Error()).To(ContainSubstring("spec is immutable: create a new Backup instead"))
	})

	It("keeps a Restore's spec immutable", func() {
		r := validRestore("immutable")
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r.Spec.TargetDatabase = "neo4j-copy"
		err := k8sClient.Update(ctx, r)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec is immutable: create a new Restore instead"))
	})

	It("lets a Backup's status change, and a schedule's spec", func() {
		b := validBackup("status")
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		b.Status.Phase = v1.BackupRunning
		Expect(k8sClient.Status().Update(ctx, b)).To(Succeed())

		s := validSchedule("mutable")
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		s.Spec.Schedule = "30 3 * * *"
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
	})
})

var _ = Describe("admission of valid cron schedules", func() {
	for _, sched := range []string{
		"* * * * *", "0 2 * * *", "*/15 * * * *", "0 3 * * SUN", "0 3 * * mon-fri", "0 0 1,15 * ?",
		"5-10/2 1 * JAN-MAR *", "0 0 1 */3 *", "@daily", "@hourly", "@weekly", "@monthly", "@yearly",
		"@annually", "@midnight", "59 23 31 12 6",
	} {
		It("accepts "+sched, func() {
			s := validSchedule("cron-" + strings.NewReplacer(" ", "-", "*", "x", "/", "s", "@", "at", ",", "c", "?", "q").Replace(strings.ToLower(sched)))
			s.Spec.Schedule = v1.CronSchedule(sched)
			Expect(k8sClient.Create(ctx, s)).To(Succeed())
		})
	}
})

// Kubernetes' quantity parser spins on decimal exponents of eight digits and more, in the API
// server's CEL (quantity()) as in every client that decodes the object. The CRDs' rules check
// the text first, so such a value is refused at once and never stored.
var _ = Describe("quantities Kubernetes' parser would spin on", func() {
	create := func(heap string) (time.Duration, error) {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": v1.GroupVersion.String(), "kind": "Backup",
			"metadata": map[string]any{"generateName": "exponent-", "namespace": namespace},
			"spec": map[string]any{
				"cluster": map[string]any{"name": "graph", "neo4jVersion": "5.26",
					"serverSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/instance": "graph"}}},
				"storage": map[string]any{"persistentVolumeClaim": map[string]any{"template": map[string]any{"size": "100Gi"}}},
				"image":   "neo4j:5.26.2-enterprise",
				"memory":  map[string]any{"heapSize": heap, "limit": "4Gi"},
			}}}
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		began := time.Now()
		err := k8sClient.Create(c, u)
		return time.Since(began), err
	}

	It("refuses them at once, naming the field", func() {
		for _, heap := range []string{"1E200000000", "1000000E20000000000", "1e-2147483647", "1E100", "1" + strings.Repeat("0", 40)} {
			took, err := create(heap)
			Expect(err).To(HaveOccurred(), heap)
			Expect(err.Error()).To(ContainSubstring("spec.memory.heapSize: Invalid value"), heap)
			Expect(err.Error()).To(ContainSubstring("an exponent of at most two digits"), heap)
			Expect(took).To(BeNumerically("<", 5*time.Second), "%s: the API server answered after %s", heap, took)
		}
	})

	It("still takes what users write", func() {
		for _, heap := range []string{"1Gi", "1536Mi", "2G", "1.5Gi", "2e9", "+1Gi"} {
			_, err := create(heap)
			Expect(err).NotTo(HaveOccurred(), heap)
		}
	})
})
