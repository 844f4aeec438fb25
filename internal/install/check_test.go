package install_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/install"
)

// helm test's check against a real API server with the CRDs, as the test pod's ServiceAccount
// with the Role helm renders: it passes on an available Deployment, stores nothing, and names
// what is wrong otherwise.
func TestCheckAsHelmTestsServiceAccount(t *testing.T) {
	ctx := context.Background()
	cfg, admin := start(t, filepath.Join("..", "..", "config", "crd", "bases"))
	tester := as(t, cfg, hookRBAC(t, ctx, admin, "templates/tests/check-install.yaml"))
	const deployment = "nbo-neo4j-backup-operator"

	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: deployment, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nbo"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nbo"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "operator", Image: "graphkeeper/neo4j-backup-operator:0.1.0"}}},
			},
		},
	}
	if err := admin.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	err := install.Check(ctx, tester, ns, deployment)
	if err == nil || !strings.Contains(err.Error(), "not available: 0 of 1 replicas") {
		t.Fatalf("a Deployment with no available replica: want it named, got %v", err)
	}

	// What the Deployment controller writes once its pod is ready (envtest runs no controllers).
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: d.Generation,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}}
	if err := admin.Status().Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := install.Check(ctx, tester, ns, deployment); err != nil {
		t.Fatalf("an available operator and served CRDs: %v", err)
	}
	list := &v1.BackupScheduleList{}
	if err := admin.List(ctx, list, client.InNamespace(ns)); err != nil || len(list.Items) != 0 {
		t.Errorf("the dry runs stored %d BackupSchedules (%v)", len(list.Items), err)
	}

	if err := install.Check(ctx, tester, ns, "another-deployment"); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("another Deployment than the chart's: want Forbidden (the Role names only its own), got %v", err)
	}
}
