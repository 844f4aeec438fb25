package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// Real minutes, real slots: an every-minute schedule on the cluster in a box takes two backups,
// each into zone-c, and its status follows them. (The operator runs with the real clock here;
// the clock-injected specs in controllers/ cover outages, deadlines and retention.)
var _ = Describe("a BackupSchedule on the cluster in a box", func() {
	It("reads a non-UTC time zone where the machine has no zone database, as in the image FROM scratch", func() {
		By("running the built operator in a mount namespace with no zone database: /usr/share/zoneinfo and Go's own copy (GOROOT/lib/time) empty")
		empty := filepath.Join(box.Dir, "no-zoneinfo")
		Expect(os.MkdirAll(empty, 0o755)).To(Succeed())
		goroot, err := exec.Command("go", "env", "GOROOT").Output()
		Expect(err).NotTo(HaveOccurred())
		hide := []string{"/usr/share/zoneinfo", filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time")}
		Expect(operator.Stop(10 * time.Second)).To(Succeed())
		// unshare without --fork execs in place: the pid the box stops is the operator's.
		script := `for d in "$2" "$3"; do mount --bind "$1" "$d" || exit 1; done; ` +
			`if ls "$2/Europe/Berlin" "$3/zoneinfo.zip" >/dev/null 2>&1; then exit 1; fi; shift 3; exec "$@"`
		operator, err = box.Start("operator-no-zoneinfo", "unshare", operatorEnv,
			append([]string{"--mount", "--", "sh", "-c", script, "sh", empty, hide[0], hide[1], operatorBin}, operatorArgs...)...)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			Expect(operator.Stop(10 * time.Second)).To(Succeed())
			restartOperator()
		})

		ns := restrictedNamespace("zoneinfo")
		tmpl := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded"})
		// 03:00 on 1 January in Berlin is 02:00 UTC (CET, UTC+1): only the zone database knows.
		s := &v1.BackupSchedule{
			ObjectMeta: metav1.ObjectMeta{Name: "berlin", Namespace: ns},
			Spec:       v1.BackupScheduleSpec{Schedule: "0 3 1 1 *", TimeZone: "Europe/Berlin", Template: tmpl},
		}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		next := time.Date(time.Now().UTC().Year()+1, 1, 1, 2, 0, 0, 0, time.UTC)
		Eventually(func(g Gomega) {
			got := &v1.BackupSchedule{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
			for _, c := range got.Status.Conditions {
				g.Expect(c.Message).NotTo(ContainSubstring("time zone"), "condition %s", c.Type)
			}
			g.Expect(got.Status.NextScheduleTime).NotTo(BeNil())
			g.Expect(got.Status.NextScheduleTime.UTC()).To(Equal(next))
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("takes a backup every minute into zone-c and reports them in its status", func() {
		ns := restrictedNamespace("schedule")
		neo4jServer(ns, "graph-0", "zone-a", false)
		neo4jServer(ns, "graph-1", "zone-b", true)
		neo4jServer(ns, "graph-2", "zone-a", true)
		waitServersReady(ns, 3)

		// kwok completes each backup pod with this report (the same for every slot: the
		// simulation cannot vary it, so it names no type).
		msg := simulated(result.Database{Name: "neo4j", Artifact: "neo4j-2026-11-28T02-00-00.backup", Size: 4096,
			LowTx: 1, HighTx: 10, Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"})
		tmpl := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": msg})
		tmpl.Databases = []string{"neo4j"}
		s := &v1.BackupSchedule{
			ObjectMeta: metav1.ObjectMeta{Name: "every-minute", Namespace: ns},
			Spec:       v1.BackupScheduleSpec{Schedule: "* * * * *", Template: tmpl},
		}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())

		Eventually(func(g Gomega) {
			list := &v1.BackupList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{v1.ScheduleLabel: s.Name})).To(Succeed())
			succeeded := 0
			for _, b := range list.Items {
				if b.Status.Phase == v1.BackupSucceeded {
					succeeded++
					g.Expect(b.Status.Placement.StorageZone).To(Equal("zone-c"))
					g.Expect(b.Status.Placement.CrossZone).To(BeTrue())
				}
			}
			g.Expect(succeeded).To(BeNumerically(">=", 2))
			got := &v1.BackupSchedule{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
			g.Expect(got.Status.LastSuccessfulBackup).NotTo(BeEmpty())
			g.Expect(got.Status.StorageZone).To(Equal("zone-c"))
			g.Expect(got.Status.NextScheduleTime).NotTo(BeNil())
			g.Expect(got.Status.NextScheduleTime.Time).To(BeTemporally(">", time.Now().Add(-time.Second)))
		}).WithTimeout(200 * time.Second).WithPolling(time.Second).Should(Succeed())

		out, err := box.Kubectl(ctx, nil, "get", "nbs,nbk", "-n", ns)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("kubectl get nbs,nbk:\n%s\n", out)
		Expect(out).To(MatchRegexp(`every-minute\s+\* \* \* \* \*\s+false`))

		By("deleting the schedule (a Git rename, an Application prune) leaves every Backup and the claim, with the real garbage collector running")
		list := &v1.BackupList{}
		Expect(k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{v1.ScheduleLabel: s.Name})).To(Succeed())
		Expect(list.Items).NotTo(BeEmpty())
		for _, b := range list.Items {
			Expect(b.OwnerReferences).To(BeEmpty(), "Backup %s", b.Name)
		}
		By("a Backup an earlier version made, with the schedule as its controller, is released before the schedule goes")
		legacy := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: s.Name + "-legacy", Namespace: ns,
			Labels: map[string]string{v1.ScheduleLabel: s.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "BackupSchedule", Name: s.Name, UID: s.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		}, Spec: *list.Items[0].Spec.DeepCopy()}
		Expect(k8sClient.Create(ctx, legacy)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(legacy), legacy)).To(Succeed())
			g.Expect(legacy.OwnerReferences).To(BeEmpty())
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		list.Items = append(list.Items, *legacy)
		claim := resources.ClaimName(tmpl.Cluster.Name)
		Expect(k8sClient.Delete(ctx, s)).To(Succeed())
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(s), &v1.BackupSchedule{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "still there: %v", err)
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Consistently(func(g Gomega) {
			for _, b := range list.Items {
				got := &v1.Backup{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&b), got)).To(Succeed())
				g.Expect(got.DeletionTimestamp).To(BeNil(), "Backup %s", b.Name)
			}
			c := &corev1.PersistentVolumeClaim{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: claim}, c)).To(Succeed())
			g.Expect(c.DeletionTimestamp).To(BeNil())
		}).WithTimeout(10 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	})
})
