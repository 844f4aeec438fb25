package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RestoreMode is how a restore reaches the cluster.
// +kubebuilder:validation:Enum=SeedFromURI;Volume;Verify
type RestoreMode string

const (
	// RestoreSeedFromURI restores online into a running 5.x / 2025.x cluster:
	// the operator serves the backup chain read-only from the backup zone (or
	// the servers fetch it from its bucket, see seedFrom) and a Job runs
	// CREATE DATABASE ... OPTIONS {seedURI: ...} with cypher-shell. Nothing
	// is stopped.
	RestoreSeedFromURI RestoreMode = "SeedFromURI"
	// RestoreVolume restores offline with neo4j-admin into a given claim, for
	// a new standalone server, and for 4.4.
	RestoreVolume RestoreMode = "Volume"
	// RestoreVerify is a restore drill: neo4j-admin restores the chain offline into a scratch
	// claim the operator creates in the backup's zone, checks the restored database's
	// consistency, records how long each took, and deletes the claim. It touches no server.
	RestoreVerify RestoreMode = "Verify"
)

// SeedFrom is where the servers of a SeedFromURI restore fetch the seed.
// +kubebuilder:validation:Enum=Auto;Bucket;SeedServer
type SeedFrom string

const (
	// SeedFromAuto seeds straight from the bucket when the backup is in one and the version's
	// defaults allow it (2025.01 and later, where CloudSeedProvider is the default seed provider
	// for s3://, gs:// and azb://), and from a seed server otherwise.
	SeedFromAuto SeedFrom = "Auto"
	// SeedFromBucket: every server fetches the chain from the bucket itself (CloudSeedProvider;
	// 5.26 and later), so every server needs read access to it. No seed server runs.
	SeedFromBucket SeedFrom = "Bucket"
	// SeedFromSeedServer: a pod of the operator's serves the seed over HTTP, fetched from the
	// volume or bucket with the backup's own access; the servers need no access to the bucket.
	SeedFromSeedServer SeedFrom = "SeedServer"
)

// RestoreSource is the backup to restore from: a Backup, or a place in
// storage.
// +kubebuilder:validation:XValidation:rule="has(self.backupName) != has(self.storage)",message="set exactly one of backupName (a Backup in this namespace) and storage (a claim or bucket, and a path)"
type RestoreSource struct {
	// backupName is a Backup in this namespace that Succeeded, or
	// PartiallyFailed with the database to restore backed up. Its chain (FULL
	// and the DIFFs up to it) is restored.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	BackupName string `json:"backupName,omitempty"`

	// storage is a claim or a bucket folder, and a path, holding backup
	// artifacts, e.g. of a Backup since deleted or of another cluster. The
	// newest chain that covers restoreUntil is restored.
	// +optional
	Storage *StorageLocationSpec `json:"storage,omitempty"`
}

// StorageLocationSpec is a place holding backup artifacts: a claim or a bucket folder, and a path.
// +kubebuilder:validation:XValidation:rule="has(self.claimName) != has(self.objectStore)",message="set exactly one of claimName (a volume) and objectStore (a bucket)"
// +kubebuilder:validation:XValidation:rule="!has(self.objectStore) || !has(self.objectStore.staging)",message="staging is for backups; a restore stages on the claim it restores into",fieldPath=".objectStore"
type StorageLocationSpec struct {
	// claimName of a PersistentVolumeClaim in this namespace. It is mounted
	// read-only.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClaimName string `json:"claimName,omitempty"`

	// objectStore is the bucket folder (uri, credentials, endpoint, region,
	// project; as a Backup's storage.objectStore) holding the artifacts under
	// path. The restore's pods read it from any zone (zone is not used);
	// nothing is written there.
	// +optional
	ObjectStore *ObjectStoreSpec `json:"objectStore,omitempty"`

	// path inside the volume, or under objectStore.uri, where the artifacts
	// are, e.g. "prod/graph".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_][-A-Za-z0-9_.]*(/[A-Za-z0-9_][-A-Za-z0-9_.]*)*$') && !self.split('/').exists(s, s == '..')",message="must be a relative path of letters, digits, '-', '_' and '.', without '..' segments, e.g. prod/graph"
	Path string `json:"path"`
}

// RestoreTarget is the claim an offline (Volume) restore writes into.
type RestoreTarget struct {
	// claimName of the PersistentVolumeClaim of the new server's data (mounted
	// at /data, as in the Neo4j image). The server using it must be stopped
	// while the restore runs.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClaimName string `json:"claimName"`
}

// CredentialsSecret names a Secret with a Neo4j user that may create
// databases.
type CredentialsSecret struct {
	// name of the Secret in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// usernameKey is the key holding the user name. Default "username".
	// +kubebuilder:default=username
	// +kubebuilder:validation:MaxLength=253
	// +optional
	UsernameKey string `json:"usernameKey,omitempty"`
	// passwordKey is the key holding the password. Default "password".
	// +kubebuilder:default=password
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PasswordKey string `json:"passwordKey,omitempty"`
}

