package e2e

import (
	"os"
	"os/exec"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("helm upgrade of the chart", func() {
	const ns, hook = "neo4j-backup-system", "nbo-neo4j-backup-operator-crds"

	It("runs the CRD hook first and leaves none of it behind; install-crds, the image's binary, brings the CRDs up to date with only the hook's rights", func() {
		By("install-crds as a process with a token of the hook's ServiceAccount and its RBAC, as helm renders them (the box's pods cannot reach its API server)")
		rendered, err := box.Helm(ctx, "template", "nbo", chartDir, "--namespace", ns, "--kube-version", "1.37.2",
			"--show-only", "templates/crd-upgrade.yaml", "--set", "image.tag=e2e")
		Expect(err).NotTo(HaveOccurred())
		var rbac []*unstructured.Unstructured
		dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(rendered), 4096)
		for {
			u := &unstructured.Unstructured{}
			if dec.Decode(&u.Object) != nil {
				break
			}
			if u.GetKind() != "Job" && len(u.Object) > 0 {
				Expect(k8sClient.Create(ctx, u)).To(Succeed())
				rbac = append(rbac, u)
			}
		}
		Expect(rbac).To(HaveLen(3))
		kubeconfig, err := box.ServiceAccountKubeconfig(ctx, ns, hook)
		Expect(err).NotTo(HaveOccurred())
		cmd := exec.CommandContext(ctx, operatorBin, "install-crds", "--timeout=1m")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		Expect(strings.Count(string(out), "is up to date and served")).To(Equal(3), "%s", out)
		for _, u := range rbac {
			Expect(k8sClient.Delete(ctx, u)).To(Succeed())
		}

		By("helm upgrade: the hook Job (simulated on kwok) runs before the upgrade, and helm deletes it and its RBAC after")
		_, err = box.Helm(ctx, "upgrade", "nbo", chartDir, "--namespace", ns, "--reuse-values", "--wait", "--timeout", "120s")
		Expect(err).NotTo(HaveOccurred())
		history, err := box.Helm(ctx, "history", "nbo", "--namespace", ns, "--max", "1")
		Expect(err).NotTo(HaveOccurred())
		Expect(history).To(ContainSubstring("deployed"))
		Eventually(func(g Gomega) {
			for _, u := range append(rbac, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job",
				"metadata": map[string]any{"name": hook, "namespace": ns}}}) {
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(u.GroupVersionKind())
				err := k8sClient.Get(ctx, client.ObjectKeyFromObject(u), got)
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	})
})
