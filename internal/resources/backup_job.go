package resources

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/topology"
)

// Paths inside the backup pod.
const (
	BackupMount = "/backups"
	agentDir    = "/var/run/neo4j-backup/agent"
	agentPath   = agentDir + "/neo4j-backup-operator"
	tlsDir      = "/var/run/neo4j-backup/tls"

	// ContainerBackup is the container that runs the agent and neo4j-admin.
	ContainerBackup = "backup"
	// ContainerInstallAgent copies the agent from the operator image.
	ContainerInstallAgent = "install-agent"

	// neo4jUID is the user of the official Neo4j images.
	neo4jUID = 7474
)

// Options are the operator's own settings that shape the pods.
type Options struct {
	// OperatorImage holds the agent (the operator binary); the init container copies it.
	OperatorImage string
	// OperatorImagePullPolicy for the init container.
	OperatorImagePullPolicy corev1.PullPolicy
}

// BackupPlan is what the controller decided for a Backup.
type BackupPlan struct {
	// Members to try, in order.
	Members []topology.Server
	// StorageZone the pod must run in (the backup volume's zone); a bucket's (a zonal one's) does
	// not bind the pod, which reaches the bucket from any zone.
	StorageZone string
	// Location of this cluster's backups: the claim or the bucket folder, and the path in it.
	Location v1.StorageLocation
	// Memory is the budget from MemorySpec.Budget.
	Memory v1.MemoryBudget
}

// DefaultPath is where a cluster's backups go in the volume or under the bucket folder's URI when
// spec.storage.path is unset.
func DefaultPath(b *v1.Backup) string {
	if b.Spec.Storage.Path != "" {
		return b.Spec.Storage.Path
	}
	return path.Join(b.Namespace, b.Spec.Cluster.Name)
}

// BucketLocation is the location of folder p under a bucket folder's URI, as locations record
// it: the bucket alone as URI, the prefix and p as Path, and the endpoint. So s3://b/x with
// path y, s3://b with path x/y and s3://b/x/ with y are one location, as they are one folder.
// An Azure container is azb://<account>/<container>: the two are its bucket.
func BucketLocation(o *v1.ObjectStoreSpec, p string) v1.StorageLocation {
	scheme, rest, _ := strings.Cut(o.URI, "://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if scheme == "azb" {
		container, folder, _ := strings.Cut(prefix, "/")
		bucket, prefix = bucket+"/"+container, folder
	}
	return v1.StorageLocation{URI: scheme + "://" + bucket, Path: path.Join(prefix, p), Endpoint: strings.TrimSuffix(o.Endpoint, "/")}
}

// Location is where b's spec says it writes: the bucket folder, or the claim it names or the
// cluster's template claim, and its path.
func Location(b *v1.Backup) v1.StorageLocation {
	if o := b.Spec.Storage.ObjectStore; o != nil {
		return BucketLocation(o, DefaultPath(b))
	}
	claim := ClaimName(b.Spec.Cluster.Name)
	if c := b.Spec.Storage.PersistentVolumeClaim; c != nil && c.ClaimName != "" {
		claim = c.ClaimName
	}
	return v1.StorageLocation{ClaimName: claim, Path: DefaultPath(b)}
}