// RestoreSpec restores one database from a backup. It cannot change after
// creation.
// +kubebuilder:validation:XValidation:rule="!has(self.restoreUntil) || !self.cluster.neo4jVersion.startsWith('4.')",message="restoreUntil needs Neo4j 5.x or later: 4.4 restores only whole backups",fieldPath=".restoreUntil"
// +kubebuilder:validation:XValidation:rule="self.mode != 'SeedFromURI' || !self.cluster.neo4jVersion.startsWith('4.')",message="mode SeedFromURI needs Neo4j 5.x or later; restore 4.4 with mode Volume",fieldPath=".mode"
// +kubebuilder:validation:XValidation:rule="self.mode != 'SeedFromURI' || has(self.cluster.serverSelector)",message="mode SeedFromURI needs cluster.serverSelector to find the servers the database must come online on",fieldPath=".cluster.serverSelector"
// +kubebuilder:validation:XValidation:rule="self.mode != 'SeedFromURI' || has(self.credentialsSecret)",message="mode SeedFromURI needs credentialsSecret: a Neo4j user allowed to CREATE DATABASE",fieldPath=".credentialsSecret"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Volume' || has(self.target)",message="mode Volume needs target.claimName: the claim to restore into",fieldPath=".target"
// +kubebuilder:validation:XValidation:rule="self.mode != 'SeedFromURI' || !has(self.target)",message="target is used only with mode Volume; SeedFromURI restores into the running cluster",fieldPath=".target"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Verify' || !has(self.target)",message="target is used only with mode Volume; a Verify drill restores into its own scratch claim",fieldPath=".target"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Verify' || has(self.scratch)",message="mode Verify needs scratch: the claim (storageClassName, size) the drill restores into and checks",fieldPath=".scratch"
// +kubebuilder:validation:XValidation:rule="self.mode == 'Verify' || !has(self.scratch)",message="scratch is used only with mode Verify",fieldPath=".scratch"
// +kubebuilder:validation:XValidation:rule="!has(self.source.storage) || !has(self.source.storage.objectStore) || self.cluster.neo4jVersion.matches('^(5[.]2[5-6]|20[2-9][0-9][.][0-9]+)([.][0-9]+)?$')",message="a restore from a bucket needs Neo4j 5.25 or later: the chain there is read with neo4j-admin backup inspect, which reads buckets from 5.25",fieldPath=".source.storage.objectStore"
// +kubebuilder:validation:XValidation:rule="!has(self.source.storage) || !has(self.source.storage.objectStore) || !has(self.source.storage.objectStore.credentials.workloadIdentity) || !self.source.storage.objectStore.credentials.workloadIdentity || has(self.serviceAccountName)",message="source.storage.objectStore.credentials.workloadIdentity needs serviceAccountName: the ServiceAccount the cloud identity is bound to",fieldPath=".serviceAccountName"
// +kubebuilder:validation:XValidation:rule="!has(self.seedFrom) || self.seedFrom == 'Auto' || self.mode == 'SeedFromURI'",message="seedFrom is used only with mode SeedFromURI",fieldPath=".seedFrom"
// +kubebuilder:validation:XValidation:rule="!has(self.seedFrom) || self.seedFrom != 'Bucket' || self.cluster.neo4jVersion.matches('^(5[.]26|20[2-9][0-9][.][0-9]+)([.][0-9]+)?$')",message="seedFrom: Bucket needs Neo4j 5.26 or later: CloudSeedProvider seeds from a backup chain from 5.26",fieldPath=".seedFrom"
// +kubebuilder:validation:XValidation:rule="!has(self.seedFrom) || self.seedFrom != 'Bucket' || !has(self.restoreUntil) || self.cluster.neo4jVersion.matches('^20[2-9][0-9][.][0-9]+([.][0-9]+)?$')",message="seedFrom: Bucket with restoreUntil needs Neo4j 2025.01 or later, whose seedRestoreUntil applies it; use seedFrom: SeedServer, which prepares the seed up to that point",fieldPath=".seedFrom"
// +kubebuilder:validation:XValidation:rule="!has(self.seedFrom) || self.seedFrom != 'Bucket' || !has(self.replaceExisting) || !self.replaceExisting",message="seedFrom: Bucket cannot be combined with replaceExisting: the existing database would be replaced before anything shows whether the servers can read the bucket; use seedFrom: SeedServer, or drop the database first",fieldPath=".seedFrom"
// +kubebuilder:validation:XValidation:rule="!has(self.seedFrom) || self.seedFrom != 'Bucket' || !has(self.source.storage) || has(self.source.storage.objectStore)",message="seedFrom: Bucket needs a source in a bucket (source.storage.objectStore or a Backup in one), not a claim",fieldPath=".seedFrom"
type RestoreSpec struct {
	// source is the backup to restore.
	Source RestoreSource `json:"source"`

	// database is the name of the database in the backup to restore.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z][-a-z0-9.]{1,61}[a-z0-9]$')",message="must be a Neo4j database name in lowercase (Neo4j stores names lowercased): 3 to 63 letters, digits, '.' or '-', starting with a letter and not ending with '.' or '-' (no globs)"
	Database string `json:"database"`

	// targetDatabase is the name to restore it as. Default: the same name.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z][-a-z0-9.]{1,61}[a-z0-9]$')",message="must be a Neo4j database name in lowercase (Neo4j stores names lowercased): 3 to 63 letters, digits, '.' or '-', starting with a letter and not ending with '.' or '-'"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('system')",message="names starting with 'system' are reserved by Neo4j; the system database cannot be restored over (restore it with neo4j-admin on a stopped server)"
	// +optional
	TargetDatabase string `json:"targetDatabase,omitempty"`

	// restoreUntil restores up to a point in time, an RFC 3339 time such as
	// "2026-11-28T02:00:00Z" (the transactions committed before it; Neo4j
	// takes whole seconds, so a fraction is cut and nothing after the moment
	// is restored), or up to and including a transaction id such as "123456"
	// (the operator asks neo4j-admin, whose bound is exclusive, for the one
	// after). Neo4j 5.x and later. With SeedFromURI through a seed server the
	// operator applies it while preparing the seed (neo4j-admin restore
	// --restore-until, then a dump), so it works on every 5.x version; seeded
	// straight from a bucket (seedFrom), the servers apply it
	// (seedRestoreUntil, 2025.01 and later).
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[1-9][0-9]{0,17}$') || (self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$') && timestamp(self) > timestamp('1970-01-01T00:00:00Z'))",message="must be an RFC 3339 time such as 2026-11-28T02:00:00Z or a transaction id (1 or more, no leading zero) such as 123456"
	// +optional
	RestoreUntil string `json:"restoreUntil,omitempty"`

	// cluster is the Neo4j cluster to restore into (SeedFromURI), or whose
	// version's tools to use (Volume).
	Cluster ClusterSpec `json:"cluster"`

	// mode: SeedFromURI (online, 5.x and later: CREATE DATABASE seeded from
	// the backup, served read-only by a seed server or fetched by the servers
	// from the bucket; see seedFrom), Volume (offline
	// neo4j-admin restore into target), or Verify (a drill: restore into a
	// scratch claim, check the database's consistency, discard).
	Mode RestoreMode `json:"mode"`

	// credentialsSecret is a Secret with a Neo4j user allowed to create
	// databases, for SeedFromURI. It is passed to cypher-shell as environment
	// from the Secret (the operator itself never reads it); it never appears
	// in args, logs, events or status.
	// +optional
	CredentialsSecret *CredentialsSecret `json:"credentialsSecret,omitempty"`

	// target is the claim a Volume restore writes into.
	// +optional
	Target *RestoreTarget `json:"target,omitempty"`

	// scratch is the claim a Verify drill restores into, created for the drill
	// as <restore>-scratch and owned by the Restore. Its pod runs in the
	// backup's zone, so use a class with volumeBindingMode
	// WaitForFirstConsumer. It is deleted once the drill has ended, except
	// when the check found inconsistencies: it then keeps the check's report
	// (status.verification.report) until the Restore is deleted. Size it for
	// the restored database, which is larger than its backup; from a bucket,
	// add the chain, which is downloaded there first.
	// +optional
	Scratch *ClaimTemplate `json:"scratch,omitempty"`

	// replaceExisting allows replacing an existing database of the target
	// name. Default false: an existing database is never touched and the
	// Restore fails with reason TargetExists.
	// +kubebuilder:default=false
	// +optional
	ReplaceExisting bool `json:"replaceExisting,omitempty"`

	// seedFrom is where a SeedFromURI restore's servers fetch the seed.
	// Auto (default): straight from the bucket when the backup is in one
	// and the version is 2025.01 or later (CloudSeedProvider is then Neo4j's
	// default seed provider), else from a seed server. Bucket: straight from
	// the bucket (5.26 and later; with restoreUntil, 2025.01 and later, which
	// applies it with seedRestoreUntil). Every server then needs read access
	// to the bucket, as the backup pods have it, and CloudSeedProvider in
	// dbms.databases.seed_from_uri_providers (on 5.26 the default list puts
	// S3SeedProvider first for s3://). Auto keeps the seed server with
	// replaceExisting (a replace drops the old database even when the seed
	// then fails to start), for an S3-compatible store (the seed URI cannot
	// carry its endpoint: with Bucket, the servers must be configured with it
	// themselves) and for Azure (the manual gives two forms of an azb:// seed
	// URI; Bucket sends azb://account/container/...); Bucket refuses
	// replaceExisting. SeedServer: a pod
	// of the operator's serves it over HTTP; the servers need no access to
	// the bucket.
	// +kubebuilder:default=Auto
	// +optional
	SeedFrom SeedFrom `json:"seedFrom,omitempty"`

	JobOptions `json:",inline"`
}

