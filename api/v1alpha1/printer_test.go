package v1alpha1_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// restConfig reaches the suite's API server.
var restConfig *rest.Config

// columns is what kubectl get prints for obj: the API server's Table of it, by column name.
func columns(resource string, obj client.Object) map[string]any {
	GinkgoHelper()
	hc, err := rest.HTTPClientFor(restConfig)
	Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/apis/%s/namespaces/%s/%s/%s",
		strings.TrimSuffix(restConfig.Host, "/"), v1.GroupVersion, obj.GetNamespace(), resource, obj.GetName()), nil)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK), req.URL.String())
	var table metav1.Table
	Expect(json.NewDecoder(resp.Body).Decode(&table)).To(Succeed())
	Expect(table.Rows).To(HaveLen(1))
	out := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		out[c.Name] = table.Rows[0].Cells[i]
	}
	return out
}

var _ = Describe("kubectl get columns", func() {
	failed := metav1.Condition{Type: v1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1.ReasonBackupFailed, Message: "m",
		LastTransitionTime: metav1.Now(), ObservedGeneration: 1}

	It("shows a Backup's and a Restore's reason, and what a Restore restored until", func() {
		b := validBackup("columns")
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		b.Status.Phase, b.Status.Conditions = v1.BackupFailed, []metav1.Condition{failed}
		Expect(k8sClient.Status().Update(ctx, b)).To(Succeed())
		Expect(columns("backups", b)).To(And(HaveKeyWithValue("Phase", "Failed"), HaveKeyWithValue("Reason", "BackupFailed")))

		r := validRestore("columns")
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		done := failed
		done.Status, done.Reason = metav1.ConditionTrue, v1.ReasonSucceeded
		r.Status.Phase, r.Status.Conditions, r.Status.RestoredUntilTx = v1.RestoreSucceeded, []metav1.Condition{done}, 4711
		Expect(k8sClient.Status().Update(ctx, r)).To(Succeed())
		Expect(columns("restores", r)).To(And(HaveKeyWithValue("Reason", "Succeeded"), HaveKeyWithValue("Restored Until", BeNumerically("==", 4711))))
	})

	It("shows a schedule's last result", func() {
		s := validSchedule("columns")
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		last := failed
		last.Type = v1.ConditionLastBackupSucceeded
		s.Status.Conditions = []metav1.Condition{last}
		Expect(k8sClient.Status().Update(ctx, s)).To(Succeed())
		Expect(columns("backupschedules", s)).To(HaveKeyWithValue("Last Result", "BackupFailed"))
	})
})
