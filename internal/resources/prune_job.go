package resources

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
)

// ContainerPrune deletes artifacts.
const ContainerPrune = "prune"

// BackupNameAnnotation on a prune Job names the Backup it deletes the artifacts of (in full:
// label values are cut at 63 characters).
const BackupNameAnnotation = "backup.graphkeeper.dev/backup-name"

// BackupUIDAnnotation on a prune Job holds the UID of the Backup it prunes for: a Backup of the
// same name made since (a GitOps tool recreating it) is another Backup, and that Job's verdict
// is not its verdict.
const BackupUIDAnnotation = "backup.graphkeeper.dev/backup-uid"

// PruneJobTTL is how long a finished prune Job the controller did not delete is kept (seconds).
const PruneJobTTL = 24 * 60 * 60

// PruneJobName is the Job that deletes a Backup's artifacts.
func PruneJobName(backup string) string { return ChildName(backup, RolePrune) }

// IsPruneJobOf tells whether job is the prune Job PruneJob made for b: ours, of role prune, and
// naming b. The name alone is not enough: another Backup's Job may be called that.
func IsPruneJobOf(job *batchv1.Job, b *v1.Backup) bool {
	// One made before the UID was recorded is taken by its name, as it was then.
	uid, ok := job.Annotations[BackupUIDAnnotation]
	return IsPruneJobFor(job, b.Name) && (!ok || uid == string(b.UID))
}

// IsPruneJobFor tells whether job is a prune Job PruneJob made for a Backup named name, this one
// or an earlier one of the name.
func IsPruneJobFor(job *batchv1.Job, name string) bool {
	return job.Labels[LabelManagedBy] == ManagedBy && job.Labels[LabelComponent] == RolePrune &&
		job.Labels[LabelBackup] == LabelValue(name) && job.Annotations[BackupNameAnnotation] == name
}

// Prune is what a prune Job deletes: artifacts by name, and every artifact manifests list
// (then the manifests).
type Prune struct {
	Artifacts []string
	Manifests []Manifest
}

// Manifest is a backup run's manifest on the volume and the digest its Backup recorded.
type Manifest struct{ File, Digest string }

// Empty: nothing to delete.
func (p Prune) Empty() bool { return len(p.Artifacts) == 0 && len(p.Manifests) == 0 }

// String says what p deletes, for an event.
func (p Prune) String() string {
	s := status.Files("artifact", p.Artifacts)
	switch len(p.Manifests) {
	case 0:
		return s
	case 1:
		return s + " and the artifacts manifest " + p.Manifests[0].File + " lists"
	}
	return fmt.Sprintf("%s and the artifacts %d manifests list", s, len(p.Manifests))
}

// PruneJob deletes the artifacts of a Backup being deleted (storage.deletionPolicy Delete): the
// agent in the operator's own image, the backup claim mounted, in the storage zone. It has no
// owner reference: a foreground deletion of the Backup would otherwise take it down before it
// ran. The controller deletes it when done.
func PruneJob(b *v1.Backup, what Prune, opts Options) *batchv1.Job {
	lbls := unowned(labels(RolePrune, b.Name, b.Spec.Cluster.Name))
	lbls[LabelBackup] = LabelValue(b.Name)
	lbls[LabelLocation] = LocationLabel(*b.Status.Storage)
	store := store(b.Spec.Storage.ObjectStore, *b.Status.Storage, false)
	args := []string{"agent", "prune", "--dir=" + store.dir}
	for _, a := range what.Artifacts {
		args = append(args, "--artifact="+a)
	}
	for _, m := range what.Manifests {
		args = append(args, "--manifest="+m.File+"@"+m.Digest)
	}
	zone := ""
	if b.Status.Placement != nil && !b.Status.Storage.InBucket() {
		zone = b.Status.Placement.StorageZone // a bucket is reached from every zone
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: PruneJobName(b.Name), Namespace: b.Namespace, Labels: lbls,
			Annotations: map[string]string{BackupNameAnnotation: b.Name, BackupUIDAnnotation: string(b.UID)},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](2),
			ActiveDeadlineSeconds: ptr.To[int64](600),
			// It has no owner (see above): the controller deletes it once its verdict is
			// recorded, and a Job that delete missed goes a day after it ended.
			TTLSecondsAfterFinished: ptr.To[int32](PruneJobTTL),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: store.podLabels(nil, lbls), Annotations: copyMap(b.Spec.PodMetadata.Annotations)},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ImagePullSecrets:             b.Spec.ImagePullSecrets,
					ServiceAccountName:           b.Spec.ServiceAccountName,
					PriorityClassName:            b.Spec.PriorityClassName,
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					NodeSelector:                 b.Spec.NodeSelector,
					Tolerations:                  b.Spec.Tolerations,
					Affinity:                     zoneAffinity(zone),
					SecurityContext:              podSecurityContext(),
					Containers: []corev1.Container{{
						Name:            ContainerPrune,
						Image:           opts.OperatorImage,
						ImagePullPolicy: opts.OperatorImagePullPolicy,
						Command:         []string{"/neo4j-backup-operator"},
						Args:            args,
						Resources:       smallResources(),
						SecurityContext: restricted(true),
						VolumeMounts:    store.mounts,
						Env:             store.env,
					}},
					Volumes: store.volumes,
				},
			},
		},
	}
}
