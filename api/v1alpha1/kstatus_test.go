package v1alpha1_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What Flux's wait computes (kstatus) from an object the operator has not seen yet. kstatus
// takes an object with neither conditions nor status.observedGeneration as Current (it cannot
// tell that anybody will ever write a status), so a one-off Backup applied by Flux would count as
// healthy before it started. The API server fills in status.observedGeneration 0 until the
// operator writes the status, and 0 is behind metadata.generation: InProgress.
var _ = Describe("a new object, before the operator writes its status", func() {
	for _, c := range []struct {
		resource string
		obj      func() client.Object
	}{
		{"Backup", func() client.Object { return validBackup("kstatus-new") }},
		{"BackupSchedule", func() client.Object { return validSchedule("kstatus-new") }},
		{"Restore", func() client.Object { return validRestore("kstatus-new") }},
	} {
		It("is InProgress to kstatus: a "+c.resource, func() {
			obj := c.obj()
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			u := &unstructured.Unstructured{}
			gvk, err := k8sClient.GroupVersionKindFor(obj)
			Expect(err).NotTo(HaveOccurred())
			u.SetGroupVersionKind(gvk)
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), u)).To(Succeed())
			res, err := status.Compute(u)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Status).To(Equal(status.InProgressStatus), "%s: %s\n%v", res.Status, res.Message, u.Object["status"])
		})
	}
})
