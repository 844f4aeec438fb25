package resources

import (
	"path"
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
	// ClaimName and Path locate the backups (mounted read-only).
	ClaimName, Path string
	// Zone the backup volume is in; the pod must run there.
	Zone string
	// Chain is the artifacts to restore, FULL first.
	Chain []string
	// UntilTx / UntilTime from spec.restoreUntil.
	UntilTx   int64
	UntilTime *time.Time
	Memory    v1.MemoryBudget
}

// RestoreJob builds the Job of an offline (Volume) restore: the backup claim read-only, the
// target claim as the server's /data, the agent running `neo4j-admin restore` / `database
// restore`. A Restore never modifies backup artifacts: their volume is mounted read-only.
func RestoreJob(r *v1.Restore, plan RestorePlan, opts Options) (*batchv1.Job, error) {
	version, err := neo4j.ParseVersion(r.Spec.Cluster.Neo4jVersion)
	if err != nil {
		return nil, err
	}
	target := r.Spec.TargetDatabase
	if target == "" {
		target = r.Spec.Database
	}
	name := JobName(r.Name)
	lbls := labels("restore", r.Name, r.Spec.Cluster.Name)
	args := []string{"agent", "restore",
		"--neo4j-version=" + version.String(),
		"--dir=" + path.Join(BackupMount, plan.Path),
		"--database=" + target,
		"--data-dir=/data",
		"--temp-dir=/tmp/neo4j-restore",
	}
	for _, a := range plan.Chain {
		args = append(args, "--artifact="+a)
	}
	switch {
	case plan.UntilTx > 0:
		args = append(args, "--until-tx="+strconv.FormatInt(plan.UntilTx, 10))
	case plan.UntilTime != nil:
		args = append(args, "--until-time="+plan.UntilTime.UTC().Format(time.RFC3339))
	}
	if r.Spec.ReplaceExisting {
		args = append(args, "--replace")
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: r.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{controllerRef("Restore", r)},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(ptr.Deref(r.Spec.BackoffLimit, 2)),
			ActiveDeadlineSeconds: r.Spec.ActiveDeadlineSeconds,
			// Bad arguments (2) or an existing target not to be replaced (3): final.
			PodFailurePolicy: failFast(ContainerRestore, 2, 3),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels(r.Spec.PodMetadata.Labels, lbls), Annotations: copyMap(r.Spec.PodMetadata.Annotations)},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            r.Spec.ServiceAccountName,
					AutomountServiceAccountToken:  ptr.To(false),
					EnableServiceLinks:            ptr.To(false),
					ImagePullSecrets:              r.Spec.ImagePullSecrets,
					NodeSelector:                  r.Spec.NodeSelector,
					Tolerations:                   r.Spec.Tolerations,
					PriorityClassName:             r.Spec.PriorityClassName,
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					Affinity:                      zoneAffinity(plan.Zone),
					SecurityContext:               podSecurityContext(),
					InitContainers:                []corev1.Container{installAgent(opts)},
					Containers: []corev1.Container{{
						Name: ContainerRestore, Image: r.Spec.Image, ImagePullPolicy: r.Spec.ImagePullPolicy,
						Command:   []string{agentPath},
						Args:      args,
						Env:       []corev1.EnvVar{{Name: "HEAP_SIZE", Value: neo4j.Size(plan.Memory.Heap.Value())}},
						Resources: memoryResources(plan.Memory, r.Spec.Resources.CPU),
						VolumeMounts: []corev1.VolumeMount{
							{Name: "agent", MountPath: agentDir, ReadOnly: true},
							{Name: "backups", MountPath: BackupMount, ReadOnly: true},
							{Name: "data", MountPath: "/data"},
							{Name: "tmp", MountPath: "/tmp"},
						},
						SecurityContext:          restricted(false),
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					}},
					Volumes: []corev1.Volume{
						agentVolume(),
						{Name: "backups", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: plan.ClaimName, ReadOnly: true}}},
						{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: r.Spec.Target.ClaimName}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}, nil
}

// ContainerInspect runs the agent's inspect.
const ContainerInspect = "inspect"

// InspectJobName names the Job that inspects a Restore's storage location.
func InspectJobName(restore string) string { return JobName(restore + "-inspect") }

// InspectJob builds the Job that resolves a Restore's chain in a storage location no Backup
// describes: the claim mounted read-only, neo4j-admin's --inspect-path, and the chain the
// restore needs in the termination message. No zone is set: the scheduler follows the claim's
// bound volume.
func InspectJob(r *v1.Restore, plan RestorePlan, opts Options) (*batchv1.Job, error) {
	version, err := neo4j.ParseVersion(r.Spec.Cluster.Neo4jVersion)
	if err != nil {
		return nil, err
	}
	args := []string{"agent", "inspect", "--neo4j-version=" + version.String(),
		"--dir=" + path.Join(BackupMount, plan.Path), "--database=" + r.Spec.Database}
	switch {
	case plan.UntilTx > 0:
		args = append(args, "--until-tx="+strconv.FormatInt(plan.UntilTx, 10))
	case plan.UntilTime != nil:
		args = append(args, "--until-time="+plan.UntilTime.UTC().Format(time.RFC3339))
	}
	lbls := labels("inspect", r.Name, r.Spec.Cluster.Name)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: InspectJobName(r.Name), Namespace: r.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{controllerRef("Restore", r)},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(ptr.Deref(r.Spec.BackoffLimit, 2)),
			ActiveDeadlineSeconds: r.Spec.ActiveDeadlineSeconds,
			// Bad arguments (2), or a chain that is not there (3): final.
			PodFailurePolicy: failFast(ContainerInspect, 2, 3),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels(r.Spec.PodMetadata.Labels, lbls), Annotations: copyMap(r.Spec.PodMetadata.Annotations)},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            r.Spec.ServiceAccountName,
					AutomountServiceAccountToken:  ptr.To(false),
					EnableServiceLinks:            ptr.To(false),
					ImagePullSecrets:              r.Spec.ImagePullSecrets,
					NodeSelector:                  r.Spec.NodeSelector,
					Tolerations:                   r.Spec.Tolerations,
					PriorityClassName:             r.Spec.PriorityClassName,
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					SecurityContext:               podSecurityContext(),
					InitContainers:                []corev1.Container{installAgent(opts)},
					Containers: []corev1.Container{{
						Name: ContainerInspect, Image: r.Spec.Image, ImagePullPolicy: r.Spec.ImagePullPolicy,
						Command:   []string{agentPath},
						Args:      args,
						Env:       []corev1.EnvVar{{Name: "HEAP_SIZE", Value: neo4j.Size(plan.Memory.Heap.Value())}},
						Resources: memoryResources(plan.Memory, r.Spec.Resources.CPU),
						VolumeMounts: []corev1.VolumeMount{
							{Name: "agent", MountPath: agentDir, ReadOnly: true},
							{Name: "backups", MountPath: BackupMount, ReadOnly: true},
							{Name: "tmp", MountPath: "/tmp"},
						},
						SecurityContext:          restricted(false),
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					}},
					Volumes: []corev1.Volume{
						agentVolume(),
						{Name: "backups", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: plan.ClaimName, ReadOnly: true}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}, nil
}
