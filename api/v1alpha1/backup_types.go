package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SourcePolicy orders the servers a backup may be taken from.
// +kubebuilder:validation:Enum=ReadReplicaOnly;PreferReadReplica;Any
type SourcePolicy string

// ArtifactsFinalizer holds a Backup whose artifacts may be deleted with it until they are (or
// are found to be needed by another backup, and kept).
const ArtifactsFinalizer = "backup.graphkeeper.dev/artifacts"

const (
	// SourceReadReplicaOnly takes backups only from read replicas /
	// secondaries.
	SourceReadReplicaOnly SourcePolicy = "ReadReplicaOnly"
	// SourcePreferReadReplica tries read replicas first, then the other
	// servers.
	SourcePreferReadReplica SourcePolicy = "PreferReadReplica"
	// SourceAny tries every ready server, in name order.
	SourceAny SourcePolicy = "Any"
)

// BackupType is the kind of backup neo4j-admin is asked for.
// +kubebuilder:validation:Enum=AUTO;FULL;DIFF
type BackupType string

const (
	// BackupAuto takes a DIFF when a chain to extend exists in the storage
	// path, else a FULL.
	BackupAuto BackupType = "AUTO"
	// BackupFull starts a new chain.
	BackupFull BackupType = "FULL"
	// BackupDiff extends the newest chain. 4.4 has no DIFF type: it takes an
	// incremental backup into the existing folder, which is what DIFF and AUTO
	// map to there.
	BackupDiff BackupType = "DIFF"
)

// ZonePolicy picks the availability zone the backup volume lives in.
// +kubebuilder:validation:Enum=AvoidClusterZones;AvoidSourceZone;Fixed
type ZonePolicy string

const (
	// ZoneAvoidClusterZones picks a zone where no server of the cluster runs.
	ZoneAvoidClusterZones ZonePolicy = "AvoidClusterZones"
	// ZoneAvoidSourceZone picks a zone other than the source member's.
	ZoneAvoidSourceZone ZonePolicy = "AvoidSourceZone"
	// ZoneFixed uses the zone in zone.name.
	ZoneFixed ZonePolicy = "Fixed"
)

// DeletionPolicy says what happens to stored data when the objects that
// describe it go.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionRetain keeps artifacts and claims when Backups are deleted.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete removes a deleted Backup's artifacts (never the newest
	// restorable chain) and, once no Backup uses it, a claim the operator
	// created from a template.
	DeletionDelete DeletionPolicy = "Delete"
)

// SourceSpec chooses which servers a backup reads from.
type SourceSpec struct {
	// policy orders the candidate servers: ReadReplicaOnly, PreferReadReplica
	// (default: read replicas / secondaries first, then the other servers) or
	// Any. Only ready servers are tried, in that order, until one succeeds.
	// +kubebuilder:default=PreferReadReplica
	// +optional
	Policy SourcePolicy `json:"policy,omitempty"`
}

// ClaimTemplate describes the claim the operator creates once and reuses:
// a DIFF backup needs the previous artifacts of its chain in the same
// place.
type ClaimTemplate struct {
	// storageClassName of the claim. Use a class with volumeBindingMode
	// WaitForFirstConsumer, so the volume is made in the zone the operator
	// chose. Default: the cluster's default class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`

	// size of the claim, e.g. "100Gi".
	// +kubebuilder:validation:XValidation:rule="string(self).size() <= 32 && string(self).matches('^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$') ? quantity(string(self)).isGreaterThan(quantity('0')) : false",message="must be greater than 0, e.g. 100Gi (at most 32 characters; an exponent of at most two digits)"
	Size resource.Quantity `json:"size"`
}

