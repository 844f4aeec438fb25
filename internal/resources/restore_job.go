package resources

import (
	"path"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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
	podLabels := map[string]string{}
	for k, v := range r.Spec.PodMetadata.Labels {
		podLabels[k] = v
	}
	for k, v := range lbls {
		podLabels[k] = v
	}
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
	mem := plan.Memory.Limit
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: mem},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
	}
	if cpu := r.Spec.Resources.CPU; cpu != nil {
		res.Requests[corev1.ResourceCPU] = *cpu
		res.Limits[corev1.ResourceCPU] = *cpu
	}
	agentMem := resource.MustParse("64Mi")
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: r.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1.GroupVersion.String(), Kind: "Restore", Name: r.Name, UID: r.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(ptr.Deref(r.Spec.BackoffLimit, 2)),
			ActiveDeadlineSeconds: r.Spec.ActiveDeadlineSeconds,
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				// Bad arguments (2) or an existing target not to be replaced (3): final.
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr.To(ContainerRestore), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{2, 3},
				},
			}, {
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: copyMap(r.Spec.PodMetadata.Annotations)},
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
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](neo4jUID), RunAsGroup: ptr.To[int64](neo4jUID),
						FSGroup: ptr.To[int64](neo4jUID), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					InitContainers: []corev1.Container{{
						Name: ContainerInstallAgent, Image: opts.OperatorImage, ImagePullPolicy: opts.OperatorImagePullPolicy,
						Command:      []string{"/neo4j-backup-operator", "install-agent", agentPath},
						VolumeMounts: []corev1.VolumeMount{{Name: "agent", MountPath: agentDir}},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceMemory: agentMem, corev1.ResourceCPU: resource.MustParse("10m")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: agentMem},
						},
						SecurityContext: restricted(true),
					}},
					Containers: []corev1.Container{{
						Name: ContainerRestore, Image: r.Spec.Image, ImagePullPolicy: r.Spec.ImagePullPolicy,
						Command:   []string{agentPath},
						Args:      args,
						Env:       []corev1.EnvVar{{Name: "HEAP_SIZE", Value: neo4j.Size(plan.Memory.Heap.Value())}},
						Resources: res,
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
						{Name: "agent", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("256Mi"))}}},
						{Name: "backups", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: plan.ClaimName, ReadOnly: true}}},
						{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: r.Spec.Target.ClaimName}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}, nil
}
