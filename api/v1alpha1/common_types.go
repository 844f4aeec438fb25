package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterSpec tells the operator how to find a Neo4j cluster's servers and
// which syntax its tools speak. The operator only reads the server pods
// and their nodes; it never dials Neo4j.
type ClusterSpec struct {
	// name identifies the Neo4j cluster. It names the default storage path
	// (<namespace>/<name>), the claim created from a storage template, labels
	// and metrics. A DNS label: lowercase letters, digits and '-', at most 63
	// characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit"
	Name string `json:"name"`

	// neo4jVersion is the Neo4j version of the servers, which picks the
	// neo4j-admin syntax and the flags that exist: "4.4" (Causal Cluster, read
	// replicas), "5.1" to "5.26", or a calendar version such as "2025.10"
	// (secondaries). A patch may follow, e.g. "5.26.2".
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^(4[.]4|5[.]([1-9]|1[0-9]|2[0-6])|20[2-9][0-9][.](0[1-9]|1[0-2]))([.][0-9]+)?$')",message="must be a supported Neo4j version: 4.4, 5.1 to 5.26, or a calendar version such as 2025.10, optionally with a patch (5.26.2)"
	Neo4jVersion string `json:"neo4jVersion"`

	// serverSelector selects the pods of every server of the cluster
	// (primaries and read replicas or secondaries), in the namespace of this
	// object. Required for backups and for SeedFromURI restores; a Volume
	// restore to a new server may leave it out.
	// +optional
	ServerSelector *metav1.LabelSelector `json:"serverSelector,omitempty"`

	// readReplicaSelector selects, among the servers, the read replicas (4.4)
	// or secondaries (5.x, 2025.x) that backups prefer, so the primaries'
	// hosts never carry a backup's load.
	// +optional
	ReadReplicaSelector *metav1.LabelSelector `json:"readReplicaSelector,omitempty"`

	// backupPort is the servers' backup listen port
	// (dbms.backup.listen_address in 4.4, server.backup.listen_address in
	// 5.x). The servers must listen on a non-loopback address.
	// +kubebuilder:default=6362
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	BackupPort int32 `json:"backupPort,omitempty"`

	// boltPort is the servers' Bolt port, which a SeedFromURI restore's
	// cypher-shell connects to (neo4j://<server>:<boltPort>).
	// +kubebuilder:default=7687
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	BoltPort int32 `json:"boltPort,omitempty"`

	// bolt is how a SeedFromURI restore's cypher-shell reaches the servers'
	// Bolt port: plaintext (default) or TLS.
	// +optional
	Bolt *BoltSpec `json:"bolt,omitempty"`

	// tls names a Secret holding the backup SSL policy files when the backup
	// port requires TLS: a key pair and a trusted CA. It is mounted read-only
	// and passed to neo4j-admin through --additional-config; its contents
	// never appear in args.
	// +optional
	TLS *TLSSpec `json:"tls,omitempty"`
}

// BoltTLS is how cypher-shell encrypts its Bolt connection.
// +kubebuilder:validation:Enum=Disabled;Verified;SelfSigned
type BoltTLS string

const (
	// BoltTLSDisabled: neo4j:// (plaintext).
	BoltTLSDisabled BoltTLS = "Disabled"
	// BoltTLSVerified: neo4j+s:// (TLS; the server's certificate must chain
	// to a CA the Neo4j image's JVM trusts).
	BoltTLSVerified BoltTLS = "Verified"
	// BoltTLSSelfSigned: neo4j+ssc:// (TLS; any certificate is accepted).
	BoltTLSSelfSigned BoltTLS = "SelfSigned"
)

// BoltSpec is how the operator's Jobs connect to the servers' Bolt port.
type BoltSpec struct {
	// tls: Disabled (neo4j://, default), Verified (neo4j+s://: encrypted, the
	// server's certificate checked against the CAs the Neo4j image trusts) or
	// SelfSigned (neo4j+ssc://: encrypted, any certificate accepted). Set it
	// when the servers require TLS on Bolt
	// (server.bolt.tls_level: REQUIRED).
	// +kubebuilder:default=Disabled
	// +optional
	TLS BoltTLS `json:"tls,omitempty"`
}

// TLSSpec points at the Secret with the backup SSL policy
// (dbms.ssl.policy.backup.* in 4.4 and 5.x).
type TLSSpec struct {
	// secretName is a Secret in this namespace with the client key pair and
	// the CA that signed the servers' certificates: tls.key, tls.crt and
	// ca.crt (a kubernetes.io/tls or cert-manager Secret), or private.key,
	// public.crt and trusted-*.crt. A CA is required: the backup policy's
	// client_auth defaults to REQUIRE. PKCS #1 and EC keys are converted to
	// the PKCS #8 that Neo4j requires.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
}