// BackupJob builds the Job that takes backup b as planned: one pod in the storage zone, the
// claim mounted, memory request = limit = the budget, HEAP_SIZE and --pagecache set, restricted
// Pod Security, and the agent copied in by an init container from the operator image.
func BackupJob(b *v1.Backup, plan BackupPlan, opts Options) (*batchv1.Job, error) {
	version, err := neo4j.ParseVersion(b.Spec.Cluster.Neo4jVersion)
	if err != nil {
		return nil, err
	}
	name := ChildName(b.Name, RoleBackup)
	lbls := labels(RoleBackup, b.Name, b.Spec.Cluster.Name)
	lbls[LabelBackup] = LabelValue(b.Name)
	lbls[LabelLocation] = LocationLabel(plan.Location)

	store := store(b.Spec.Storage.ObjectStore, plan.Location, false)
	// Scratch on the backup volume, sized for backups: a 5.x consistency check recovers the
	// backup into it. The agent removes it when done.
	temp := path.Join(BackupMount, ".neo4j-backup-tmp", name)
	if plan.Location.InBucket() {
		// A bucket is no folder to stage in: the staging volume is.
		if b.Spec.Storage.ObjectStore == nil || b.Spec.Storage.ObjectStore.Staging == nil {
			return nil, errors.New("spec.storage.objectStore.staging is required for a backup to a bucket")
		}
		temp = path.Join(StagingMount, "tmp")
		store.volumes = append(store.volumes, stagingVolume(*b.Spec.Storage.ObjectStore.Staging, lbls))
		store.mounts = append(store.mounts, corev1.VolumeMount{Name: "staging", MountPath: StagingMount})
	}
	args := []string{"agent", "backup",
		"--neo4j-version=" + version.String(),
		"--type=" + string(b.Spec.Type),
		"--dir=" + store.dir,
		"--pagecache-bytes=" + strconv.FormatInt(plan.Memory.PageCache.Value(), 10),
		"--check=" + strconv.FormatBool(b.Spec.ConsistencyCheck.Enabled == nil || *b.Spec.ConsistencyCheck.Enabled),
		"--temp-dir=" + temp,
		// Names the folder beside the artifacts where an inconsistency report is kept.
		"--backup-name=" + b.Name,
	}
	port := b.Spec.Cluster.BackupPort
	if port == 0 {
		port = 6362
	}
	for _, m := range plan.Members {
		args = append(args, fmt.Sprintf("--member=%s/%s/%s:%d", m.Name, m.Zone, m.Host, port))
	}
	dbs := b.Spec.Databases
	if len(dbs) == 0 {
		dbs = []string{"neo4j"}
	}
	for _, d := range dbs {
		args = append(args, "--database="+d)
	}

	volumes := append(append([]corev1.Volume{agentVolume()}, store.volumes...),
		corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("1Gi"))}}})
	mounts := append(append([]corev1.VolumeMount{{Name: "agent", MountPath: agentDir, ReadOnly: true}}, store.mounts...),
		corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"})
	affinity := zoneAffinity(plan.StorageZone)
	if plan.Location.InBucket() {
		affinity = nil
	}
	if tls := b.Spec.Cluster.TLS; tls != nil {
		volumes = append(volumes, corev1.Volume{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: tls.SecretName, DefaultMode: ptr.To[int32](0o440),
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "tls", MountPath: tlsDir, ReadOnly: true})
		args = append(args, "--tls-dir="+tlsDir)
	}

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       b.Namespace,
			Labels:          lbls,
			OwnerReferences: []metav1.OwnerReference{controllerRef("Backup", b)},
		},
		Spec: batchv1.JobSpec{
			Parallelism:           ptr.To[int32](1),
			Completions:           ptr.To[int32](1),
			BackoffLimit:          ptr.To(ptr.Deref(b.Spec.BackoffLimit, 2)),
			ActiveDeadlineSeconds: b.Spec.ActiveDeadlineSeconds,
			// Exit 2: the agent's own arguments or environment are wrong; a retry cannot help.
			PodFailurePolicy: failFast(ContainerBackup, 2),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: store.podLabels(b.Spec.PodMetadata.Labels, lbls), Annotations: copyMap(b.Spec.PodMetadata.Annotations)},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            b.Spec.ServiceAccountName,
					AutomountServiceAccountToken:  ptr.To(false),
					EnableServiceLinks:            ptr.To(false),
					ImagePullSecrets:              b.Spec.ImagePullSecrets,
					NodeSelector:                  b.Spec.NodeSelector,
					Tolerations:                   b.Spec.Tolerations,
					PriorityClassName:             b.Spec.PriorityClassName,
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					Affinity:                      affinity,
					SecurityContext:               podSecurityContext(),
					InitContainers:                []corev1.Container{installAgent(opts)},
					Containers: []corev1.Container{{
						Name:            ContainerBackup,
						Image:           b.Spec.Image,
						ImagePullPolicy: b.Spec.ImagePullPolicy,
						Command:         []string{agentPath},
						Args:            args,
						Env:             append(heapEnv(plan.Memory), store.env...),
						Resources:       memoryResources(plan.Memory, b.Spec.Resources.CPU),
						VolumeMounts:    mounts,
						// neo4j-admin writes its own logs and lock files under NEO4J_HOME.
						SecurityContext:          restricted(false),
						TerminationMessagePath:   corev1.TerminationMessagePathDefault,
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	return job, nil
}

// restricted is the container security context of the restricted Pod Security Standard.
func restricted(readOnlyRoot bool) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		RunAsNonRoot:             ptr.To(true),
		ReadOnlyRootFilesystem:   ptr.To(readOnlyRoot),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func zoneAffinity(zone string) *corev1.Affinity {
	if zone == "" {
		return nil // unknown (storage no Backup describes): the scheduler follows the bound volume
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
			}}}},
		},
	}}
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// BackupClaim is the claim created from spec.storage.persistentVolumeClaim.template. It has no
// owner with deletionPolicy Retain: it outlives every Backup, so the chain it holds survives.
func BackupClaim(b *v1.Backup) *corev1.PersistentVolumeClaim {
	t := b.Spec.Storage.PersistentVolumeClaim.Template
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ClaimName(b.Spec.Cluster.Name),
			Namespace: b.Namespace,
			Labels:    unowned(labels("storage", b.Spec.Cluster.Name, b.Spec.Cluster.Name)),
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: t.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: t.Size}},
		},
	}
	return claim
}