// ClaimSource names an existing claim or describes one for the operator to
// create.
// +kubebuilder:validation:XValidation:rule="has(self.claimName) != has(self.template)",message="set exactly one of claimName (an existing claim) and template (a claim the operator creates)"
type ClaimSource struct {
	// claimName is an existing PersistentVolumeClaim in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClaimName string `json:"claimName,omitempty"`

	// template describes a claim the operator creates once per cluster and
	// reuses.
	// +optional
	Template *ClaimTemplate `json:"template,omitempty"`
}

// ZoneSpec chooses the availability zone of the backup volume.
// +kubebuilder:validation:XValidation:rule="!has(self.policy) || self.policy != 'Fixed' || (has(self.name) && size(self.name) > 0)",message="policy Fixed needs name: the zone to store backups in",fieldPath=".name"
// +kubebuilder:validation:XValidation:rule="(has(self.policy) && self.policy == 'Fixed') || !has(self.name)",message="name is used only with policy Fixed; set policy: Fixed or remove name",fieldPath=".name"
type ZoneSpec struct {
	// policy: AvoidClusterZones (default: a zone where no server of the
	// cluster runs), AvoidSourceZone (any zone but the source member's), or
	// Fixed (the zone in name). Once the claim is bound, its volume's zone is
	// used and checked against this policy.
	// +kubebuilder:default=AvoidClusterZones
	// +optional
	Policy ZonePolicy `json:"policy,omitempty"`

	// name of the zone (a topology.kubernetes.io/zone value) for policy Fixed.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$')",message="must be a label value, as topology.kubernetes.io/zone holds, e.g. eu-west-1c"
	// +optional
	Name string `json:"name,omitempty"`

	// allowSameZone lets a backup be stored in a zone where servers of the
	// cluster run when no zone satisfies the policy. Default false: such a
	// backup is refused with Ready=False, reason NoIsolatedZone, never
	// silently taken there.
	// +kubebuilder:default=false
	// +optional
	AllowSameZone bool `json:"allowSameZone,omitempty"`
}

// ObjectStoreCredentials is how a backup pod authenticates to the bucket. neo4j-admin has no
// option for credentials: the cloud SDK's default chain in the pod finds them, and the agent,
// which deletes expired artifacts there, reads the same chain.
// +kubebuilder:validation:XValidation:rule="has(self.secretName) != (has(self.workloadIdentity) && self.workloadIdentity)",message="set exactly one of secretName (a Secret with the provider's credential file) and workloadIdentity: true (the pod's ServiceAccount)"
type ObjectStoreCredentials struct {
	// secretName is a Secret in this namespace holding the provider's own
	// credentials, where its SDK reads them. s3://: key "credentials" (an AWS
	// shared credentials file) and, optionally, "config" (an AWS config file,
	// e.g. with the region), mounted as files. gs://: key "credentials.json"
	// (a service account's JSON key), mounted as the file
	// GOOGLE_APPLICATION_CREDENTIALS names. azb://: keys AZURE_TENANT_ID,
	// AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service principal), set as
	// the environment variables of those names that Azure's
	// EnvironmentCredential reads. The values never appear in args, logs,
	// events or status.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// workloadIdentity: the pod authenticates as its ServiceAccount
	// (spec.serviceAccountName, required then) through the cloud's workload
	// identity: IRSA or EKS Pod Identity on AWS, Workload Identity on GKE,
	// Microsoft Entra Workload ID on AKS (the pods then carry the label
	// azure.workload.identity/use: "true" its webhook looks for). The
	// provider's webhook or metadata server supplies the credentials.
	// +optional
	WorkloadIdentity bool `json:"workloadIdentity,omitempty"`
}

