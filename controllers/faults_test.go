package controllers_test

import (
	"errors"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prometheus/client_golang/prometheus/testutil"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// The Backup and Restore controllers under faults the API server or the cache bring: a refused
// create or delete shows on the object and is retried on its own, a conflicting status write is
// done again without counting or announcing anything twice, and a cache that has not seen an
// object yet is never taken for "gone".

var jobs = schema.GroupResource{Group: "batch", Resource: "jobs"}

func quota() error {
	return apierrors.NewForbidden(jobs, "x", errors.New("exceeded quota: count/jobs.batch=5"))
}

func conflict() error {
	return apierrors.NewConflict(schema.GroupResource{Group: v1.GroupVersion.Group, Resource: "status"}, "x", errors.New("the object has been modified"))
}

// count is how many of the events regarding name in ns contain s.
func count(ns, name, s string) int {
	n := 0
	for _, e := range eventsFor(ns, name) {
		if strings.Contains(e, s) {
			n++
		}
	}
	return n
}

var _ = Describe("Faults: the Backup controller", func() {
	var w *world
	BeforeEach(func() {
		w = newWorld()
		w.cluster()
		DeferCleanup(func() { faults.clear(w.ns) })
	})

	It("shows a Job create the API server refuses on the Backup, and starts once it is allowed", func() {
		faults.inject(w.ns, "create", "Job", 1000, quota())
		b := w.backup("quota")
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPending))
			ready := readyCondition(got)
			g.Expect(ready.Reason).To(Equal("FailedCreate"))
			g.Expect(ready.Message).To(And(ContainSubstring("creating Job quota-backup"), ContainSubstring("exceeded quota"), ContainSubstring("Forbidden")))
			g.Expect(count(w.ns, "quota", "Warning FailedCreate: creating Job quota-backup")).To(Equal(1))
		})
		By("the API accepts it again: the Job is created without a poke")
		faults.clear(w.ns)
		Eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.JobName).To(Equal("quota-backup"))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonPending))
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("writes and counts a Backup's end once when the status write conflicts", func() {
		b := w.backup("conflict")
		job := jobOf(b)
		eventually(func(g Gomega) { g.Expect(get(b)(g).Status.JobName).To(Equal(job.Name)) })
		hits := faults.injectIf(w.ns, "status", "Backup", 1, func(o client.Object) bool {
			return o.(*v1.Backup).Status.Phase == v1.BackupSucceeded
		}, conflict())
		finish(job, 0, report(good("neo4j", "FULL")))
		succeeded := func() float64 {
			return testutil.ToFloat64(metrics.Backups.WithLabelValues(w.ns, "graph", "", "Succeeded"))
		}
		eventually(func(g Gomega) {
			g.Expect(get(b)(g).Status.Phase).To(Equal(v1.BackupSucceeded))
			g.Expect(hits()).To(Equal(1), "the first write of the end conflicted")
			g.Expect(succeeded()).To(BeEquivalentTo(1))
		})
		Consistently(func(g Gomega) {
			g.Expect(succeeded()).To(BeEquivalentTo(1))
			g.Expect(count(w.ns, "conflict", "Normal Succeeded:")).To(Equal(1))
		}).WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	})

	It("does not take a Job the cache has not seen for a deleted one", func() {
		b := w.backup("lagging")
		job := jobOf(b)
		eventually(func(g Gomega) { g.Expect(get(b)(g).Status.JobName).To(Equal(job.Name)) })
		hits := faults.injectIf(w.ns, "get", "Job", 20, func(o client.Object) bool { return o.GetName() == job.Name },
			apierrors.NewNotFound(jobs, job.Name))
		// A change that makes the controller look at the Job while the cache "lacks" it.
		jobCounts(job, 1, 0)
		eventually(func(g Gomega) { g.Expect(hits()).To(BeNumerically(">=", 3)) })
		Expect(get(b)(Default).Status.Phase).To(Equal(v1.BackupPending), "not JobDeleted")
		faults.clear(w.ns)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
		finish(job, 0, report(good("neo4j", "FULL")))
		eventually(func(g Gomega) { g.Expect(get(b)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
	})

	It("shows a prune Job create the API server refuses on the Backup being deleted, and prunes once it is allowed", func() {
		older, _ := w.twoFulls("older", "newer")
		faults.inject(w.ns, "create", "Job", 1000, apierrors.NewForbidden(jobs, "older-prune", errors.New("denied by an admission webhook")))
		Expect(k8sClient.Delete(ctx, older)).To(Succeed())
		eventually(func(g Gomega) {
			got := get(older)(g)
			g.Expect(got.Finalizers).To(ContainElement("backup.graphkeeper.dev/artifacts"))
			g.Expect(readyCondition(got).Reason).To(Equal("FailedCreate"))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("denied by an admission webhook"))
			g.Expect(count(w.ns, "older", "Warning FailedCreate: creating prune Job older-prune")).To(Equal(1))
		})
		faults.clear(w.ns)
		prune := &batchv1.Job{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "older-prune"}, prune)).To(Succeed())
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		completePrune(prune)
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(older), &v1.Backup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "older")).To(ContainElement(ContainSubstring("ArtifactsDeleted: deleted 1 artifact")))
		})
	})

	It("records a prune's verdict once, and prunes once, when removing the finalizer conflicts", func() {
		older, _ := w.twoFulls("older", "newer")
		Expect(k8sClient.Delete(ctx, older)).To(Succeed())
		prune := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "older-prune"}, prune)).To(Succeed())
		})
		// The conflict comes late enough for the cache to have seen anything the pass did
		// before it (a Job deleted first would be gone by the next pass).
		hits := faults.injectIf(w.ns, "update", "Backup", 1, func(client.Object) bool { time.Sleep(time.Second); return true }, conflict())
		completePrune(prune)
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(older), &v1.Backup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
			g.Expect(hits()).To(Equal(1))
		})
		eventually(func(g Gomega) {
			// (Events are written after the object: their count is waited for.)
			g.Expect(count(w.ns, "older", "PruneStarted")).To(Equal(1), "one prune Job, not a second after the conflict")
			g.Expect(count(w.ns, "older", "Normal ArtifactsDeleted: deleted 1 artifact")).To(Equal(1))
		})
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(prune), &batchv1.Job{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the prune Job is deleted once its verdict is recorded")
		})
	})
})

