package install

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// Check is what `helm test` asks of an install: the operator's Deployment is available, and
// the API server admits a BackupSchedule and refuses a malformed one (the CRDs are served with
// their validation). The schedules are server-side dry runs in namespace: nothing is stored, and
// the operator never sees them.
func Check(ctx context.Context, c client.Client, namespace, deployment string) error {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: deployment}, d); err != nil {
		return fmt.Errorf("the operator's Deployment: %w", err)
	}
	if !available(d) {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		return fmt.Errorf("the operator's Deployment %s/%s is not available: %d of %d replicas", namespace, deployment, d.Status.AvailableReplicas, want)
	}
	good := checkSchedule(namespace)
	if err := c.Create(ctx, good, client.DryRunAll); err != nil {
		return fmt.Errorf("a valid BackupSchedule was not admitted (dry run): %w", err)
	}
	bad := checkSchedule(namespace)
	bad.Spec.Schedule = "every night"
	err := c.Create(ctx, bad, client.DryRunAll)
	if err == nil {
		return errors.New("a BackupSchedule with schedule \"every night\" was admitted (dry run): the CRDs are served without their validation")
	}
	if !apierrors.IsInvalid(err) {
		return fmt.Errorf("a malformed BackupSchedule (dry run): %w", err)
	}
	return nil
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == "True" && d.Status.AvailableReplicas > 0
		}
	}
	return false
}

// checkSchedule is a BackupSchedule as a user's first one might be.
func checkSchedule(namespace string) *v1.BackupSchedule {
	return &v1.BackupSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: "helm-test-dry-run", Namespace: namespace},
		Spec: v1.BackupScheduleSpec{
			Schedule: "0 2 * * *",
			Template: v1.BackupSpec{
				Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26",
					ServerSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}}},
				Databases:  []string{"neo4j"},
				JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise"},
				Storage: v1.StorageSpec{PersistentVolumeClaim: &v1.ClaimSource{
					Template: &v1.ClaimTemplate{Size: resource.MustParse("10Gi")},
				}},
			},
		},
	}
}