// ObjectStoreSpec is a bucket folder that holds the backups.
// +kubebuilder:validation:XValidation:rule="!has(self.endpoint) || self.uri.startsWith('s3://')",message="endpoint is for S3-compatible stores (s3:// URIs)",fieldPath=".endpoint"
// +kubebuilder:validation:XValidation:rule="!has(self.region) || self.uri.startsWith('s3://')",message="region is for s3:// URIs",fieldPath=".region"
// +kubebuilder:validation:XValidation:rule="self.uri.startsWith('gs://') == has(self.project)",message="project (GOOGLE_CLOUD_PROJECT, which Neo4j's manual has the pod set) is required for gs:// URIs and only for them",fieldPath=".project"
// +kubebuilder:validation:XValidation:rule="!self.uri.matches('^s3://[^/]*--x-s3(/|$)') || has(self.zone)",message="an S3 Express One Zone bucket (--x-s3) lives in one zone: set zone to that zone's name (its topology.kubernetes.io/zone); the zone ID in the bucket name maps to different names in each account",fieldPath=".zone"
type ObjectStoreSpec struct {
	// uri of the bucket folder: s3://bucket[/prefix] (Neo4j 5.19 and later),
	// gs://bucket[/prefix] (5.21 and later) or
	// azb://account/container[/prefix] (Azure Blob Storage, 5.24 and later:
	// the storage account, then the container); the operator needs 5.25 for
	// each (see cluster.neo4jVersion). The cluster's backups go under
	// <uri>/<storage.path>.
	// +kubebuilder:validation:MinLength=6
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.matches('^(s3://[a-z0-9][-a-z0-9.]{1,61}[a-z0-9]|gs://[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9]|azb://[a-z0-9]{3,24}/[a-z0-9][-a-z0-9]{1,61}[a-z0-9])(/[A-Za-z0-9_][-A-Za-z0-9_.]*)*/?$')",message="must be s3://<bucket>[/<prefix>], gs://<bucket>[/<prefix>] or azb://<account>/<container>[/<prefix>]: a bucket name of lowercase letters, digits, '-' and '.' (gs: also '_'), an Azure storage account of 3 to 24 lowercase letters and digits and a container of 3 to 63 lowercase letters, digits and '-', and a prefix of letters, digits, '-', '_' and '.' segments that do not start with '.', e.g. s3://backups/neo4j"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^azb://[^/]+/[^/]*--')",message="an Azure container name has no two '-' in a row"
	URI string `json:"uri"`

	// credentials: a Secret with the provider's credential file, or the
	// pod's ServiceAccount (workload identity).
	Credentials ObjectStoreCredentials `json:"credentials"`

	// endpoint of an S3-compatible store (MinIO, Ceph RGW, ...), e.g.
	// https://minio.storage:9000. Set as AWS_ENDPOINT_URL_S3, which Neo4j's
	// AWS SDK reads; buckets are then addressed by path. Leave unset for AWS.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?/?$')",message="must be http(s)://host[:port], e.g. https://minio.storage:9000"
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// region of the S3 bucket, set as AWS_REGION. Without it the SDK takes
	// the region from the credentials Secret's config file or the workload
	// identity's environment; with none, the backup fails.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a region name such as eu-west-1"
	// +optional
	Region string `json:"region,omitempty"`

	// project is the Google Cloud project of a gs:// bucket, set as
	// GOOGLE_CLOUD_PROJECT.
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z][-a-z0-9]{4,28}[a-z0-9]$')",message="must be a Google Cloud project ID: 6 to 30 lowercase letters, digits and '-', starting with a letter"
	// +kubebuilder:validation:MaxLength=30
	// +optional
	Project string `json:"project,omitempty"`

	// zone of a zonal bucket (S3 Express One Zone, or any bucket you know to
	// live in one zone), as nodes' topology.kubernetes.io/zone names it. Then
	// storage.zone's policy is checked against it as against a volume's zone.
	// Unset: the bucket is regional (in several zones), so every backup is
	// cross-zone and storage.zone is not used.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$')",message="must be a label value, as topology.kubernetes.io/zone holds, e.g. eu-west-1c"
	// +optional
	Zone string `json:"zone,omitempty"`

	// staging is the scratch volume of each backup pod, made with the pod
	// and deleted with it (an ephemeral volume): neo4j-admin copies the store
	// files there before streaming them to the bucket, and the consistency
	// check extracts the artifact there. Size it at least the largest
	// database's size. Required for backups.
	// +optional
	Staging *ClaimTemplate `json:"staging,omitempty"`
}

