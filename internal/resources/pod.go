package resources

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
)

// The pieces every pod the operator runs shares.

// podSecurityContext runs as the Neo4j images' user (uid/gid 7474), non-root, with the
// RuntimeDefault seccomp profile: the pod half of the restricted Pod Security Standard.
func podSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](neo4jUID),
		RunAsGroup:     ptr.To[int64](neo4jUID),
		FSGroup:        ptr.To[int64](neo4jUID),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// smallResources are the requests and limits of the operator's own small containers.
func smallResources() corev1.ResourceRequirements {
	mem := resource.MustParse("64Mi")
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: mem, corev1.ResourceCPU: resource.MustParse("10m")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
	}
}

// installAgent is the init container that copies the operator binary (the agent) from the
// operator image into the shared agent volume, so the Neo4j image runs it unchanged.
func installAgent(opts Options) corev1.Container {
	return corev1.Container{
		Name:                     ContainerInstallAgent,
		Image:                    opts.OperatorImage,
		ImagePullPolicy:          opts.OperatorImagePullPolicy,
		Command:                  []string{"/neo4j-backup-operator", "install-agent", agentPath},
		VolumeMounts:             []corev1.VolumeMount{{Name: "agent", MountPath: agentDir}},
		Resources:                smallResources(),
		SecurityContext:          restricted(true),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

func agentVolume() corev1.Volume {
	return corev1.Volume{Name: "agent", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("256Mi"))}}}
}

// failFast fails the Job at once on the container's exit codes that a retry cannot help, and
// does not count disruptions (eviction, preemption) against its retries.
func failFast(container string, codes ...int32) *batchv1.PodFailurePolicy {
	return &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{
			Action: batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To(container),
				Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
				Values:        codes,
			},
		},
		{
			Action:          batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
		},
	}}
}

// podLabels adds the user's pod labels to ours; ours win (the cache and the controllers select
// by them).
func podLabels(user, ours map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range user {
		out[k] = v
	}
	for k, v := range ours {
		out[k] = v
	}
	return out
}

// controllerRef makes the owner the Job's controller, so it is garbage-collected with it.
func controllerRef(kind string, owner metav1.Object) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         v1.GroupVersion.String(),
		Kind:               kind,
		Name:               owner.GetName(),
		UID:                owner.GetUID(),
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}

// heapEnv gives the JVM its heap: HEAP_SIZE only, never a flag (neo4j-admin rejects
// --heap-size).
func heapEnv(budget v1.MemoryBudget) []corev1.EnvVar {
	return []corev1.EnvVar{{Name: "HEAP_SIZE", Value: neo4j.Size(budget.Heap.Value())}}
}

// memoryResources are request = limit = the budget's limit, plus the CPU asked for.
func memoryResources(budget v1.MemoryBudget, cpu *resource.Quantity) corev1.ResourceRequirements {
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: budget.Limit},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: budget.Limit},
	}
	if cpu != nil {
		res.Requests[corev1.ResourceCPU] = *cpu
		res.Limits[corev1.ResourceCPU] = *cpu
	}
	return res
}