// RestorePhase is where a Restore is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type RestorePhase string

const (
	RestorePending   RestorePhase = "Pending"
	RestoreRunning   RestorePhase = "Running"
	RestoreSucceeded RestorePhase = "Succeeded"
	RestoreFailed    RestorePhase = "Failed"
)

// RestoreStatus is what the operator observed of a Restore.
type RestoreStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// phase: Pending, Running, Succeeded or Failed.
	// +optional
	Phase RestorePhase `json:"phase,omitempty"`
	// conditions: Ready summarises; the others explain.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// jobName of the Job that runs the restore.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// chain is the artifacts restored, FULL first.
	// +listType=atomic
	// +optional
	Chain []string `json:"chain,omitempty"`
	// chainLength is the chain's length when it is too long for its pods' report to list (more
	// than about 90 artifacts): chain then holds its FULL and its last artifact, and the
	// restore pod resolves the chain between them on the volume again, checking its length.
	// +optional
	ChainLength int32 `json:"chainLength,omitempty"`
	// restoredUntilTx is the last transaction restored.
	// +optional
	RestoredUntilTx int64 `json:"restoredUntilTx,omitempty"`
	// startTime is when the restore started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when it finished, whatever its outcome.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// node is the node the restore (or seed) pod runs on, or ran on last.
	// +optional
	Node string `json:"node,omitempty"`
	// seedURI is where the servers fetched the seed (SeedFromURI): a Service
	// the operator ran for the restore's duration and removed afterwards, or
	// the bucket URI of the chain's last artifact when they seeded straight
	// from the bucket.
	// +optional
	SeedURI string `json:"seedURI,omitempty"`
	// scratchClaim is the claim a Verify drill restores into; it is deleted
	// once the drill has ended (kept with its report when the check found
	// inconsistencies).
	// +optional
	ScratchClaim string `json:"scratchClaim,omitempty"`
	// verification is what a Verify drill measured and concluded.
	// +optional
	Verification *RestoreVerification `json:"verification,omitempty"`
}