// StorageSpec says where backups are kept: on a volume (persistentVolumeClaim) or in a bucket
// (objectStore).
// +kubebuilder:validation:XValidation:rule="has(self.persistentVolumeClaim) != has(self.objectStore)",message="set exactly one of persistentVolumeClaim (a volume) and objectStore (a bucket)"
type StorageSpec struct {
	// persistentVolumeClaim holds the backups: an existing claim or a
	// template.
	// +optional
	PersistentVolumeClaim *ClaimSource `json:"persistentVolumeClaim,omitempty"`

	// objectStore holds the backups in a bucket folder (S3 or an
	// S3-compatible store, Google Cloud Storage, Azure Blob Storage).
	// +optional
	ObjectStore *ObjectStoreSpec `json:"objectStore,omitempty"`

	// path inside the volume, or under objectStore.uri, where this cluster's
	// backups go. Relative, no "." or ".." segments. Default:
	// <namespace>/<cluster name>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_][-A-Za-z0-9_.]*(/[A-Za-z0-9_][-A-Za-z0-9_.]*)*$') && !self.split('/').exists(s, s == '..')",message="must be a relative path of letters, digits, '-', '_' and '.', without '..' segments, e.g. prod/graph"
	// +optional
	Path string `json:"path,omitempty"`

	// zone chooses the availability zone of the backup volume (or of a zonal
	// bucket: objectStore.zone).
	// +kubebuilder:default={}
	// +optional
	Zone ZoneSpec `json:"zone,omitempty"`

	// deletionPolicy: Retain (default) keeps every artifact and claim when
	// Backups are deleted; Delete removes a deleted Backup's artifacts (never
	// those of the newest restorable chain) and, once unused, a claim the
	// operator created from template.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// ConsistencyCheckSpec controls the check of what was backed up.
type ConsistencyCheckSpec struct {
	// enabled runs the consistency check: 4.4 checks during the backup
	// (--check-consistency); 5.x and later run `neo4j-admin database check
	// --from-path` on the new artifact. An inconsistent backup is kept,
	// reported consistent=false, and the Backup ends PartiallyFailed.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// BackupSpec is one backup run. It cannot change after creation.
// +kubebuilder:validation:XValidation:rule="has(self.cluster.serverSelector)",message="cluster.serverSelector is required for a backup: it selects the servers to back up from",fieldPath=".cluster.serverSelector"
// +kubebuilder:validation:XValidation:rule="!has(self.source.policy) || self.source.policy != 'ReadReplicaOnly' || has(self.cluster.readReplicaSelector)",message="source.policy ReadReplicaOnly needs cluster.readReplicaSelector to know the read replicas",fieldPath=".source.policy"
// +kubebuilder:validation:XValidation:rule="!has(self.storage.persistentVolumeClaim) || !has(self.storage.persistentVolumeClaim.claimName) || !has(self.storage.deletionPolicy) || self.storage.deletionPolicy != 'Delete'",message="deletionPolicy Delete is for claims the operator creates from template; an existing claim (claimName) is never deleted",fieldPath=".storage.deletionPolicy"
// +kubebuilder:validation:XValidation:rule="!has(self.storage.objectStore) || self.cluster.neo4jVersion.matches('^(5[.]2[5-6]|20[2-9][0-9][.][0-9]+)([.][0-9]+)?$')",message="storage.objectStore needs Neo4j 5.25 or later: the operator reads the chain in a bucket with neo4j-admin backup inspect, which reads buckets from 5.25 (4.4 has no bucket storage)",fieldPath=".storage.objectStore"
// +kubebuilder:validation:XValidation:rule="!has(self.storage.objectStore) || has(self.storage.objectStore.staging)",message="storage.objectStore.staging is required: neo4j-admin stages each backup locally (at least the database's size) before streaming it to the bucket",fieldPath=".storage.objectStore.staging"
// +kubebuilder:validation:XValidation:rule="!has(self.storage.objectStore) || !has(self.storage.objectStore.credentials.workloadIdentity) || !self.storage.objectStore.credentials.workloadIdentity || has(self.serviceAccountName)",message="storage.objectStore.credentials.workloadIdentity needs serviceAccountName: the ServiceAccount the cloud identity is bound to",fieldPath=".serviceAccountName"
type BackupSpec struct {
	// cluster identifies the Neo4j cluster and its version.
	Cluster ClusterSpec `json:"cluster"`

	// source orders the servers to back up from.
	// +kubebuilder:default={}
	// +optional
	Source SourceSpec `json:"source,omitempty"`

	// databases to back up: names, or globs such as "*" (every database,
	// system included). One database failing does not stop the others. Default
	// ["neo4j"].
	// +kubebuilder:default={"neo4j"}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// Names are lowercase: Neo4j normalizes database names to lowercase, so
	// "Movies" would be backed up as movies and never be found as written.
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z*?][-a-z0-9.*?]*$') && (self.contains('*') || self.contains('?') || self.matches('^[a-z][-a-z0-9.]{1,61}[a-z0-9]$'))",message="must be a Neo4j database name in lowercase (Neo4j stores names lowercased): 3 to 63 letters, digits, '.' or '-', starting with a letter and not ending with '.' or '-'; or a glob such as '*'"
	// +listType=set
	// +optional
	Databases []string `json:"databases,omitempty"`

	// type: AUTO (default: DIFF when the storage path holds a chain to extend,
	// else FULL), FULL or DIFF. 4.4 maps DIFF and AUTO to its incremental
	// backup.
	// +kubebuilder:default=AUTO
	// +optional
	Type BackupType `json:"type,omitempty"`

	// storage says where the backup is kept.
	Storage StorageSpec `json:"storage"`

	// consistencyCheck controls the check of the backup.
	// +kubebuilder:default={}
	// +optional
	ConsistencyCheck ConsistencyCheckSpec `json:"consistencyCheck,omitempty"`

	JobOptions `json:",inline"`
}

// BackupPhase is where a Backup is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;PartiallyFailed;Failed
type BackupPhase string

const (
	BackupPending         BackupPhase = "Pending"
	BackupRunning         BackupPhase = "Running"
	BackupSucceeded       BackupPhase = "Succeeded"
	BackupPartiallyFailed BackupPhase = "PartiallyFailed"
	BackupFailed          BackupPhase = "Failed"
)

// Finished tells whether a Backup in phase p has ended: its status is final.
func (p BackupPhase) Finished() bool {
	return p == BackupSucceeded || p == BackupPartiallyFailed || p == BackupFailed
}

// Placement records where a backup was read from and where it was stored.
type Placement struct {
	// sourceMember is the pod the backup was taken from.
	// +optional
	SourceMember string `json:"sourceMember,omitempty"`
	// sourceZone is that pod's node's zone.
	// +optional
	SourceZone string `json:"sourceZone,omitempty"`
	// clusterZones are the zones the cluster's servers ran in.
	// +optional
	ClusterZones []string `json:"clusterZones,omitempty"`
	// storageZone is the zone of the backup volume (or of a zonal bucket).
	// +optional
	StorageZone string `json:"storageZone,omitempty"`
	// bucket is the bucket the backup went to (s3://name, gs://name,
	// azb://account/container).
	// +optional
	Bucket string `json:"bucket,omitempty"`
	// region of that bucket, when the spec names it.
	// +optional
	Region string `json:"region,omitempty"`
	// crossZone is true when storageZone holds no server of the cluster, and
	// for a regional bucket, which spans zones.
	// +optional
	CrossZone bool `json:"crossZone,omitempty"`
	// node is the node the backup pod runs on, or ran on last: when the pod stops before it
	// finishes, the operator tells from it whether the node was lost.
	// +optional
	Node string `json:"node,omitempty"`
}

// StorageLocation is where a backup's artifacts are: a claim, or a bucket folder, and a path
// in it.
type StorageLocation struct {
	// claimName of the volume.
	// +optional
	ClaimName string `json:"claimName,omitempty"`
	// uri of the bucket (scheme://name); path holds the folder in it (objectStore.uri's prefix,
	// then storage.path), so that one folder is one location however a spec splits it.
	// +optional
	URI string `json:"uri,omitempty"`
	// endpoint of the S3-compatible store the bucket is in, when not AWS: the same names at
	// another endpoint are another location.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// path inside it.
	// +optional
	Path string `json:"path,omitempty"`
}

// InBucket tells whether the location is a bucket folder.
func (l StorageLocation) InBucket() bool { return l.URI != "" }

// String is the location as messages name it: claim/path, or the bucket folder's URI.
func (l StorageLocation) String() string {
	if l.InBucket() {
		return l.URI + "/" + l.Path
	}
	return l.ClaimName + "/" + l.Path
}

// StorageSpace is a backup volume's size and the space left on it.
type StorageSpace struct {
	// capacity of the volume.
	Capacity resource.Quantity `json:"capacity"`
	// available bytes a backup can still write.
	Available resource.Quantity `json:"available"`
}

// DatabaseResult is what happened to one database.
type DatabaseResult struct {
	// name of the database.
	Name string `json:"name"`
	// type taken: FULL or DIFF.
	// +optional
	Type BackupType `json:"type,omitempty"`
	// artifact is the file (5.x) or folder (4.4) written, relative to the
	// storage path.
	// +optional
	Artifact string `json:"artifact,omitempty"`
	// sizeBytes of the artifact.
	// +optional
	SizeBytes int64 `json:"sizeBytes,omitempty"`
	// lowestTx and highestTx are the transaction range the artifact covers.
	// +optional
	LowestTx int64 `json:"lowestTx,omitempty"`
	// +optional
	HighestTx int64 `json:"highestTx,omitempty"`
	// consistent is the consistency check's verdict; unset when it did not
	// run (see consistencyCheck).
	// +optional
	Consistent *bool `json:"consistent,omitempty"`
	// consistencyCheck says how the check went: Passed, Failed
	// (inconsistencies found; see consistencyReport), NotRun (it could not
	// run; error says why) or NotSupported (Neo4j does not check this
	// artifact: a DIFF, or from 2025.09 a full backup that is not recovered;
	// the chain's FULL carries the verdict). Unset when the check is disabled.
	// +optional
	ConsistencyCheck string `json:"consistencyCheck,omitempty"`
	// consistencyReport is where the report of a check that found
	// inconsistencies is kept, relative to the storage path
	// (.consistency/<backup>/<database>).
	// +optional
	ConsistencyReport string `json:"consistencyReport,omitempty"`
	// error says why this database failed, when it did.
	// +optional
	Error string `json:"error,omitempty"`
}

// BackupStatus is what the operator observed of a Backup.
type BackupStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// phase: Pending, Running, Succeeded, PartiallyFailed or Failed.
	// +optional
	Phase BackupPhase `json:"phase,omitempty"`
	// conditions: Ready summarises; the others explain.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// jobName of the Job that runs the backup.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// startTime is when the Job started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the backup finished, whatever its outcome.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// placement records source and storage zones.
	// +optional
	Placement *Placement `json:"placement,omitempty"`
	// storage is where the artifacts are.
	// +optional
	Storage *StorageLocation `json:"storage,omitempty"`
	// type summarises the databases' types: FULL, DIFF, or MIXED.
	// +optional
	Type string `json:"type,omitempty"`
	// size is the total size of the artifacts written, e.g. "1536Mi".
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// space is the backup volume's capacity and available bytes after this backup, as its
	// pod read them.
	// +optional
	Space *StorageSpace `json:"space,omitempty"`
	// databases has one entry per database backed up (globs expanded), as many as the pod's
	// report holds (about 20); manifest has them all.
	// +listType=map
	// +listMapKey=name
	// +optional
	Databases []DatabaseResult `json:"databases,omitempty"`
	// manifest is the backup pod's whole record of the run, kept on the volume beside the
	// artifacts.
	// +optional
	Manifest *BackupManifest `json:"manifest,omitempty"`
	// verification is the newest restore drill (a Restore of mode Verify)
	// that restored the chain ending at this Backup, and its verdict. The
	// chain's earlier Backups were restored with it.
	// +optional
	Verification *BackupVerification `json:"verification,omitempty"`
}