// MemorySpec bounds the memory of the neo4j-admin JVM and its container.
// The seed's advice: an unbounded backup JVM sizes its heap from the host
// and may take the server's page cache, and the knowledge base names that
// as the cause of backup OOMs, so both are always set.
//
// Rule (checked at admission, and by the operator with the same
// arithmetic): heapSize + pageCache + overhead <= limit.
// +kubebuilder:validation:XValidation:rule="!has(self.limit) || !has(self.heapSize) || !has(self.pageCache) || !has(self.overhead) || ([self.heapSize, self.pageCache, self.overhead, self.limit].all(q, string(q).size() <= 32 && string(q).matches('^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$')) ? quantity(string(self.heapSize)).add(quantity(string(self.pageCache))).add(quantity(string(self.overhead))).compareTo(quantity(string(self.limit))) <= 0 : true)",messageExpression="'heapSize (' + string(self.heapSize) + ') + pageCache (' + string(self.pageCache) + ') + overhead (' + string(self.overhead) + ') must not exceed limit (' + string(self.limit) + '): raise limit or lower the others'",fieldPath=".limit"
type MemorySpec struct {
	// heapSize is the JVM heap, passed as the HEAP_SIZE environment variable
	// (never a flag: neo4j-admin rejects --heap-size). Example: "1Gi".
	// +kubebuilder:default="1Gi"
	// +kubebuilder:validation:XValidation:rule="string(self).size() <= 32 && string(self).matches('^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$') ? quantity(string(self)).isGreaterThan(quantity('0')) && quantity(string(self)).compareTo(quantity('1Pi')) <= 0 : false",message="must be greater than 0 and at most 1Pi, e.g. 1Gi (at most 32 characters; an exponent of at most two digits)"
	// +optional
	HeapSize *resource.Quantity `json:"heapSize,omitempty"`

	// pageCache is the page cache given to neo4j-admin with --pagecache.
	// Example: "512Mi".
	// +kubebuilder:default="512Mi"
	// +kubebuilder:validation:XValidation:rule="string(self).size() <= 32 && string(self).matches('^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$') ? quantity(string(self)).isGreaterThan(quantity('0')) && quantity(string(self)).compareTo(quantity('1Pi')) <= 0 : false",message="must be greater than 0 and at most 1Pi, e.g. 512Mi (at most 32 characters; an exponent of at most two digits)"
	// +optional
	PageCache *resource.Quantity `json:"pageCache,omitempty"`

	// overhead is headroom for the JVM's memory outside heap and page cache
	// (metaspace, threads, direct buffers) and for the agent. Default 512Mi.
	// +kubebuilder:default="512Mi"
	// +kubebuilder:validation:XValidation:rule="string(self).size() <= 32 && string(self).matches('^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$') ? quantity(string(self)).isGreaterThan(quantity('0')) && quantity(string(self)).compareTo(quantity('1Pi')) <= 0 : false",message="must be greater than 0 and at most 1Pi, e.g. 512Mi (at most 32 characters; an exponent of at most two digits)"
	// +optional
	Overhead *resource.Quantity `json:"overhead,omitempty"`

	// limit is the container's memory limit and request (equal, so a backup is
	// never the pod the kubelet evicts first). Default: heapSize + pageCache +
	// overhead.
	// +kubebuilder:validation:XValidation:rule="string(self).size() <= 32 && string(self).matches('^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$') ? quantity(string(self)).isGreaterThan(quantity('0')) && quantity(string(self)).compareTo(quantity('1Pi')) <= 0 : false",message="must be greater than 0 and at most 1Pi, e.g. 2Gi (at most 32 characters; an exponent of at most two digits)"
	// +optional
	Limit *resource.Quantity `json:"limit,omitempty"`
}

// PodMetadata is copied onto the pods the operator runs (e.g. to opt out
// of a service mesh).
type PodMetadata struct {
	// labels are added to the pod; the operator's own app.kubernetes.io/*
	// labels win.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// annotations are added to the pod.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ComputeResources sets what memory does not: the container's CPU.
type ComputeResources struct {
	// cpu is the container's CPU request and limit, e.g. "500m". Unset: no CPU
	// request or limit (the namespace's LimitRange applies, if any).
	// +kubebuilder:validation:XValidation:rule="string(self).size() <= 32 && string(self).matches('^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$') ? quantity(string(self)).isGreaterThan(quantity('0')) : false",message="must be greater than 0, e.g. 500m (at most 32 characters; an exponent of at most two digits)"
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
}

// JobOptions are the knobs of the pod that runs neo4j-admin, shared by
// Backup and Restore.
type JobOptions struct {
	// image is the Neo4j Enterprise image whose neo4j-admin (and cypher-shell)
	// the Job runs, of the same version as the cluster, e.g.
	// "neo4j:5.26.2-enterprise". The operator's agent is copied into it by an
	// init container; nothing else is added.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`

	// imagePullPolicy of the Neo4j container. Default: Kubernetes' default for
	// the tag.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// imagePullSecrets for the Neo4j image.
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// serviceAccountName the pod runs as. Default: the namespace's default
	// ServiceAccount. The pod needs no Kubernetes API access; its token is not
	// mounted.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// nodeSelector further restricts the nodes the pod may run on. The storage
	// zone is always required on top of it.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the pod.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// priorityClassName of the pod.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// memory bounds the neo4j-admin JVM and its container. Unbounded, the JVM
	// sizes its heap from the host and may take the server's page cache: the
	// known cause of backup OOMs. Rule, checked at admission:
	// heapSize + pageCache + overhead <= limit. Defaults: heapSize 1Gi,
	// pageCache 512Mi, overhead 512Mi, limit their sum (2Gi).
	// +kubebuilder:default={}
	// +optional
	Memory MemorySpec `json:"memory,omitempty"`

	// resources sets the container's CPU.
	// +optional
	Resources ComputeResources `json:"resources,omitempty"`

	// activeDeadlineSeconds bounds how long the Job may run, all retries
	// included; past it the Job fails with reason DeadlineExceeded. Default:
	// no bound.
	// +kubebuilder:validation:Minimum=1
	// +optional
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// backoffLimit is how many times a failed pod is retried. Each try walks
	// the whole list of candidate members. Exit codes that retrying cannot
	// help fail the Job at once. A SeedFromURI restore's seed Job is never
	// retried: a second CREATE DATABASE would find the first one's database.
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`

	// podMetadata adds labels and annotations to the pod.
	// +optional
	PodMetadata PodMetadata `json:"podMetadata,omitempty"`
}