// RestoreVerification is a drill's verdict on the chain it restored, and how long restoring and
// checking it took: the measured time to restore that chain.
type RestoreVerification struct {
	// consistent is true when neo4j-admin's consistency check found the
	// restored database consistent, false when it found inconsistencies.
	Consistent bool `json:"consistent"`
	// restoreDuration is how long neo4j-admin restore took (with the staging
	// copy of the chain the version needs).
	// +optional
	RestoreDuration *metav1.Duration `json:"restoreDuration,omitempty"`
	// checkDuration is how long the consistency check took.
	// +optional
	CheckDuration *metav1.Duration `json:"checkDuration,omitempty"`
	// report is the check's report of the inconsistencies it found:
	// "<scratch claim>:<path in it>". The claim is kept while it is named here.
	// +optional
	Report string `json:"report,omitempty"`
}

// Restore restores one database of a Neo4j backup, online into a running
// cluster (SeedFromURI) or offline into a volume (Volume), or proves it
// restores (Verify: a drill that restores into scratch, checks, discards).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=nrs,categories=neo4j-backup
// +kubebuilder:metadata:annotations={"helm.sh/resource-policy=keep","kustomize.toolkit.fluxcd.io/prune=disabled","argocd.argoproj.io/sync-options=Prune=false"}
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Database",type=string,JSONPath=`.spec.database`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.targetDatabase`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Backup",type=string,JSONPath=`.spec.source.backupName`
// +kubebuilder:printcolumn:name="Consistent",type=boolean,JSONPath=`.status.verification.consistent`
// +kubebuilder:printcolumn:name="Restored Until",type=integer,JSONPath=`.status.restoredUntilTx`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Until",type=string,JSONPath=`.spec.restoreUntil`,priority=1
type Restore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec cannot change after creation: create a new Restore instead.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: create a new Restore instead"
	Spec RestoreSpec `json:"spec"`
	// status is what the operator observed of the Restore. Until the operator
	// writes it, the API server fills in observedGeneration 0, so kstatus
	// (as Flux computes health) reads a new object as InProgress, not Current.
	// +kubebuilder:default={observedGeneration: 0}
	// +optional
	Status RestoreStatus `json:"status,omitempty"`
}

// RestoreList is a list of Restores.
// +kubebuilder:object:root=true
type RestoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Restore `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Restore{}, &RestoreList{})
}
