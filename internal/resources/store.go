package resources

import (
	"maps"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// Where a pod that reaches a bucket keeps what it needs.
const (
	// StagingMount is a bucket backup's scratch volume: neo4j-admin stages the store there before
	// streaming it to the bucket, and the check extracts the artifact there.
	StagingMount = "/staging"
	// awsDir is ~/.aws of the Neo4j images' user (home /var/lib/neo4j), where the manual has the
	// credentials and config files (partials/aws-s3-credentials.adoc); AWS_SHARED_CREDENTIALS_FILE
	// and AWS_CONFIG_FILE name them too, for the agent in the operator's image, whose home is
	// not there.
	awsDir = "/var/lib/neo4j/.aws"
	gcsDir = "/var/run/neo4j-backup/gcs"
	// Keys of a credentials Secret, in each provider's own format.
	awsCredentialsKey = "credentials"
	awsConfigKey      = "config"
	gcsKeyFileKey     = "credentials.json"
	// AzureWorkloadIdentityLabel is the pod label Microsoft Entra Workload ID's webhook looks for
	// before it injects the ServiceAccount's federated token and AZURE_* variables.
	AzureWorkloadIdentityLabel = "azure.workload.identity/use"
)

// azureSecretKeys are a service principal as Azure's EnvironmentCredential reads it: each is a
// key of the credentials Secret and the environment variable of the same name.
var azureSecretKeys = []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}

// storePod is how a pod reaches a storage location: the folder the agent is given, and the
// volumes, mounts and environment that make it reachable: the claim mounted, or the bucket's
// credentials and endpoint where the cloud SDKs look for them.
type storePod struct {
	dir     string
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	env     []corev1.EnvVar
	// labels go on the pod (not its Job): a workload identity's webhook selects pods by them.
	labels map[string]string
}

// podLabels are a pod template's labels: the user's, ours, and what reaching the store needs.
func (s storePod) podLabels(user, ours map[string]string) map[string]string {
	out := podLabels(user, ours)
	maps.Copy(out, s.labels)
	return out
}

// store is how a pod reaches loc: a claim, mounted (read-only for what only reads), or a bucket
// folder through access (a Backup's storage.objectStore, or a Restore's source): a location
// records no credentials.
func store(access *v1.ObjectStoreSpec, loc v1.StorageLocation, readOnly bool) storePod {
	if !loc.InBucket() {
		return storePod{
			dir: path.Join(BackupMount, loc.Path),
			volumes: []corev1.Volume{{Name: "backups", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: loc.ClaimName, ReadOnly: readOnly},
			}}},
			mounts: []corev1.VolumeMount{{Name: "backups", MountPath: BackupMount, ReadOnly: readOnly}},
		}
	}
	s := bucketAccess(access)
	s.dir = loc.URI + "/" + loc.Path
	return s
}

// bucketAccess is what the cloud SDK's default chain in the pod reads: neo4j-admin has no option
// for credentials, and the agent reads the same chain. For S3 and GCS the Secret's values reach
// the pod only as files, and the environment holds their paths, the region, the endpoint and the
// project. Azure's chain reads a service principal's secret only from the environment, so there
// the Secret's keys are variables that refer to it (secretKeyRef): the pod spec names the Secret,
// never a value.
func bucketAccess(o *v1.ObjectStoreSpec) storePod {
	var s storePod
	if o == nil {
		return s
	}
	env := func(name, value string) {
		if value != "" {
			s.env = append(s.env, corev1.EnvVar{Name: name, Value: value})
		}
	}
	secret := func(items ...corev1.VolumeProjection) {
		s.volumes = append(s.volumes, corev1.Volume{Name: "bucket-credentials", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: items, DefaultMode: ptr.To[int32](0o440)},
		}})
	}
	key := func(k string, optional bool) corev1.VolumeProjection {
		// Named keys, not the whole Secret: a Secret without the key a provider needs fails the
		// mount, which the pod's events name, instead of a backup that finds no credentials.
		return corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: o.Credentials.SecretName},
			Items:                []corev1.KeyToPath{{Key: k, Path: k}},
			Optional:             ptr.To(optional),
		}}
	}
	mount := func(dir string) {
		s.mounts = append(s.mounts, corev1.VolumeMount{Name: "bucket-credentials", MountPath: dir, ReadOnly: true})
	}
	switch {
	case strings.HasPrefix(o.URI, "azb://"):
		// "Authenticate the neo4j or neo4j-admin process against Azure using the default Azure
		// credentials" (5.26.2 partials/azb-credentials.adoc:7): DefaultAzureCredential, whose
		// first member reads a service principal from the environment, and whose second reads
		// what the workload identity webhook injects into a pod with its label.
		if o.Credentials.SecretName != "" {
			for _, k := range azureSecretKeys {
				s.env = append(s.env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: o.Credentials.SecretName}, Key: k,
				}}})
			}
		} else {
			s.labels = map[string]string{AzureWorkloadIdentityLabel: "true"}
		}
	case strings.HasPrefix(o.URI, "gs://"):
		// "Set the GOOGLE_APPLICATION_CREDENTIALS and GOOGLE_CLOUD_PROJECT environment variables
		// to the path of the JSON key file and the project ID" (5.x partials/gcs-credentials.adoc:5).
		env("GOOGLE_CLOUD_PROJECT", o.Project)
		if o.Credentials.SecretName != "" {
			secret(key(gcsKeyFileKey, false))
			mount(gcsDir)
			env("GOOGLE_APPLICATION_CREDENTIALS", path.Join(gcsDir, gcsKeyFileKey))
		}
	default:
		env("AWS_REGION", o.Region)
		// "the environments variables AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL" (5.x
		// partials/aws-s3-overrides.adoc:4).
		env("AWS_ENDPOINT_URL_S3", o.Endpoint)
		if o.Credentials.SecretName != "" {
			secret(key(awsCredentialsKey, false), key(awsConfigKey, true))
			mount(awsDir)
			env("AWS_SHARED_CREDENTIALS_FILE", path.Join(awsDir, awsCredentialsKey))
			env("AWS_CONFIG_FILE", path.Join(awsDir, awsConfigKey))
		}
	}
	return s
}

// stagingVolume is a bucket backup pod's scratch: an ephemeral volume, made with the pod and
// deleted with it, sized by objectStore.staging (neo4j-admin stages at least the database's size).
func stagingVolume(t v1.ClaimTemplate, lbls map[string]string) corev1.Volume {
	return corev1.Volume{Name: "staging", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
		VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			ObjectMeta: metav1.ObjectMeta{Labels: copyMap(lbls)},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: t.StorageClassName,
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: t.Size}},
			},
		},
	}}}
}
