package e2e

import (
	"os"
	"os/exec"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
)

const releaseNamespace = "neo4j-backup-system"

// runAsHook runs the operator binary the image holds with args, as a pod of the chart's hook
// template would, with a token of the hook's ServiceAccount and the RBAC helm renders for it (the
// box's pods cannot reach its API server, so the process stands in for the pod). It returns the
// output; the hook's objects are deleted again, as helm deletes them.
func runAsHook(template string, args ...string) string {
	GinkgoHelper()
	rendered, err := box.Helm(ctx, "template", "nbo", chartDir, "--namespace", releaseNamespace, "--kube-version", "1.37.2",
		"--show-only", template, "--set", "image.tag=e2e")
	Expect(err).NotTo(HaveOccurred())
	sa, objs, err := cluster.HookRBAC(rendered)
	Expect(err).NotTo(HaveOccurred(), template)
	for _, u := range objs {
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
	}
	deleteAll := func() {
		for _, u := range objs {
			Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, u))).To(Succeed())
		}
	}
	DeferCleanup(deleteAll)
	kubeconfig, err := box.ServiceAccountKubeconfig(ctx, releaseNamespace, sa)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.CommandContext(ctx, operatorBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "%s", out)
	deleteAll()
	return string(out)
}

// gone waits until helm has deleted a hook's objects after it succeeded.
func gone(kinds map[string]string, name string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		for kind, apiVersion := range kinds {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion(apiVersion)
			u.SetKind(kind)
			ns := releaseNamespace
			if strings.HasPrefix(kind, "Cluster") {
				ns = ""
			}
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s %s: %v", kind, name, err)
		}
	}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
}

var _ = Describe("the chart's hooks", Ordered, func() {
	It("helm upgrade runs the CRD hook first and leaves none of it behind; install-crds, the image's binary, brings the CRDs up to date with only the hook's rights", func() {
		By("the BackupSchedule CRD as an earlier version left it: without status.restorable, which the API server then prunes")
		ns := newNamespace()
		s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: "upgraded", Namespace: ns}, Spec: v1.BackupScheduleSpec{
			Schedule: "0 3 * * *", Suspend: true, Template: e2eSpec(nil)}}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		// status.restorable is new in this version; the operator's status writes are all it
		// changes while the field is pruned.
		previous := &unstructured.Unstructured{}
		previous.SetAPIVersion("apiextensions.k8s.io/v1")
		previous.SetKind("CustomResourceDefinition")
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "backupschedules.backup.graphkeeper.dev"}, previous)).To(Succeed())
		versions, _, _ := unstructured.NestedSlice(previous.Object, "spec", "versions")
		unstructured.RemoveNestedField(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "status", "properties", "restorable")
		Expect(unstructured.SetNestedSlice(previous.Object, versions, "spec", "versions")).To(Succeed())
		Expect(k8sClient.Update(ctx, previous)).To(Succeed())
		served := func(g Gomega) bool {
			got := &v1.BackupSchedule{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
			got.Status.Restorable = []v1.RestorableWindow{{Database: "neo4j", OldestTime: metav1.Now(), NewestTime: metav1.Now(), NewestTransaction: 42}}
			g.Expect(k8sClient.Status().Update(ctx, got, client.DryRunAll)).To(Succeed())
			return len(got.Status.Restorable) == 1
		}
		Eventually(served).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(BeFalse())

		By("install-crds as a process with the hook's ServiceAccount and RBAC")
		out := runAsHook("templates/crd-upgrade.yaml", "install-crds", "--timeout=1m")
		Expect(strings.Count(out, "is up to date and served")).To(Equal(3), "%s", out)
		Expect(out).To(ContainSubstring("backupschedules.backup.graphkeeper.dev"))
		Eventually(served).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(BeTrue(), "status.restorable served again")

		By("helm upgrade: the hook Job (simulated on kwok) runs before the upgrade, and helm deletes it and its RBAC after")
		_, err := box.Helm(ctx, "upgrade", "nbo", chartDir, "--namespace", releaseNamespace, "--reuse-values", "--wait", "--timeout", "120s")
		Expect(err).NotTo(HaveOccurred())
		history, err := box.Helm(ctx, "history", "nbo", "--namespace", releaseNamespace, "--max", "1")
		Expect(err).NotTo(HaveOccurred())
		Expect(history).To(ContainSubstring("deployed"))
		gone(map[string]string{"Job": "batch/v1", "ServiceAccount": "v1", "ClusterRole": "rbac.authorization.k8s.io/v1",
			"ClusterRoleBinding": "rbac.authorization.k8s.io/v1"}, "nbo-neo4j-backup-operator-crds")
	})

	It("helm test checks that the operator is available and that the API server admits a BackupSchedule, storing nothing", func() {
		By("check-install as a process with the test's ServiceAccount and Role")
		out := runAsHook("templates/tests/check-install.yaml", "check-install", "--namespace="+releaseNamespace, "--deployment=nbo-neo4j-backup-operator")
		Expect(out).To(ContainSubstring("the operator is available"))

		By("helm test: its pod (simulated on kwok) succeeds, and helm deletes it and its RBAC after")
		_, err := box.Helm(ctx, "test", "nbo", "--namespace", releaseNamespace, "--timeout", "120s")
		Expect(err).NotTo(HaveOccurred())
		gone(map[string]string{"Pod": "v1", "ServiceAccount": "v1", "Role": "rbac.authorization.k8s.io/v1",
			"RoleBinding": "rbac.authorization.k8s.io/v1"}, "nbo-neo4j-backup-operator-test")
	})
})