// BackupVerification is a drill's verdict on the chain that ends at a Backup.
type BackupVerification struct {
	// restore is the drill.
	Restore string `json:"restore"`
	// database it restored and checked.
	Database string `json:"database"`
	// consistent: the check found the restored database consistent.
	Consistent bool `json:"consistent"`
	// time is when the drill finished.
	Time metav1.Time `json:"time"`
}

// BackupManifest names the whole record of a backup run on its volume and sums it up. A pod's
// report to the operator holds 4 KiB, about 20 databases; a glob may match hundreds. What the
// report leaves out is still pruned, kept and restored: from the manifest, by the pods that
// read the volume.
type BackupManifest struct {
	// file is its name in the backup folder's .manifests folder; empty when the pod could not
	// write it (the databases unlisted are then known only to the pod's log).
	// +optional
	File string `json:"file,omitempty"`
	// digest is the SHA-256 of its bytes ("sha256:<hex>"); a manifest that does not match is
	// not used.
	// +optional
	Digest string `json:"digest,omitempty"`
	// databases counts the databases it records; full those backed up FULL.
	Databases int32 `json:"databases"`
	Full      int32 `json:"full"`
	// unlisted counts the databases it records that status.databases does not list.
	// +optional
	Unlisted int32 `json:"unlisted,omitempty"`
}

