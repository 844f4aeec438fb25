package install_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/graphkeeper/neo4j-backup-operator/internal/install"
	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
)

const ns = "neo4j-backup-system"

// current are the CRDs of this build, as install-crds embeds them.
func current(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	dir := filepath.Join("..", "..", "config", "crd", "bases")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	out, err := install.ParseCRDs(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("%d CRDs in %s, want 3", len(out), dir)
	}
	return out
}

// older is the previous release's CRDs as far as this test needs: BackupSchedule without
// spec.backupOwnerReference, the field this release added.
func older(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out := current(t)
	for _, c := range out {
		if c.Spec.Names.Kind == "BackupSchedule" {
			spec := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
			if _, ok := spec.Properties["backupOwnerReference"]; !ok {
				t.Fatal("the current BackupSchedule CRD has no spec.backupOwnerReference")
			}
			delete(spec.Properties, "backupOwnerReference")
			c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		}
	}
	return out
}

// hookRBAC renders a template of the chart's hooks and creates its ServiceAccount and RBAC (not
// its pod), so the test runs what the hook's pod runs with exactly the rights it gets; it returns
// the ServiceAccount's user name.
func hookRBAC(t *testing.T, ctx context.Context, admin client.Client, template string) string {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS must name the folder hack/build-k8s.sh prints: run the tests with make test")
	}
	cmd := exec.Command(filepath.Join(assets, "helm"), "template", "nbo", "../../charts/neo4j-backup-operator", "--namespace", ns,
		"--kube-version", "1.37.2", "--show-only", template)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	if err := admin.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": ns}}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	sa, objs, err := cluster.HookRBAC(string(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		if err := admin.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return "system:serviceaccount:" + ns + ":" + sa
}

// start runs an API server, with the CRDs in crdDirs installed.
func start(t *testing.T, crdDirs ...string) (*rest.Config, client.Client) {
	t.Helper()
	env := &envtest.Environment{CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	admin, err := client.New(cfg, client.Options{Scheme: install.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, admin
}

func as(t *testing.T, cfg *rest.Config, user string) client.Client {
	t.Helper()
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user}
	cl, err := client.New(c, client.Options{Scheme: install.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// scheduleKeeps creates a BackupSchedule with spec.backupOwnerReference and tells whether the
// API server kept the field (an unknown field is pruned, without an error).
func scheduleKeeps(t *testing.T, ctx context.Context, c client.Client, name string) bool {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "backup.graphkeeper.dev/v1alpha1", "kind": "BackupSchedule",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"schedule": "0 2 * * *", "backupOwnerReference": "Schedule", "template": map[string]any{
			"cluster":   map[string]any{"name": "graph", "neo4jVersion": "5.26", "serverSelector": map[string]any{"matchLabels": map[string]any{"app": "graph"}}},
			"image":     "neo4j:5.26.2-enterprise",
			"storage":   map[string]any{"persistentVolumeClaim": map[string]any{"template": map[string]any{"size": "10Gi"}}},
			"databases": []any{"neo4j"},
		}},
	}}
	if err := c.Create(ctx, u); err != nil {
		t.Fatalf("create BackupSchedule %s: %v", name, err)
	}
	got, _, _ := unstructured.NestedString(u.Object, "spec", "backupOwnerReference")
	return got == "Schedule"
}

// The upgrade the chart's hook performs, against a real API server, as the hook's ServiceAccount:
// the previous release's CRDs (as Helm's crds/ left them) drop the new field; after install-crds
// the field is served, what other tools wrote on the CRDs stays, and a second run changes nothing.
func TestApplyUpgradesTheCRDsAsTheHooksServiceAccount(t *testing.T) {
	ctx := context.Background()
	cfg, admin := start(t)
	hook := as(t, cfg, hookRBAC(t, ctx, admin, "templates/crd-upgrade.yaml"))

	if err := install.ApplyCRDs(ctx, as(t, cfg, "system:serviceaccount:"+ns+":default"), current(t), 5*time.Second); !apierrors.IsForbidden(err) {
		t.Fatalf("another ServiceAccount: want Forbidden, got %v", err)
	}

	// The first install: Helm's crds/, here the previous release's, with Helm's annotation.
	prev := older(t)
	for _, c := range prev {
		c.Annotations["meta.helm.sh/release-name"] = "nbo"
	}
	if err := install.ApplyCRDs(ctx, admin, prev, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if scheduleKeeps(t, ctx, admin, "before") {
		t.Fatal("the previous CRD kept spec.backupOwnerReference: the test does not show the upgrade")
	}

	if err := install.ApplyCRDs(ctx, hook, current(t), 30*time.Second); err != nil {
		t.Fatalf("install-crds as the hook's ServiceAccount: %v", err)
	}
	if !scheduleKeeps(t, ctx, admin, "after") {
		t.Error("after the upgrade, spec.backupOwnerReference is still pruned")
	}
	for _, w := range current(t) {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := admin.Get(ctx, client.ObjectKeyFromObject(w), got); err != nil {
			t.Fatal(err)
		}
		if got.Annotations["meta.helm.sh/release-name"] != "nbo" || got.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s: annotations %v: Helm's was dropped or the CRD's own not applied", w.Name, got.Annotations)
		}
	}
	before := resourceVersions(t, ctx, admin)
	if err := install.ApplyCRDs(ctx, hook, current(t), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if after := resourceVersions(t, ctx, admin); after != before {
		t.Errorf("a second run changed the CRDs: %s -> %s", before, after)
	}
}

func resourceVersions(t *testing.T, ctx context.Context, c client.Client) string {
	t.Helper()
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list.Items {
		out = append(out, c.Name+"@"+c.ResourceVersion)
	}
	return strings.Join(out, " ")
}

// A cluster whose objects are stored in a version this build does not serve (a newer operator's,
// then a downgrade): install-crds refuses, naming the version, and changes nothing.
func TestApplyRefusesToDropAStoredVersion(t *testing.T) {
	ctx := context.Background()
	_, admin := start(t)
	var restore *apiextensionsv1.CustomResourceDefinition
	for _, c := range current(t) {
		if c.Spec.Names.Kind == "Restore" {
			restore = c
		}
	}
	newer := restore.DeepCopy()
	newer.Spec.Versions[0].Name = "v1beta1"
	if err := install.ApplyCRDs(ctx, admin, []*apiextensionsv1.CustomResourceDefinition{newer}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	err := install.ApplyCRDs(ctx, admin, []*apiextensionsv1.CustomResourceDefinition{restore}, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "v1beta1") || !strings.Contains(err.Error(), "storedVersions") {
		t.Fatalf("want a refusal naming v1beta1, got %v", err)
	}
	got := &apiextensionsv1.CustomResourceDefinition{}
	if err := admin.Get(ctx, client.ObjectKeyFromObject(restore), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Versions[0].Name != "v1beta1" {
		t.Errorf("the refused CRD was changed: versions %v", got.Spec.Versions)
	}
}
