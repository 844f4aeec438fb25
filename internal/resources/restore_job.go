package resources

import (
	"errors"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
)

// ContainerRestore runs the agent's restore.
const ContainerRestore = "restore"

// RestorePlan is what the Restore controller decided.
type RestorePlan struct {
	// Location of the backups: a claim (mounted read-only) or a bucket folder, and the path.
	Location v1.StorageLocation
	// Access reaches a bucket folder: the source Backup's storage.objectStore, or the
	// Restore's source.storage.objectStore. Nil for a claim.
	Access *v1.ObjectStoreSpec
	// Zone the backup volume is in; the pod must run there. "" for a bucket.
	Zone string
	// Chain is the artifacts to restore, FULL first; with ChainLength, the chain's two ends.
	Chain []string
	// ChainLength, when more than len(Chain), is the length of a chain too long to list: the
	// pod resolves it again between its ends, on the volume.
	ChainLength int
	// UntilTx / UntilTime from spec.restoreUntil.
	UntilTx   int64
	UntilTime *time.Time
	// ChainHighTx is the chain's last transaction: whether an UntilTx needs neo4j-admin's
	// (exclusive) --restore-until at all.
	ChainHighTx int64
	// Manifest (file@digest), for an inspection: the chain ends at the database's artifact in
	// this backup run's manifest (a Backup whose report left the database out).
	Manifest string
	Memory   v1.MemoryBudget
	// SeedFromBucket: a SeedFromURI restore's servers fetch the chain's last artifact from the
	// bucket themselves (CloudSeedProvider, which finds the chain ending there); no seed server.
	SeedFromBucket bool
}

// RestoreJob builds the Job of an offline restore: the backup claim read-only, the target
// claim (Volume) or the drill's scratch claim (Verify) as the server's /data, the agent running
// `neo4j-admin restore` / `database restore`, and for a drill the consistency check of the
// restored database. A Restore never modifies backup artifacts: their volume is mounted
// read-only.
func RestoreJob(r *v1.Restore, plan RestorePlan, opts Options) (*batchv1.Job, error) {
	version, err := neo4j.ParseVersion(r.Spec.Cluster.Neo4jVersion)
	if err != nil {
		return nil, err
	}
	target := r.Spec.TargetDatabase
	if target == "" {
		target = r.Spec.Database
	}
	src := store(plan.Access, plan.Location, true)
	temp := "/tmp/neo4j-restore"
	if plan.Location.InBucket() {
		// neo4j-admin downloads the chain from a bucket into --temp-path: the claim it
		// restores into is sized for the database; the pod's /tmp is the node's disk.
		temp = "/data/.neo4j-restore-tmp"
	}
	args := []string{"agent", "restore",
		"--neo4j-version=" + version.String(),
		"--dir=" + src.dir,
		"--database=" + target,
		"--data-dir=/data",
		"--temp-dir=" + temp,
		// Before 5.24 (no --temp-path) the chain is copied next to the database it becomes:
		// the target claim is sized for that, the read-only backup volume is not writable.
		"--stage-dir=/data",
	}
	for _, a := range plan.Chain {
		args = append(args, "--artifact="+a)
	}
	args = append(args, chainLengthArgs(plan)...)
	if plan.ChainLength > len(plan.Chain) {
		args = append(args, "--source-database="+r.Spec.Database)
	}
	args = append(args, untilArgs(plan)...)
	args = append(args, chainEndArgs(plan)...)
	data := ""
	switch {
	case r.Spec.Mode == v1.RestoreVerify:
		// A drill: the scratch claim is the Restore's own, so a retried pod replaces what an
		// earlier one restored; the check's page cache is the budget's.
		data = ScratchClaimName(r.Name)
		args = append(args, "--replace", "--check", "--check-page-cache-bytes="+strconv.FormatInt(plan.Memory.PageCache.Value(), 10))
	case r.Spec.Target == nil:
		return nil, errors.New("spec.target: mode Volume needs the claim to restore into")
	default:
		data = r.Spec.Target.ClaimName
		if r.Spec.ReplaceExisting {
			args = append(args, "--replace")
		}
	}
	return restoreSideJob(r, restorePod{
		name: ChildName(r.Name, RoleRestore), component: RoleRestore,
		backoffLimit: ptr.To(ptr.Deref(r.Spec.BackoffLimit, 2)),
		// Bad arguments (2), an existing target not to be replaced or a drill's inconsistent
		// database (3): final.
		podFailurePolicy: failFast(ContainerRestore, 2, 3),
		grace:            30,
		affinity:         zoneAffinity(plan.Zone),
		container: corev1.Container{
			Name:      ContainerRestore,
			Args:      args,
			Env:       append(heapEnv(plan.Memory), src.env...),
			Resources: memoryResources(plan.Memory, r.Spec.Resources.CPU),
			VolumeMounts: append(src.mounts,
				corev1.VolumeMount{Name: "data", MountPath: "/data"},
				corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"},
			),
		},
		volumes: append(src.volumes,
			corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: data}}},
			emptyDir("tmp"),
		),
		store: src,
	}, opts), nil
}

// ScratchClaimName names the claim a Verify drill restores into.
func ScratchClaimName(restore string) string { return ChildName(restore, RoleScratch) }

// ScratchClaim is a Verify drill's claim, from spec.scratch, owned by the Restore: whatever
// the operator leaves of it (a claim kept with an inconsistency report) goes with the Restore.
// It has no zone of its own: the drill's pod runs in the backup's zone, where a
// WaitForFirstConsumer class makes the volume.
func ScratchClaim(r *v1.Restore) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: ScratchClaimName(r.Name), Namespace: r.Namespace,
			Labels:          labels(RoleScratch, r.Name, r.Spec.Cluster.Name),
			OwnerReferences: []metav1.OwnerReference{controllerRef("Restore", r)},
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: r.Spec.Scratch.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: r.Spec.Scratch.Size}},
		},
	}
}