// Truncated tells whether m records databases status.databases leaves out.
func (m *BackupManifest) Truncated() bool { return m != nil && m.Unlisted > 0 }

// Backup is one backup run of a Neo4j cluster, taken by a Job from a read
// replica (or per source.policy) into a volume in another availability
// zone or a bucket.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=nbk,categories=neo4j-backup
// +kubebuilder:metadata:annotations={"helm.sh/resource-policy=keep","kustomize.toolkit.fluxcd.io/prune=disabled","argocd.argoproj.io/sync-options=Prune=false"}
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.status.type`
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.status.placement.sourceMember`
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.status.placement.storageZone`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Completed",type=date,JSONPath=`.status.completionTime`
// +kubebuilder:printcolumn:name="Verified",type=boolean,JSONPath=`.status.verification.consistent`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster.name`,priority=1
// +kubebuilder:printcolumn:name="Job",type=string,JSONPath=`.status.jobName`,priority=1
// +kubebuilder:printcolumn:name="Bucket",type=string,JSONPath=`.status.placement.bucket`,priority=1
type Backup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec cannot change after creation: create a new Backup instead.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: create a new Backup instead"
	Spec BackupSpec `json:"spec"`
	// status is what the operator observed of the Backup. Until the operator
	// writes it, the API server fills in observedGeneration 0, so kstatus
	// (as Flux computes health) reads a new object as InProgress, not Current.
	// +kubebuilder:default={observedGeneration: 0}
	// +optional
	Status BackupStatus `json:"status,omitempty"`
}

// BackupList is a list of Backups.
// +kubebuilder:object:root=true
type BackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Backup `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Backup{}, &BackupList{})
}
