// Package chart tests the Helm chart as helm renders it (helm v3, built with the control plane:
// KUBEBUILDER_ASSETS/helm), and the kustomize layout as the project's kubectl builds it. The
// install itself is proven on the cluster in a box by test/e2e.
package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const chart = "../../charts/neo4j-backup-operator"

func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		t.Fatal("KUBEBUILDER_ASSETS must name the folder hack/build-k8s.sh prints: run the tests with make test")
	}
	return filepath.Join(dir, name)
}

func run(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), errors.New(err.Error() + ": " + errb.String())
	}
	return out.String(), nil
}

// render runs helm template with the --set values and returns the objects.
func render(t *testing.T, set ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "nbo", chart, "--namespace", "neo4j-backup-system", "--kube-version", "1.37.2"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := run(t, tool(t, "helm"), args...)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

func decode(t *testing.T, out string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func convert[T any](t *testing.T, u *unstructured.Unstructured, into *T) *T {
	t.Helper()
	if u == nil {
		t.Fatalf("no %T rendered", into)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
	return into
}

// grants flattens rules into "group/resource:verb" strings.
func grants(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, g+"/"+res+":"+v)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func generatedRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile("../../config/rbac/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(data, role); err != nil {
		t.Fatal(err)
	}
	return role
}

func TestLint(t *testing.T) {
	if out, err := run(t, tool(t, "helm"), "lint", "--strict", chart); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

func TestDefaultsGrantExactlyTheGeneratedRules(t *testing.T) {
	objs := render(t)
	cluster := convert(t, find(objs, "ClusterRole", "nbo-neo4j-backup-operator-cluster"), &rbacv1.ClusterRole{})
	namespaced := convert(t, find(objs, "ClusterRole", "nbo-neo4j-backup-operator"), &rbacv1.ClusterRole{})
	election := convert(t, find(objs, "Role", "nbo-neo4j-backup-operator-leader-election"), &rbacv1.Role{})
	if find(objs, "ClusterRoleBinding", "nbo-neo4j-backup-operator") == nil || find(objs, "RoleBinding", "nbo-neo4j-backup-operator-leader-election") == nil {
		t.Fatal("bindings missing")
	}

	// Together, exactly what the controllers' markers ask for: nothing more, nothing less.
	all := map[string]bool{}
	for _, g := range append(append(grants(cluster.Rules), grants(namespaced.Rules)...), grants(election.Rules)...) {
		all[g] = true
	}
	want := grants(generatedRole(t).Rules)
	var got []string
	for g := range all {
		got = append(got, g)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("chart grants\n%s\nmarkers ask for\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
	for _, g := range grants(cluster.Rules) {
		if !regexp.MustCompile(`^/(nodes|persistentvolumes):(get|list|watch)$`).MatchString(g) {
			t.Errorf("cluster-wide rule beyond reading nodes and volumes: %s", g)
		}
	}
	for _, g := range grants(namespaced.Rules) {
		if strings.Contains(g, "leases") || strings.Contains(g, "nodes") {
			t.Errorf("namespaced rule %s belongs elsewhere", g)
		}
	}
	for _, g := range want {
		if strings.Contains(g, "secrets") {
			t.Errorf("the operator must not read Secrets: %s", g)
		}
	}
	for _, g := range grants(election.Rules) {
		if !strings.Contains(g, "leases") && !strings.Contains(g, "events") {
			t.Errorf("leader-election Role grants %s", g)
		}
	}

	d := convert(t, find(objs, "Deployment", "nbo-neo4j-backup-operator"), &appsv1.Deployment{})
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	for _, want := range []string{"--leader-elect=true", "--leader-election-namespace=neo4j-backup-system", "--metrics-bind-address=:8080",
		"--agent-image=graphkeeper/neo4j-backup-operator:0.1.0", "--start-timeout=10m", "--max-concurrent-reconciles=8"} {
		if !contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	if c.Image != "graphkeeper/neo4j-backup-operator:0.1.0" {
		t.Errorf("image %s", c.Image)
	}
	if pod.SecurityContext == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" ||
		*c.SecurityContext.AllowPrivilegeEscalation || !*c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.Capabilities.Drop[0] != "ALL" {
		t.Errorf("not restricted: %+v %+v", pod.SecurityContext, c.SecurityContext)
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil || c.Resources.Limits.Memory().IsZero() {
		t.Error("probes or memory limit missing")
	}
	if find(objs, "Service", "nbo-neo4j-backup-operator-metrics") == nil {
		t.Error("no metrics Service")
	}
	if find(objs, "ServiceMonitor", "nbo-neo4j-backup-operator") != nil || find(objs, "PrometheusRule", "nbo-neo4j-backup-operator") != nil {
		t.Error("monitoring objects rendered though disabled")
	}
}

func TestWatchNamespacesBindsPerNamespace(t *testing.T) {
	objs := render(t, "watchNamespaces={prod,staging}", "leaderElection.enabled=false")
	if find(objs, "ClusterRoleBinding", "nbo-neo4j-backup-operator") != nil {
		t.Error("the namespaced rules are bound cluster-wide despite watchNamespaces")
	}
	for _, ns := range []string{"prod", "staging"} {
		var rb *unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == "RoleBinding" && o.GetNamespace() == ns {
				rb = o
			}
		}
		if rb == nil {
			t.Errorf("no RoleBinding in %s", ns)
		}
	}
	if find(objs, "Role", "nbo-neo4j-backup-operator-leader-election") != nil {
		t.Error("leader-election Role rendered with leader election off")
	}
	d := convert(t, find(objs, "Deployment", "nbo-neo4j-backup-operator"), &appsv1.Deployment{})
	if !contains(d.Spec.Template.Spec.Containers[0].Args, "--watch-namespaces=prod,staging") {
		t.Errorf("args %q", d.Spec.Template.Spec.Containers[0].Args)
	}
}

// The monitoring objects as the chart renders them; test/prometheus parses and evaluates their
// queries, and checks their metrics against what the operator exports.
func TestMonitoringObjects(t *testing.T) {
	objs := render(t, "serviceMonitor.enabled=true", "prometheusRule.enabled=true", "prometheusRule.staleIntervals=3",
		"grafanaDashboard.enabled=true", "grafanaDashboard.namespace=monitoring", "grafanaDashboard.annotations.grafana_folder=Backups")
	if find(objs, "ServiceMonitor", "nbo-neo4j-backup-operator") == nil {
		t.Fatal("no ServiceMonitor")
	}
	alerts, exprs := alertRules(t, objs)
	if strings.Join(alerts, ",") != "Neo4jBackupStale,Neo4jBackupNeverSucceeded,Neo4jBackupFailed,Neo4jBackupRestorableWindowBehind,"+
		"Neo4jBackupStorageLow,Neo4jBackupUnverified,Neo4jRestoreFailed,Neo4jBackupOperatorDown,Neo4jBackupOperatorNotReconciling" {
		t.Errorf("alerts: %v", alerts)
	}
	for _, a := range []string{"Neo4jBackupStale", "Neo4jBackupRestorableWindowBehind"} {
		if !strings.Contains(exprs[a], "3 * neo4j_backup_schedule_interval_seconds") {
			t.Errorf("%s: staleIntervals not applied: %s", a, exprs[a])
		}
	}
	// The job a ServiceMonitor's targets get is the Service's name.
	if want := `up{job="nbo-neo4j-backup-operator-metrics", namespace="neo4j-backup-system"}`; !strings.Contains(exprs["Neo4jBackupOperatorDown"], want) {
		t.Errorf("Neo4jBackupOperatorDown: %s, want %s", exprs["Neo4jBackupOperatorDown"], want)
	}
	if find(objs, "Service", "nbo-neo4j-backup-operator-metrics") == nil {
		t.Error("the job the alerts name is not the metrics Service's name")
	}
	_, other := alertRules(t, render(t, "prometheusRule.enabled=true", "prometheusRule.operatorJob=operators"))
	for alert, expr := range other {
		if strings.HasPrefix(alert, "Neo4jBackupOperator") && (!strings.Contains(expr, `job="operators"`) || strings.Contains(expr, "-metrics")) {
			t.Errorf("%s ignores operatorJob: %s", alert, expr)
		}
	}

	cm := find(objs, "ConfigMap", "nbo-neo4j-backup-operator-dashboard")
	if cm == nil {
		t.Fatal("no dashboard ConfigMap")
	}
	if cm.GetNamespace() != "monitoring" || cm.GetLabels()["grafana_dashboard"] != "1" || cm.GetAnnotations()["grafana_folder"] != "Backups" {
		t.Errorf("the sidecar would not load it: namespace %q labels %v annotations %v", cm.GetNamespace(), cm.GetLabels(), cm.GetAnnotations())
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	var dash struct {
		UID    string           `json:"uid"`
		Panels []map[string]any `json:"panels"`
	}
	if err := json.Unmarshal([]byte(data["neo4j-backup.json"]), &dash); err != nil || dash.UID == "" || len(dash.Panels) < 10 {
		t.Errorf("dashboard: %v, uid %q, %d panels", err, dash.UID, len(dash.Panels))
	}
	if find(render(t), "ConfigMap", "nbo-neo4j-backup-operator-dashboard") != nil {
		t.Error("dashboard rendered though disabled")
	}
}

// alertRules are the alerts of the rendered PrometheusRule, in order, and their expressions.
func alertRules(t *testing.T, objs []*unstructured.Unstructured) (alerts []string, exprs map[string]string) {
	t.Helper()
	rule := find(objs, "PrometheusRule", "nbo-neo4j-backup-operator")
	if rule == nil {
		t.Fatal("no PrometheusRule")
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	exprs = map[string]string{}
	for _, r := range groups[0].(map[string]any)["rules"].([]any) {
		m := r.(map[string]any)
		alerts = append(alerts, m["alert"].(string))
		exprs[m["alert"].(string)] = m["expr"].(string)
	}
	return alerts, exprs
}

func TestSchemaRefusesMistakes(t *testing.T) {
	for set, says := range map[string]string{
		"leaderElecton.enabled=false":                       "leaderElecton",
		"image.pullPolicy=Sometimes":                        "pullPolicy",
		"replicas=-1":                                       "replicas",
		"watchNamespaces={Prod}":                            "watchNamespaces",
		"startTimeout=ten minutes":                          "startTimeout",
		"metrics.enabled=false,serviceMonitor.enabled=true": "serviceMonitor.enabled needs metrics.enabled",
	} {
		out, err := run(t, tool(t, "helm"), "template", "nbo", chart, "--kube-version", "1.37.2", "--set", set)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("--set %s: want an error naming %q, got %v\n%.300s", set, says, err, out)
		}
	}
}

func TestChartCRDsAreTheGeneratedOnes(t *testing.T) {
	for _, f := range []string{"backup.graphkeeper.dev_backups.yaml", "backup.graphkeeper.dev_backupschedules.yaml", "backup.graphkeeper.dev_restores.yaml"} {
		a, _ := os.ReadFile(filepath.Join("../../config/crd/bases", f))
		b, _ := os.ReadFile(filepath.Join(chart, "crds", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: the chart's copy differs from config/crd/bases (run make manifests)", f)
		}
	}
}

// The CRDs outlive whatever applied them: deleting one deletes every object of its kind, the
// Backups' records of what is in storage among them. Helm keeps a resource with
// helm.sh/resource-policy: keep, and so does Argo CD when it deletes an Application (argo-cd
// controller/appcontroller.go shouldBeDeleted); Argo CD's sync never prunes one with
// sync-options Prune=false (docs/user-guide/sync-options.md); Flux's kustomize-controller never
// prunes one with kustomize.toolkit.fluxcd.io/prune: disabled.
func TestCRDsAreKeptByHelmArgoCDAndFlux(t *testing.T) {
	for f, crd := range chartCRDs(t) {
		for k, v := range map[string]string{"helm.sh/resource-policy": "keep", "argocd.argoproj.io/sync-options": "Prune=false", "kustomize.toolkit.fluxcd.io/prune": "disabled"} {
			if got := crd.Annotations[k]; got != v {
				t.Errorf("%s: annotation %s is %q, want %q", f, k, got, v)
			}
		}
	}
}

// chartCRDs are the metadata of the CRDs in the chart's crds/, by file name.
func chartCRDs(t *testing.T) map[string]metav1.ObjectMeta {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chart, "crds", "*.yaml"))
	if err != nil || len(files) != 3 {
		t.Fatalf("crds/: %v %v", files, err)
	}
	out := map[string]metav1.ObjectMeta{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = crd.Metadata
	}
	return out
}

func TestKustomizeDefault(t *testing.T) {
	out, err := run(t, tool(t, "kubectl"), "kustomize", "../../config/default")
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, out)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		if o.GetKind() != "CustomResourceDefinition" && o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" &&
			o.GetKind() != "Namespace" && o.GetNamespace() != "neo4j-backup-system" {
			t.Errorf("%s %s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	for kind, n := range map[string]int{"CustomResourceDefinition": 3, "Namespace": 1, "ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "Deployment": 1, "Service": 1} {
		if kinds[kind] != n {
			t.Errorf("%d %s, want %d (%v)", kinds[kind], kind, n, kinds)
		}
	}
	d := convert(t, find(objs, "Deployment", "neo4j-backup-operator"), &appsv1.Deployment{})
	if d.Spec.Template.Spec.ServiceAccountName != "neo4j-backup-operator" || d.Spec.Template.Spec.Containers[0].Image != "graphkeeper/neo4j-backup-operator:0.1.0" {
		t.Errorf("deployment: sa %s image %s", d.Spec.Template.Spec.ServiceAccountName, d.Spec.Template.Spec.Containers[0].Image)
	}
}

func TestImageMatchesTheAgentInstaller(t *testing.T) {
	// The backup pods' init container runs /neo4j-backup-operator from the operator image.
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^COPY --from=build \S+ /neo4j-backup-operator$`).Match(data) ||
		!regexp.MustCompile(`(?m)^USER 65532:65532$`).Match(data) {
		t.Errorf("the Dockerfile no longer puts the binary at /neo4j-backup-operator as a non-root user")
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Helm hands an umbrella chart's global values to every subchart (helm's chartutil coalesces
// "global" into each), so a schema that closes its root without it refuses every umbrella
// install.
func TestInstallsAsASubchart(t *testing.T) {
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "Chart.yaml"), []byte("apiVersion: v2\nname: platform\nversion: 1.0.0\n"+
		"dependencies:\n- name: neo4j-backup-operator\n  version: 0.1.0\n  condition: neo4j-backup-operator.enabled\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(parent, "charts", "neo4j-backup-operator"), os.DirFS(chart)); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, tool(t, "helm"), "template", "platform", parent, "--namespace", "neo4j-backup-system", "--kube-version", "1.37.2",
		"--set", "global.imageRegistry=mirror.example", "--set", "neo4j-backup-operator.enabled=true", "--set", "neo4j-backup-operator.replicas=2")
	if err != nil {
		t.Fatalf("as a subchart: %v", err)
	}
	d := convert(t, find(decode(t, out), "Deployment", "platform-neo4j-backup-operator"), &appsv1.Deployment{})
	if *d.Spec.Replicas != 2 {
		t.Errorf("the parent's value for the subchart was not applied: replicas %d", *d.Spec.Replicas)
	}
}

// The roles people and pipelines are given. Expected by hand: view reads, edit changes Backups
// and BackupSchedules, and only restore (admin) makes Restores, which can replace a database.
func TestUserRolesAggregateIntoViewEditAndAdmin(t *testing.T) {
	want := map[string]struct {
		grants    []string
		aggregate []string
	}{
		"nbo-neo4j-backup-operator-view": {[]string{
			"backup.graphkeeper.dev/backups:get", "backup.graphkeeper.dev/backups:list", "backup.graphkeeper.dev/backups:watch",
			"backup.graphkeeper.dev/backupschedules:get", "backup.graphkeeper.dev/backupschedules:list", "backup.graphkeeper.dev/backupschedules:watch",
			"backup.graphkeeper.dev/restores:get", "backup.graphkeeper.dev/restores:list", "backup.graphkeeper.dev/restores:watch",
		}, []string{"admin", "edit", "view"}},
		"nbo-neo4j-backup-operator-edit": {[]string{
			"backup.graphkeeper.dev/backups:create", "backup.graphkeeper.dev/backups:delete", "backup.graphkeeper.dev/backups:deletecollection",
			"backup.graphkeeper.dev/backups:get", "backup.graphkeeper.dev/backups:list", "backup.graphkeeper.dev/backups:patch",
			"backup.graphkeeper.dev/backups:update", "backup.graphkeeper.dev/backups:watch",
			"backup.graphkeeper.dev/backupschedules:create", "backup.graphkeeper.dev/backupschedules:delete", "backup.graphkeeper.dev/backupschedules:deletecollection",
			"backup.graphkeeper.dev/backupschedules:get", "backup.graphkeeper.dev/backupschedules:list", "backup.graphkeeper.dev/backupschedules:patch",
			"backup.graphkeeper.dev/backupschedules:update", "backup.graphkeeper.dev/backupschedules:watch",
		}, []string{"admin", "edit"}},
		"nbo-neo4j-backup-operator-restore": {[]string{
			"backup.graphkeeper.dev/restores:create", "backup.graphkeeper.dev/restores:delete", "backup.graphkeeper.dev/restores:deletecollection",
			"backup.graphkeeper.dev/restores:get", "backup.graphkeeper.dev/restores:list", "backup.graphkeeper.dev/restores:patch",
			"backup.graphkeeper.dev/restores:update", "backup.graphkeeper.dev/restores:watch",
		}, []string{"admin"}},
	}
	aggregated := func(r *rbacv1.ClusterRole) []string {
		var out []string
		for k, v := range r.Labels {
			if to, ok := strings.CutPrefix(k, "rbac.authorization.k8s.io/aggregate-to-"); ok && v == "true" {
				out = append(out, to)
			}
		}
		sort.Strings(out)
		return out
	}
	on, off := render(t), render(t, "rbac.aggregateToDefaultRoles=false")
	for name, w := range want {
		r := convert(t, find(on, "ClusterRole", name), &rbacv1.ClusterRole{})
		if got := grants(r.Rules); strings.Join(got, " ") != strings.Join(w.grants, " ") {
			t.Errorf("%s grants\n%s\nwant\n%s", name, strings.Join(got, " "), strings.Join(w.grants, " "))
		}
		if got := aggregated(r); strings.Join(got, " ") != strings.Join(w.aggregate, " ") {
			t.Errorf("%s aggregates to %v, want %v", name, got, w.aggregate)
		}
		if got := aggregated(convert(t, find(off, "ClusterRole", name), &rbacv1.ClusterRole{})); len(got) != 0 {
			t.Errorf("%s aggregates to %v with rbac.aggregateToDefaultRoles=false", name, got)
		}
	}
}

// Artifact Hub reads the CRDs and their examples from Chart.yaml's annotations, as YAML in a
// string (artifacthub.io/crds: kind, version, name, displayName, description).
func TestChartYAMLNamesItsHomeAndCRDsForArtifactHub(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Home        string            `json:"home"`
		Sources     []string          `json:"sources"`
		Maintainers []map[string]any  `json:"maintainers"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if c.Home == "" || len(c.Sources) == 0 || len(c.Maintainers) == 0 {
		t.Errorf("home %q, sources %v, maintainers %v", c.Home, c.Sources, c.Maintainers)
	}
	var crds []map[string]string
	if err := yaml.UnmarshalStrict([]byte(c.Annotations["artifacthub.io/crds"]), &crds); err != nil {
		t.Fatalf("artifacthub.io/crds: %v", err)
	}
	var kinds []string
	for _, e := range crds {
		for _, k := range []string{"kind", "version", "name", "displayName", "description"} {
			if e[k] == "" {
				t.Errorf("artifacthub.io/crds entry %v has no %s", e, k)
			}
		}
		kinds = append(kinds, e["name"])
	}
	if got := strings.Join(kinds, " "); got != "backups.backup.graphkeeper.dev backupschedules.backup.graphkeeper.dev restores.backup.graphkeeper.dev" {
		t.Errorf("artifacthub.io/crds names %s", got)
	}
	var examples []map[string]any
	if err := yaml.UnmarshalStrict([]byte(c.Annotations["artifacthub.io/crdsExamples"]), &examples); err != nil || len(examples) != 3 {
		t.Errorf("artifacthub.io/crdsExamples: %d examples, %v", len(examples), err)
	}
}

// The pre-upgrade hook that upgrades the CRDs: a hook (so it runs before the upgrade's other
// objects and is gone after), restricted, rights on the project's CRDs only, and named after
// the CRDs the chart ships.
func TestCRDUpgradeHook(t *testing.T) {
	objs := render(t)
	job := convert(t, find(objs, "Job", "nbo-neo4j-backup-operator-crds"), &batchv1.Job{})
	if job.Annotations["helm.sh/hook"] != "pre-upgrade" || job.Annotations["helm.sh/hook-delete-policy"] != "before-hook-creation,hook-succeeded" {
		t.Errorf("Job annotations %v", job.Annotations)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != "graphkeeper/neo4j-backup-operator:0.1.0" || len(c.Args) == 0 || c.Args[0] != "install-crds" {
		t.Errorf("container %s %q", c.Image, c.Args)
	}
	if pod.SecurityContext == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" ||
		*c.SecurityContext.AllowPrivilegeEscalation || !*c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.Capabilities.Drop[0] != "ALL" {
		t.Errorf("not restricted: %+v %+v", pod.SecurityContext, c.SecurityContext)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Error("no memory limit")
	}
	selectsHookPods(t, objs, job.Spec.Template.Labels)
	role := convert(t, find(objs, "ClusterRole", "nbo-neo4j-backup-operator-crds"), &rbacv1.ClusterRole{})
	var names []string
	for _, crd := range chartCRDs(t) {
		names = append(names, crd.Name)
	}
	sort.Strings(names)
	for _, r := range role.Rules {
		if strings.Join(r.APIGroups, ",") != "apiextensions.k8s.io" || strings.Join(r.Resources, ",") != "customresourcedefinitions" {
			t.Errorf("rule beyond CRDs: %+v", r)
		}
		if !contains(r.Verbs, "create") && strings.Join(r.ResourceNames, " ") != strings.Join(names, " ") {
			t.Errorf("rule %v is not limited to the chart's CRDs %v", r, names)
		}
		if contains(r.Verbs, "delete") {
			t.Errorf("the hook may delete CRDs: %+v", r)
		}
	}
	// Its RBAC exists before the Job runs: hooks of a lower weight (helm runs hooks by weight and
	// deletes hook-succeeded ones after all hooks of the event).
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding"} {
		o := find(objs, kind, "nbo-neo4j-backup-operator-crds")
		if o == nil || o.GetAnnotations()["helm.sh/hook"] != "pre-upgrade" || o.GetAnnotations()["helm.sh/hook-weight"] != "-10" {
			t.Errorf("%s is not a pre-upgrade hook of weight -10: %v", kind, o)
		}
	}
	if job.Annotations["helm.sh/hook-weight"] != "-5" {
		t.Errorf("the Job's weight %q, want -5 (after its RBAC)", job.Annotations["helm.sh/hook-weight"])
	}
	// The longest release name helm takes (53): the full name is cut at 63, and so must the Job's be.
	out, err := run(t, tool(t, "helm"), "template", strings.Repeat("n", 53), chart, "--namespace", "neo4j-backup-system", "--kube-version", "1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range decode(t, out) {
		if o.GetKind() == "Job" && len(o.GetName()) > 63 {
			t.Errorf("Job name %s is longer than a label value", o.GetName())
		}
	}
	if find(render(t, "crds.upgrade=false"), "Job", "nbo-neo4j-backup-operator-crds") != nil {
		t.Error("crds.upgrade=false still renders the hook Job")
	}
}

// helm test's pod: a test hook of the operator's image, restricted, reading only the chart's own
// Deployment and creating (dry-run) BackupSchedules in the release namespace.
func TestHelmTestHook(t *testing.T) {
	objs := render(t)
	pod := convert(t, find(objs, "Pod", "nbo-neo4j-backup-operator-test"), &corev1.Pod{})
	if pod.Annotations["helm.sh/hook"] != "test" || pod.Namespace != "neo4j-backup-system" {
		t.Errorf("pod %s/%s annotations %v", pod.Namespace, pod.Name, pod.Annotations)
	}
	c := pod.Spec.Containers[0]
	if strings.Join(c.Args, " ") != "check-install --namespace=neo4j-backup-system --deployment=nbo-neo4j-backup-operator" {
		t.Errorf("args %q", c.Args)
	}
	if find(objs, "Deployment", "nbo-neo4j-backup-operator") == nil {
		t.Error("the Deployment the test checks is not the chart's")
	}
	if pod.Spec.SecurityContext == nil || !*pod.Spec.SecurityContext.RunAsNonRoot || *c.SecurityContext.AllowPrivilegeEscalation ||
		!*c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.Capabilities.Drop[0] != "ALL" {
		t.Errorf("not restricted: %+v %+v", pod.Spec.SecurityContext, c.SecurityContext)
	}
	selectsHookPods(t, objs, pod.Labels)
	role := convert(t, find(objs, "Role", "nbo-neo4j-backup-operator-test"), &rbacv1.Role{})
	if got := strings.Join(grants(role.Rules), " "); got != "apps/deployments:get backup.graphkeeper.dev/backupschedules:create" {
		t.Errorf("the test's Role grants %s", got)
	}
	for _, r := range role.Rules {
		if contains(r.Resources, "deployments") && strings.Join(r.ResourceNames, ",") != "nbo-neo4j-backup-operator" {
			t.Errorf("the test reads Deployments %v, not only the chart's", r.ResourceNames)
		}
	}
}

// selectsHookPods fails when the operator's Deployment or metrics Service would select a hook's
// pod (the Service would send scrapes to it).
func selectsHookPods(t *testing.T, objs []*unstructured.Unstructured, labels map[string]string) {
	t.Helper()
	d := convert(t, find(objs, "Deployment", "nbo-neo4j-backup-operator"), &appsv1.Deployment{})
	svc := convert(t, find(objs, "Service", "nbo-neo4j-backup-operator-metrics"), &corev1.Service{})
	for what, sel := range map[string]map[string]string{"Deployment": d.Spec.Selector.MatchLabels, "Service": svc.Spec.Selector} {
		matches := true
		for k, v := range sel {
			matches = matches && labels[k] == v
		}
		if matches {
			t.Errorf("the operator's %s selects a hook pod labelled %v", what, labels)
		}
	}
}

// The operator's NetworkPolicy: it selects the operator's pod only, lets out only the API
// server's ports and DNS, and lets in only the metrics and health ports.
func TestNetworkPolicy(t *testing.T) {
	if find(render(t), "NetworkPolicy", "nbo-neo4j-backup-operator") != nil {
		t.Error("rendered without networkPolicy.enabled")
	}
	objs := render(t, "networkPolicy.enabled=true", "networkPolicy.apiServer.cidrs={192.0.2.10/32}")
	np := convert(t, find(objs, "NetworkPolicy", "nbo-neo4j-backup-operator"), &networkingv1.NetworkPolicy{})
	d := convert(t, find(objs, "Deployment", "nbo-neo4j-backup-operator"), &appsv1.Deployment{})
	if !reflect.DeepEqual(np.Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("selects %v, the operator's pods are %v", np.Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels)
	}
	ports := func(ps []networkingv1.NetworkPolicyPort) string {
		var out []string
		for _, p := range ps {
			out = append(out, string(*p.Protocol)+"/"+p.Port.String())
		}
		return strings.Join(out, " ")
	}
	if len(np.Spec.Egress) != 2 || ports(np.Spec.Egress[0].Ports) != "TCP/443 TCP/6443" || ports(np.Spec.Egress[1].Ports) != "UDP/53 TCP/53" {
		t.Errorf("egress %+v", np.Spec.Egress)
	}
	if len(np.Spec.Egress[0].To) != 1 || np.Spec.Egress[0].To[0].IPBlock.CIDR != "192.0.2.10/32" {
		t.Errorf("egress to the API server %+v", np.Spec.Egress[0].To)
	}
	if len(np.Spec.Ingress) != 2 || ports(np.Spec.Ingress[0].Ports) != "TCP/8081" || ports(np.Spec.Ingress[1].Ports) != "TCP/8080" {
		t.Errorf("ingress %+v", np.Spec.Ingress)
	}

	// The hook pods get the same way out, and no way in.
	hooks := convert(t, find(objs, "NetworkPolicy", "nbo-neo4j-backup-operator-hooks"), &networkingv1.NetworkPolicy{})
	sel, err := metav1.LabelSelectorAsSelector(&hooks.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	job := convert(t, find(objs, "Job", "nbo-neo4j-backup-operator-crds"), &batchv1.Job{})
	test := convert(t, find(objs, "Pod", "nbo-neo4j-backup-operator-test"), &corev1.Pod{})
	for what, l := range map[string]map[string]string{"the CRD upgrade pod": job.Spec.Template.Labels, "the helm test pod": test.Labels} {
		if !sel.Matches(labels.Set(l)) {
			t.Errorf("the hooks' NetworkPolicy does not select %s (%v)", what, l)
		}
	}
	if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Error("the hooks' NetworkPolicy selects the operator's pod")
	}
	if len(hooks.Spec.Ingress) != 0 || !reflect.DeepEqual(hooks.Spec.Egress, np.Spec.Egress) {
		t.Errorf("hooks: ingress %+v, egress %+v", hooks.Spec.Ingress, hooks.Spec.Egress)
	}
}

// metrics.secure: HTTPS with the API server deciding who may scrape. The operator may ask it
// (TokenReview, SubjectAccessReview), a scraper is given metrics-reader, and the ServiceMonitor
// scrapes over HTTPS with its token.
func TestSecureMetrics(t *testing.T) {
	objs := render(t, "metrics.secure=true", "metrics.certSecretName=nbo-metrics-tls", "serviceMonitor.enabled=true")
	d := convert(t, find(objs, "Deployment", "nbo-neo4j-backup-operator"), &appsv1.Deployment{})
	c := d.Spec.Template.Spec.Containers[0]
	for _, want := range []string{"--metrics-bind-address=:8080", "--metrics-secure", "--metrics-cert-dir=/metrics-certs"} {
		if !contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	vols := d.Spec.Template.Spec.Volumes
	if len(vols) != 1 || vols[0].Secret == nil || vols[0].Secret.SecretName != "nbo-metrics-tls" || len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/metrics-certs" {
		t.Errorf("volumes %+v mounts %+v", vols, c.VolumeMounts)
	}
	auth := convert(t, find(objs, "ClusterRole", "nbo-neo4j-backup-operator-metrics-auth"), &rbacv1.ClusterRole{})
	if got := strings.Join(grants(auth.Rules), " "); got != "authentication.k8s.io/tokenreviews:create authorization.k8s.io/subjectaccessreviews:create" {
		t.Errorf("metrics-auth grants %s", got)
	}
	binding := convert(t, find(objs, "ClusterRoleBinding", "nbo-neo4j-backup-operator-metrics-auth"), &rbacv1.ClusterRoleBinding{})
	if binding.Subjects[0].Name != d.Spec.Template.Spec.ServiceAccountName {
		t.Errorf("metrics-auth is bound to %v, the operator runs as %s", binding.Subjects, d.Spec.Template.Spec.ServiceAccountName)
	}
	reader := convert(t, find(objs, "ClusterRole", "nbo-neo4j-backup-operator-metrics-reader"), &rbacv1.ClusterRole{})
	if len(reader.Rules) != 1 || strings.Join(reader.Rules[0].NonResourceURLs, ",") != "/metrics" || strings.Join(reader.Rules[0].Verbs, ",") != "get" {
		t.Errorf("metrics-reader %+v", reader.Rules)
	}
	sm := find(objs, "ServiceMonitor", "nbo-neo4j-backup-operator")
	ep, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	e := ep[0].(map[string]any)
	if e["scheme"] != "https" || e["bearerTokenFile"] != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
		t.Errorf("ServiceMonitor endpoint %v", e)
	}
	plain := render(t)
	if find(plain, "ClusterRole", "nbo-neo4j-backup-operator-metrics-auth") != nil ||
		contains(convert(t, find(plain, "Deployment", "nbo-neo4j-backup-operator"), &appsv1.Deployment{}).Spec.Template.Spec.Containers[0].Args, "--metrics-secure") {
		t.Error("secure metrics rendered by default")
	}
}