// ContainerInspect runs the agent's inspect.
const ContainerInspect = "inspect"

// InspectJobName names the Job that inspects a Restore's storage location.
func InspectJobName(restore string) string { return ChildName(restore, RoleInspect) }

// InspectJob builds the Job that resolves a Restore's chain in a storage location no Backup
// describes: the claim mounted read-only, neo4j-admin's --inspect-path, and the chain the
// restore needs in the termination message. No zone is set: the scheduler follows the claim's
// bound volume.
func InspectJob(r *v1.Restore, plan RestorePlan, opts Options) (*batchv1.Job, error) {
	version, err := neo4j.ParseVersion(r.Spec.Cluster.Neo4jVersion)
	if err != nil {
		return nil, err
	}
	src := store(plan.Access, plan.Location, true)
	args := []string{"agent", "inspect", "--neo4j-version=" + version.String(),
		"--dir=" + src.dir, "--database=" + r.Spec.Database}
	args = append(args, untilArgs(plan)...)
	if plan.Manifest != "" {
		args = append(args, "--manifest="+plan.Manifest)
	}
	return restoreSideJob(r, restorePod{
		name: InspectJobName(r.Name), component: RoleInspect,
		backoffLimit: ptr.To(ptr.Deref(r.Spec.BackoffLimit, 2)),
		// Bad arguments (2), or a chain that is not there (3): final.
		podFailurePolicy: failFast(ContainerInspect, 2, 3),
		grace:            30,
		container: corev1.Container{
			Name:         ContainerInspect,
			Args:         args,
			Env:          append(heapEnv(plan.Memory), src.env...),
			Resources:    memoryResources(plan.Memory, r.Spec.Resources.CPU),
			VolumeMounts: append(src.mounts, corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}),
		},
		volumes: append(src.volumes, emptyDir("tmp")),
		store:   src,
	}, opts), nil
}

// untilArgs are the agent's flags for spec.restoreUntil.
func untilArgs(plan RestorePlan) []string {
	switch {
	case plan.UntilTx > 0:
		return []string{"--until-tx=" + strconv.FormatInt(plan.UntilTx, 10)}
	case plan.UntilTime != nil:
		return []string{"--until-time=" + plan.UntilTime.UTC().Format(time.RFC3339)}
	}
	return nil
}

// chainEndArgs tell a restore where the chain ends, which a restore up to a transaction needs.
func chainEndArgs(plan RestorePlan) []string {
	if plan.UntilTx > 0 {
		return []string{"--chain-high-tx=" + strconv.FormatInt(plan.ChainHighTx, 10)}
	}
	return nil
}

// restorePod is what differs between the Jobs a Restore runs (restore, inspection, seed
// server, seed); restoreSideJob adds what they share.
type restorePod struct {
	name             string
	component        string
	backoffLimit     *int32
	podFailurePolicy *batchv1.PodFailurePolicy
	grace            int64
	affinity         *corev1.Affinity
	// container: name, args, env, resources, ports, probes, and its mounts besides the agent's.
	container corev1.Container
	// volumes besides the agent's.
	volumes []corev1.Volume
	// store is how the pod reaches the artifacts: its labels go on the pod.
	store storePod
}

// restoreSideJob builds a Job owned by the Restore with one agent container in the Neo4j image:
// the user's job options, the restricted pod and container security contexts, the agent's init
// container and volume, the report read from the termination message.
func restoreSideJob(r *v1.Restore, p restorePod, opts Options) *batchv1.Job {
	lbls := labels(p.component, r.Name, r.Spec.Cluster.Name)
	c := p.container
	c.Image, c.ImagePullPolicy = r.Spec.Image, r.Spec.ImagePullPolicy
	c.Command = []string{agentPath}
	c.VolumeMounts = append([]corev1.VolumeMount{{Name: "agent", MountPath: agentDir, ReadOnly: true}}, c.VolumeMounts...)
	c.SecurityContext = restricted(false)
	c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: p.name, Namespace: r.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{controllerRef("Restore", r)},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          p.backoffLimit,
			ActiveDeadlineSeconds: r.Spec.ActiveDeadlineSeconds,
			PodFailurePolicy:      p.podFailurePolicy,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: p.store.podLabels(r.Spec.PodMetadata.Labels, lbls), Annotations: copyMap(r.Spec.PodMetadata.Annotations)},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            r.Spec.ServiceAccountName,
					AutomountServiceAccountToken:  ptr.To(false),
					EnableServiceLinks:            ptr.To(false),
					ImagePullSecrets:              r.Spec.ImagePullSecrets,
					NodeSelector:                  r.Spec.NodeSelector,
					Tolerations:                   r.Spec.Tolerations,
					PriorityClassName:             r.Spec.PriorityClassName,
					TerminationGracePeriodSeconds: ptr.To(p.grace),
					Affinity:                      p.affinity,
					SecurityContext:               podSecurityContext(),
					InitContainers:                []corev1.Container{installAgent(opts)},
					Containers:                    []corev1.Container{c},
					Volumes:                       append([]corev1.Volume{agentVolume()}, p.volumes...),
				},
			},
		},
	}
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

// chainLengthArgs pass a chain too long to list as its length (beside its two ends).
func chainLengthArgs(plan RestorePlan) []string {
	if plan.ChainLength > len(plan.Chain) {
		return []string{"--chain-length=" + strconv.Itoa(plan.ChainLength)}
	}
	return nil
}