var _ = Describe("Faults: the Restore controller", func() {
	var w *world
	BeforeEach(func() {
		w = newWorld()
		w.chain()
		DeferCleanup(func() { faults.clear(w.ns) })
	})

	It("shows a Job create the API server refuses on the Restore, and starts once it is allowed", func() {
		faults.inject(w.ns, "create", "Job", 1000, quota())
		rs := w.restore("quota", nil)
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestorePending))
			g.Expect(restoreReason(got)).To(Equal("FailedCreate"))
			g.Expect(restoreReadyMessage(got)).To(And(ContainSubstring("creating Job quota-restore"), ContainSubstring("exceeded quota")))
			g.Expect(count(w.ns, "quota", "Warning FailedCreate: creating Job quota-restore")).To(Equal(1))
		})
		faults.clear(w.ns)
		Eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.JobName).To(Equal("quota-restore"))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonPending))
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("writes and announces a Restore's end once when the status write conflicts", func() {
		rs := w.restore("conflict", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "conflict-restore"}, job)).To(Succeed())
		})
		hits := faults.injectIf(w.ns, "status", "Restore", 1, func(o client.Object) bool {
			return o.(*v1.Restore).Status.Phase == v1.RestoreSucceeded
		}, conflict())
		finishRestore(job, 0, result.Restore{Database: "neo4j-restored"})
		eventually(func(g Gomega) {
			g.Expect(getRestore(g, rs).Status.Phase).To(Equal(v1.RestoreSucceeded))
			g.Expect(hits()).To(Equal(1))
			g.Expect(count(w.ns, "conflict", "Normal Succeeded:")).To(Equal(1))
		})
		Consistently(func(g Gomega) {
			g.Expect(count(w.ns, "conflict", "Normal Succeeded:")).To(Equal(1))
		}).WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	})

	It("does not take a Job the cache has not seen for a deleted one", func() {
		rs := w.restore("lagging", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "lagging-restore"}, job)).To(Succeed())
			g.Expect(getRestore(g, rs).Status.JobName).To(Equal(job.Name))
		})
		hits := faults.injectIf(w.ns, "get", "Job", 20, func(o client.Object) bool { return o.GetName() == job.Name },
			apierrors.NewNotFound(jobs, job.Name))
		// A change to the Job makes the controller look at it while the cache "lacks" it.
		patch := client.MergeFrom(job.DeepCopy())
		job.Annotations = map[string]string{"poke": "1"}
		Expect(k8sClient.Patch(ctx, job, patch)).To(Succeed())
		eventually(func(g Gomega) { g.Expect(hits()).To(BeNumerically(">=", 3)) })
		Expect(getRestore(Default, rs).Status.Phase).To(Equal(v1.RestorePending), "not JobDeleted")
		faults.clear(w.ns)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
		finishRestore(job, 0, result.Restore{Database: "neo4j-restored"})
		eventually(func(g Gomega) { g.Expect(getRestore(g, rs).Status.Phase).To(Equal(v1.RestoreSucceeded)) })
	})
})
