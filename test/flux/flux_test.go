// Package flux checks the project's objects the way Flux's kustomize-controller sees them when it
// waits for them: BackupSchedules by the healthCheckExprs of config/flux/kustomization.yaml,
// evaluated by Flux's own CEL status evaluator (github.com/fluxcd/pkg/runtime/cel), and Backups
// and Restores by kstatus as Flux computes it (github.com/fluxcd/cli-utils, Flux's fork), on the
// objects captured from make demo that the Argo CD scripts are tested on. It is a module of its
// own so that Flux's dependencies do not move the operator's.
package flux

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const testdata = "../../config/argocd/backup.graphkeeper.dev"

func object(t *testing.T, kind, file string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, kind, "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	// As a client reads it from the API server: JSON numbers as int64.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

func healthChecks(t *testing.T) []kustomize.CustomHealthCheck {
	t.Helper()
	data, err := os.ReadFile("../../config/flux/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Spec struct {
			Wait             bool                          `json:"wait"`
			HealthCheckExprs []kustomize.CustomHealthCheck `json:"healthCheckExprs"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	if !k.Spec.Wait {
		t.Error("Flux evaluates health checks only with spec.wait (or spec.healthChecks)")
	}
	return k.Spec.HealthCheckExprs
}

// Expected by hand, from what each captured object is: the same verdicts the Argo CD script
// gives (Progressing, Healthy, Degraded) in kstatus' words.
func TestBackupScheduleHealthCheckExprs(t *testing.T) {
	checks := healthChecks(t)
	if len(checks) != 1 || checks[0].APIVersion != "backup.graphkeeper.dev/v1alpha1" || checks[0].Kind != "BackupSchedule" {
		t.Fatalf("want one check, for BackupSchedule: %+v", checks)
	}
	eval, err := cel.NewStatusEvaluator(&checks[0].HealthCheckExpressions)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]status.Status{
		"new.yaml":            status.InProgressStatus,
		"new-generation.yaml": status.InProgressStatus,
		"healthy.yaml":        status.CurrentStatus,
		"degraded.yaml":       status.FailedStatus,
		"suspended.yaml":      status.CurrentStatus,
	} {
		t.Run(file, func(t *testing.T) {
			got, err := eval.Evaluate(context.Background(), object(t, "BackupSchedule", file))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != want {
				t.Errorf("got %s, want %s", got.Status, want)
			}
		})
	}
}

func TestBackupsAndRestoresNeedNoExpressions(t *testing.T) {
	for _, c := range []struct {
		kind, file string
		want       status.Status
	}{
		{"Backup", "new.yaml", status.InProgressStatus},
		{"Backup", "pending.yaml", status.InProgressStatus},
		{"Backup", "running.yaml", status.InProgressStatus},
		{"Backup", "succeeded.yaml", status.CurrentStatus},
		{"Backup", "failed.yaml", status.FailedStatus},
		{"Restore", "new.yaml", status.InProgressStatus},
		{"Restore", "succeeded.yaml", status.CurrentStatus},
		{"Restore", "drill-succeeded.yaml", status.CurrentStatus},
		{"Restore", "failed.yaml", status.FailedStatus},
	} {
		t.Run(c.kind+"/"+c.file, func(t *testing.T) {
			got, err := status.Compute(object(t, c.kind, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.want {
				t.Errorf("got %s (%s), want %s", got.Status, got.Message, c.want)
			}
		})
	}
}
