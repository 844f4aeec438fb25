package controllers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/test/jobsim"
)

// finishedBackup makes a Backup as the Backup controller leaves a finished one: artifacts of
// neo4j in the shared location, with their transaction ranges.
func (w *world) finishedBackup(name string, day int, full bool, low, high int64) *v1.Backup {
	GinkgoHelper()
	b := w.backup(name)
	at := metav1.NewTime(time.Date(2026, 11, day, 2, 0, 0, 0, time.UTC))
	typ := v1.BackupDiff
	if full {
		typ = v1.BackupFull
	}
	eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		b.Status = v1.BackupStatus{Phase: v1.BackupSucceeded, CompletionTime: &at, Type: string(typ),
			Storage:   &v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: w.ns + "/graph"},
			Placement: &v1.Placement{StorageZone: "zone-c"},
			Databases: []v1.DatabaseResult{{Name: "neo4j", Type: typ, Artifact: fmt.Sprintf("neo4j-2026-11-%02dT02-00-00.backup", day), LowestTx: low, HighestTx: high}}}
		g.Expect(k8sClient.Status().Update(ctx, b)).To(Succeed())
	})
	return b
}

// chain is d1 (a FULL, transactions 1-100), d2 (101-150) and d3 (151-170): one chain of neo4j.
func (w *world) chain() {
	GinkgoHelper()
	w.finishedBackup("d1", 1, true, 1, 100)
	w.finishedBackup("d2", 2, false, 101, 150)
	w.finishedBackup("d3", 3, false, 151, 170)
}

func (w *world) restore(name string, mut func(*v1.RestoreSpec)) *v1.Restore {
	GinkgoHelper()
	rs := &v1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec: v1.RestoreSpec{
			Source:   v1.RestoreSource{BackupName: "d3"},
			Database: "neo4j", TargetDatabase: "neo4j-restored",
			Cluster:    v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26"},
			Mode:       v1.RestoreVolume,
			Target:     &v1.RestoreTarget{ClaimName: "new-server-data"},
			JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise"},
		},
	}
	if mut != nil {
		mut(&rs.Spec)
	}
	Expect(k8sClient.Create(ctx, rs)).To(Succeed())
	return rs
}

func getRestore(g Gomega, rs *v1.Restore) *v1.Restore {
	out := &v1.Restore{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rs), out)).To(Succeed())
	return out
}

func restoreReason(rs *v1.Restore) string {
	for _, c := range rs.Status.Conditions {
		if c.Type == v1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}

// finishRestore plays the kubelet and the Job controller for a restore Job.
func finishRestore(job *batchv1.Job, exitCode int32, rep result.Restore) {
	GinkgoHelper()
	finishRestoreAs(job, exitCode, "", rep)
}

// finishRestoreAs is finishRestore with the kubelet's reason of termination (OOMKilled, Error).
func finishRestoreAs(job *batchv1.Job, exitCode int32, reason string, rep result.Restore) {
	GinkgoHelper()
	finishes++
	now := metav1.NewTime(time.Now().Truncate(time.Second).Add(time.Duration(finishes) * time.Second))
	// As the Job controller makes it: its labels and its owner reference.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-r1", Namespace: job.Namespace,
			Labels:          mergeLabels(job.Spec.Template.Labels, map[string]string{batchv1.JobNameLabel: job.Name}),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}},
		Spec: job.Spec.Template.Spec,
	}
	// Scheduled, run and ended between two of the controller's passes: never seen Running.
	pod.Spec.NodeName = "node-finished"
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: job.Spec.Template.Spec.Containers[0].Name, Image: "x",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Reason: reason, Message: string(result.EncodeRestore(rep, result.MaxMessage)), FinishedAt: now, StartedAt: now}}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	job.Status.StartTime = &now
	jobsim.End(job, exitCode == 0, "PodFailurePolicy", "", now)
	Expect(k8sClient.Status().Update(ctx, job)).To(Succeed())
}

var _ = Describe("Restore controller (mode Volume)", func() {
	var w *world
	BeforeEach(func() {
		w = newWorld()
		w.chain()
	})

	It("restores the chain that ends at a Backup, read-only, into the target claim", func() {
		rs := w.restore("from-d3", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "from-d3-restore"}, job)).To(Succeed())
		})
		c := job.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(Equal([]string{"agent", "restore", "--neo4j-version=5.26", "--dir=/backups/" + w.ns + "/graph",
			"--database=neo4j-restored", "--data-dir=/data", "--temp-dir=/tmp/neo4j-restore", "--stage-dir=/data",
			"--artifact=neo4j-2026-11-01T02-00-00.backup", "--artifact=neo4j-2026-11-02T02-00-00.backup", "--artifact=neo4j-2026-11-03T02-00-00.backup"}))
		vols := job.Spec.Template.Spec.Volumes
		Expect(vols[1].PersistentVolumeClaim.ReadOnly).To(BeTrue(), "a restore never modifies backup artifacts")
		Expect(c.VolumeMounts[1].ReadOnly).To(BeTrue())
		Expect(vols[2].PersistentVolumeClaim.ClaimName).To(Equal("new-server-data"))
		Expect(job.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values).To(Equal([]string{"zone-c"}))

		finishRestore(job, 0, result.Restore{Database: "neo4j-restored", Chain: []string{"a.backup"}})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreSucceeded))
			g.Expect(got.Status.RestoredUntilTx).To(BeEquivalentTo(170))
			g.Expect(got.Status.Chain).To(HaveLen(3))
			g.Expect(got.Status.CompletionTime).NotTo(BeNil())
		})
	})

	It("restores to a transaction within the chain", func() {
		rs := w.restore("until-tx", func(s *v1.RestoreSpec) { s.RestoreUntil = "120" })
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Chain).To(Equal([]string{"neo4j-2026-11-01T02-00-00.backup", "neo4j-2026-11-02T02-00-00.backup"}))
			g.Expect(got.Status.RestoredUntilTx).To(BeEquivalentTo(120))
		})
		job := &batchv1.Job{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "until-tx-restore"}, job)).To(Succeed())
		Expect(job.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--until-tx=120", "--chain-high-tx=150"))
	})

	It("fails with TargetExists when the agent finds the database and replaceExisting is false", func() {
		rs := w.restore("exists", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "exists-restore"}, job)).To(Succeed())
		})
		finishRestore(job, 3, result.Restore{Database: "neo4j-restored", Reason: "TargetExists", Error: "database neo4j-restored already exists in /data"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonTargetExists))
		})
	})

	It("fails with OOMKilled, naming the budget, when the kernel killed the restore pod for memory", func() {
		rs := w.restore("oom", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "oom-restore"}, job)).To(Succeed())
		})
		finishRestoreAs(job, 1, "OOMKilled", result.Restore{Database: "neo4j-restored", Error: "neo4j-admin exit 137: neo4j-admin was killed by signal 9 (killed)"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonOOMKilled))
			for _, c := range got.Status.Conditions {
				if c.Type == v1.ConditionReady {
					// The defaults: 1Gi + 512Mi + 512Mi.
					g.Expect(c.Message).To(ContainSubstring("the restore pod"))
					g.Expect(c.Message).To(ContainSubstring("limit 2Gi, heap 1Gi (HEAP_SIZE) + page cache 512Mi (--pagecache) + overhead 512Mi"))
				}
			}
		})
	})

	It("reports the node its pod runs on, then fails NotStarted when no pod of the Job runs for the start timeout", func() {
		rs := w.restore("stalled", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "stalled-restore"}, job)).To(Succeed())
		})
		first := jobPod(job, "stalled-1", "node-c", true)
		jobCounts(job, 1, 1)
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreRunning))
			g.Expect(got.Status.Node).To(Equal("node-c"))
		})
		disrupt(first, "PreemptionByScheduler", true)
		jobPod(job, "stalled-2", "", false)
		jobCounts(job, 1, 0)
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreRunning))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonRestarting))
			g.Expect(restoreReadyMessage(got)).To(ContainSubstring("the restore pod stopped on node node-c; Job stalled-restore has no pod running: pod stalled-2: Unschedulable"))
		})
		pastStartTimeout(rs)
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonNotStarted))
			g.Expect(restoreReadyMessage(got)).To(ContainSubstring("the restore pod stopped and no pod of Job stalled-restore ran for 30m0s since (pod stalled-2: Unschedulable"))
		})
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Job is deleted, after the verdict was written")
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "stalled")).To(ContainElement(ContainSubstring("Warning Restarting: the restore pod stopped on node node-c")))
		})
	})

	It("restores through a FULL whose Backup was deleted but whose file was kept (deletionPolicy Retain)", func() {
		d1 := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "d1", Namespace: w.ns}}
		Expect(k8sClient.Delete(ctx, d1)).To(Succeed())
		eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(d1), &v1.Backup{}))).To(BeTrue())
		})
		rs := w.restore("kept-full", nil) // from d3
		inspect := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "kept-full-inspect"}, inspect)).To(Succeed())
			g.Expect(restoreReadyMessage(getRestore(g, rs))).To(ContainSubstring("the Backups' records of neo4j do not form a chain"))
		})
		// The chain that ends at d3's artifact: up to its last transaction.
		Expect(inspect.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--until-tx=170"))
		chain := []string{"neo4j-2026-11-01T02-00-00.backup", "neo4j-2026-11-02T02-00-00.backup", "neo4j-2026-11-03T02-00-00.backup"}
		finishRestore(inspect, 0, result.Restore{Database: "neo4j", Chain: chain, ChainHighTx: 170, UntilTx: 170})
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "kept-full-restore"}, job)).To(Succeed())
			g.Expect(getRestore(g, rs).Status.Chain).To(Equal(chain))
		})
	})

	It("refuses, with the reason, a broken chain, a point no chain covers, and an unfinished source", func() {
		gap := w.finishedBackup("d5", 5, false, 200, 210) // 171..199 missing
		broken := w.restore("gap", func(s *v1.RestoreSpec) { s.Source.BackupName = gap.Name })
		late := w.restore("late", func(s *v1.RestoreSpec) { s.RestoreUntil = "2026-12-24T00:00:00Z" })
		w.backup("running")
		unfinished := w.restore("unfinished", func(s *v1.RestoreSpec) { s.Source.BackupName = "running" })
		// The Backups' records have a hole: the files are asked, and they have it too.
		inspect := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "gap-inspect"}, inspect)).To(Succeed())
			g.Expect(restoreReason(getRestore(g, broken))).To(Equal(v1.ReasonInspecting))
		})
		Expect(inspect.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--until-tx=210"))
		finishRestore(inspect, 3, result.Restore{Database: "neo4j", Reason: v1.ReasonChainBroken, Error: "no artifact holds transactions 171 to 199"})
		eventually(func(g Gomega) {
			g.Expect(restoreReason(getRestore(g, broken))).To(Equal(v1.ReasonChainBroken))
			g.Expect(restoreReason(getRestore(g, late))).To(Equal(v1.ReasonNotCovered))
			// A Backup still being taken is waited for, not failed.
			got := getRestore(g, unfinished)
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonSourceNotReady))
			g.Expect(got.Status.Phase).To(Equal(v1.RestorePending))
		})
		jobs := &batchv1.JobList{}
		Expect(k8sClient.List(ctx, jobs, client.InNamespace(w.ns), client.MatchingLabels{resources.LabelComponent: "restore"})).To(Succeed())
		Expect(jobs.Items).To(BeEmpty())
	})
})

func seedMode(s *v1.RestoreSpec) {
	s.Mode = v1.RestoreSeedFromURI
	s.Target = nil
	s.Cluster.ServerSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}}
	s.CredentialsSecret = &v1.CredentialsSecret{Name: "neo4j-admin", UsernameKey: "user", PasswordKey: "pass"}
}

func verifyMode(s *v1.RestoreSpec) {
	s.Mode = v1.RestoreVerify
	s.Target = nil
	s.TargetDatabase = ""
	s.Scratch = &v1.ClaimTemplate{StorageClassName: ptr.To("zonal"), Size: resource.MustParse("30Gi")}
}

// scratchGone tells whether the drill's scratch claim was deleted: gone, or held only by the
// API server's pvc-protection finalizer (envtest runs no controller to remove it).
func scratchGone(g Gomega, ns, name string) bool {
	claim := &corev1.PersistentVolumeClaim{}
	err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, claim)
	if apierrors.IsNotFound(err) {
		return true
	}
	g.Expect(err).NotTo(HaveOccurred())
	return claim.DeletionTimestamp != nil
}

var _ = Describe("Restore controller (mode Verify: a drill)", func() {
	var w *world
	BeforeEach(func() {
		w = newWorld()
		w.chain()
	})

	drillJob := func(name string) *batchv1.Job {
		GinkgoHelper()
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: name + "-restore"}, job)).To(Succeed())
		})
		return job
	}

	It("restores the chain into a scratch claim of its own in the backup's zone, checks it, records the verdict and times, and deletes the claim", func() {
		rs := w.restore("drill", verifyMode)
		job := drillJob("drill")
		claim := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "drill-scratch"}, claim)).To(Succeed())
		Expect(metav1.IsControlledBy(claim, rs)).To(BeTrue(), "the scratch claim goes with the Restore")
		Expect(*claim.Spec.StorageClassName).To(Equal("zonal"))
		Expect(claim.Spec.Resources.Requests.Storage().String()).To(Equal("30Gi"))

		spec := job.Spec.Template.Spec
		Expect(spec.Containers[0].Args).To(ContainElements("--data-dir=/data", "--database=neo4j", "--replace", "--check",
			"--check-page-cache-bytes=536870912", "--artifact=neo4j-2026-11-03T02-00-00.backup"))
		var data string
		for _, v := range spec.Volumes {
			if v.Name == "data" {
				data = v.PersistentVolumeClaim.ClaimName
			}
		}
		Expect(data).To(Equal("drill-scratch"), "the drill restores into its scratch claim, never into a server's")
		Expect(spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values).To(Equal([]string{"zone-c"}))

		finishRestore(job, 0, result.Restore{Database: "neo4j", Chain: []string{"a.backup"}, RestoreTime: 3200 * time.Millisecond,
			CheckTime: 1500 * time.Millisecond, Consistent: ptr.To(true)})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreSucceeded))
			g.Expect(got.Status.ScratchClaim).To(Equal("drill-scratch"))
			g.Expect(got.Status.Node).To(Equal("node-finished"), "the node of a pod that ran and ended unseen")
			g.Expect(got.Status.Verification).To(Equal(&v1.RestoreVerification{Consistent: true,
				RestoreDuration: &metav1.Duration{Duration: 3200 * time.Millisecond}, CheckDuration: &metav1.Duration{Duration: 1500 * time.Millisecond}}))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1.ConditionReady).Message).To(
				ContainSubstring("into scratch claim drill-scratch and checked it: consistent (restore 3.2s, check 1.5s)"))
			g.Expect(scratchGone(g, w.ns, "drill-scratch")).To(BeTrue(), "the scratch claim outlived the drill")
			// Its pods would hold the claim (pvc-protection counts finished pods): the Job goes.
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{}))).To(BeTrue(), "the drill's Job holds the claim")
		})
	})

	It("fails Inconsistent naming the database and the report, and keeps the scratch claim that holds the report", func() {
		rs := w.restore("damaged", verifyMode)
		job := drillJob("damaged")
		finishRestore(job, 3, result.Restore{Database: "neo4j", RestoreTime: time.Second, CheckTime: time.Second, Consistent: ptr.To(false),
			Report: "drill-report/inconsistencies-2026-12-03.14.26.20.report", Reason: "Inconsistent",
			Error: "database neo4j restored, but the consistency check found inconsistencies: report drill-report/inconsistencies-2026-12-03.14.26.20.report"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal("Inconsistent"))
			g.Expect(got.Status.Verification.Consistent).To(BeFalse())
			g.Expect(got.Status.Verification.Report).To(Equal("damaged-scratch:drill-report/inconsistencies-2026-12-03.14.26.20.report"))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1.ConditionReady).Message).To(And(
				ContainSubstring("database neo4j"), ContainSubstring("inconsistencies-2026-12-03.14.26.20.report"), ContainSubstring("scratch claim damaged-scratch")))
		})
		// Another pass (any change to the Restore), and the claim is still there.
		patch := client.MergeFrom(getRestore(Default, rs))
		got := getRestore(Default, rs)
		metav1.SetMetaDataAnnotation(&got.ObjectMeta, "poke", "1")
		Expect(k8sClient.Patch(ctx, got, patch)).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(scratchGone(g, w.ns, "damaged-scratch")).To(BeFalse(), "the report was deleted with its claim")
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{})).To(Succeed(), "the Job, with its logs, was deleted")
		}).WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	})

	It("believes a report that says inconsistent over the exit code", func() {
		rs := w.restore("contradicts", verifyMode)
		finishRestore(drillJob("contradicts"), 0, result.Restore{Database: "neo4j", RestoreTime: time.Second, CheckTime: time.Second, Consistent: ptr.To(false)})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonInconsistent))
		})
	})

	It("deletes the scratch claim of a drill whose check could not run, and never restores into a claim that is not its own", func() {
		rs := w.restore("nocheck", verifyMode)
		job := drillJob("nocheck")
		finishRestore(job, 1, result.Restore{Database: "neo4j", RestoreTime: time.Second, Reason: "CheckFailed",
			Error: "database neo4j restored, but the consistency check did not run to a verdict: exit status 1"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(restoreReason(got)).To(Equal("CheckFailed"))
			g.Expect(got.Status.Verification).To(BeNil(), "no verdict")
			g.Expect(scratchGone(g, w.ns, "nocheck-scratch")).To(BeTrue())
		})

		foreign := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "taken-scratch", Namespace: w.ns},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		taken := w.restore("taken", verifyMode)
		eventually(func(g Gomega) {
			got := getRestore(g, taken)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonClaimConflict))
		})
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
		Expect(foreign.DeletionTimestamp).To(BeNil(), "a claim that is not the drill's was touched")
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "taken-restore"}, &batchv1.Job{}))).To(BeTrue())
	})
})

var _ = Describe("Restore controller (mode SeedFromURI)", func() {
	var w *world
	BeforeEach(func() {
		w = newWorld()
		w.finishedBackup("d1", 1, true, 1, 100)
		w.finishedBackup("d2", 2, false, 101, 150)
	})

	getJob := func(g Gomega, name string) *batchv1.Job {
		job := &batchv1.Job{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: name}, job)).To(Succeed())
		return job
	}
	gone := func(obj client.Object, name string) {
		GinkgoHelper()
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: name}, obj)
			if err == nil {
				// envtest runs no garbage collector: a background deletion leaves the object
				// marked only if it has finalizers; without, it is gone at once.
				g.Expect(obj.GetDeletionTimestamp()).NotTo(BeNil())
				return
			}
			g.Expect(client.IgnoreNotFound(err)).To(Succeed())
			g.Expect(err).To(HaveOccurred())
		})
	}

	It("serves a FULL as is, seeds it through the servers, and removes the seed server afterwards", func() {
		w.cluster()
		rs := w.restore("seed.full", func(s *v1.RestoreSpec) { seedMode(s); s.Source.BackupName = "d1" })
		var server, seed *batchv1.Job
		eventually(func(g Gomega) {
			server = getJob(g, resources.SeedServerName("seed.full"))
			seed = getJob(g, "seed.full-seed")
		})
		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: resources.SeedServerName("seed.full")}, svc)).To(Succeed())
		Expect(svc.Spec.Selector).To(HaveKeyWithValue(resources.LabelComponent, resources.RoleSeedServer))
		np := &networkingv1.NetworkPolicy{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: resources.SeedServerName("seed.full")}, np)).To(Succeed())
		Expect(np.Spec.PodSelector.MatchLabels).To(HaveKeyWithValue(resources.LabelComponent, resources.RoleSeedServer))
		Expect(np.Spec.Ingress[0].From).To(HaveLen(2), "the seed Job's pods and the cluster's servers, nobody else")
		Expect(np.Spec.Ingress[0].From[1].PodSelector.MatchLabels).To(HaveKeyWithValue("app.kubernetes.io/instance", "graph"))
		Expect(server.Spec.Template.Labels).To(HaveKeyWithValue(resources.LabelComponent, resources.RoleSeedServer))

		sc := server.Spec.Template.Spec.Containers[0]
		Expect(sc.Args).To(Equal([]string{"agent", "serve", "--dir=/backups/" + w.ns + "/graph", "--listen=:8080",
			"--file=neo4j-2026-11-01T02-00-00.backup"}), "one FULL and no point in time: served as is, nothing prepared")
		Expect(server.Spec.Template.Spec.Volumes[1].PersistentVolumeClaim.ReadOnly).To(BeTrue(), "a restore never modifies backup artifacts")
		Expect(server.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values).To(Equal([]string{"zone-c"}))

		c := seed.Spec.Template.Spec.Containers[0]
		uri := "http://" + resources.SeedServerName("seed.full") + "." + w.ns + ".svc:8080/neo4j-2026-11-01T02-00-00.backup"
		Expect(c.Args).To(Equal([]string{"agent", "seed", "--neo4j-version=5.26", "--database=neo4j-restored",
			"--seed-uri=" + uri, "--timeout=24h0m0s", "--bolt-scheme=neo4j",
			// Ready servers first.
			"--server=graph-0.graph." + w.ns + ".svc:7687", "--server=graph-1.graph." + w.ns + ".svc:7687", "--server=graph-2.graph." + w.ns + ".svc:7687",
			"--chain=neo4j-2026-11-01T02-00-00.backup"}))
		Expect(c.Env[0].ValueFrom.SecretKeyRef.Name).To(Equal("neo4j-admin"))
		Expect(c.Env[0].ValueFrom.SecretKeyRef.Key).To(Equal("user"))
		Expect(c.Env[1].Name).To(Equal("NEO4J_PASSWORD"))
		Expect(c.Env[1].ValueFrom.SecretKeyRef.Key).To(Equal("pass"))
		Expect(*seed.Spec.BackoffLimit).To(BeEquivalentTo(0), "a retry after CREATE would find the database and refuse it")
		eventually(func(g Gomega) { g.Expect(getRestore(g, rs).Status.SeedURI).To(Equal(uri)) })

		finishRestore(seed, 0, result.Restore{Database: "neo4j-restored", Chain: []string{"neo4j-2026-11-01T02-00-00.backup"}})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreSucceeded))
			g.Expect(got.Status.RestoredUntilTx).To(BeEquivalentTo(100))
		})
		gone(&batchv1.Job{}, resources.SeedServerName("seed.full"))
		gone(&corev1.Service{}, resources.SeedServerName("seed.full"))
		gone(&networkingv1.NetworkPolicy{}, resources.SeedServerName("seed.full"))
	})

	It("prepares a dump for a chain or a point in time", func() {
		w.cluster()
		rs := w.restore("seed-until", func(s *v1.RestoreSpec) {
			seedMode(s)
			s.Source.BackupName = ""
			s.RestoreUntil = "120"
			s.Source.Storage = &v1.StorageLocationSpec{ClaimName: "neo4j-backups-graph", Path: w.ns + "/graph"}
		})
		var server *batchv1.Job
		eventually(func(g Gomega) { server = getJob(g, "seed-until-seed-server") })
		Expect(server.Spec.Template.Spec.Containers[0].Args).To(Equal([]string{"agent", "serve", "--dir=/backups/" + w.ns + "/graph", "--listen=:8080",
			"--file=neo4j-2026-11-01T02-00-00.backup", "--file=neo4j-2026-11-02T02-00-00.backup",
			"--prepare", "--neo4j-version=5.26", "--database=neo4j", "--data-dir=/data", "--scratch=/scratch", "--temp-dir=/tmp/neo4j-restore", "--until-tx=120",
			// 120 is inside the chain ending at 150: the agent asks neo4j-admin for 121 (exclusive).
			"--chain-high-tx=150"}))
		Expect(server.Spec.Template.Spec.Containers[0].Env).To(ContainElement(HaveField("Name", "HEAP_SIZE")))
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.SeedURI).To(HaveSuffix("/neo4j.dump"))
			g.Expect(got.Status.RestoredUntilTx).To(BeEquivalentTo(120))
		})
	})

	It("fails with the seed server's reason when it cannot prepare the seed, and stops the seed Job", func() {
		w.cluster()
		rs := w.restore("seed-broken", func(s *v1.RestoreSpec) { seedMode(s); s.Source.BackupName = "d2" })
		var server *batchv1.Job
		eventually(func(g Gomega) {
			server = getJob(g, "seed-broken-seed-server")
			getJob(g, "seed-broken-seed")
		})
		finishRestore(server, 1, result.Restore{Database: "neo4j", Reason: "RestoreFailed", Error: "preparing the seed: neo4j-admin exit 1: no space left on device"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonRestoreFailed))
			g.Expect(restoreReadyMessage(got)).To(ContainSubstring("seed server: preparing the seed: neo4j-admin exit 1: no space left on device"))
		})
		gone(&batchv1.Job{}, "seed-broken-seed")
		gone(&batchv1.Job{}, "seed-broken-seed-server")
		gone(&corev1.Service{}, "seed-broken-seed-server")
	})

	It("reports TargetExists from the seed Job, and waits for a cluster with no running server", func() {
		rs := w.restore("no-servers", func(s *v1.RestoreSpec) { seedMode(s); s.Source.BackupName = "d2" })
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestorePending))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonNoServer))
		})
		w.cluster()
		exists := w.restore("exists", func(s *v1.RestoreSpec) { seedMode(s); s.Source.BackupName = "d2" })
		var seed *batchv1.Job
		eventually(func(g Gomega) { seed = getJob(g, "exists-seed") })
		finishRestore(seed, 3, result.Restore{Database: "neo4j-restored", Reason: "TargetExists", Error: "database neo4j-restored already exists in the cluster"})
		eventually(func(g Gomega) {
			got := getRestore(g, exists)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonTargetExists))
		})
		gone(&corev1.Service{}, "seed-exists")
	})
})

func restoreReadyMessage(rs *v1.Restore) string {
	for _, c := range rs.Status.Conditions {
		if c.Type == v1.ConditionReady {
			return c.Message
		}
	}
	return ""
}

var _ = Describe("Restore controller (a storage location no Backup describes)", func() {
	It("reads nothing while a prune of its location runs: it waits LocationBusy, then restores", func() {
		w := newWorld()
		w.cluster()
		older, newer := w.twoFulls("older", "newer")
		Expect(k8sClient.Delete(ctx, older)).To(Succeed())
		prune := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "older-prune"}, prune)).To(Succeed())
		})
		rs := w.restore("after-prune", func(s *v1.RestoreSpec) { s.Source.BackupName = newer.Name })
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestorePending))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonLocationBusy))
			g.Expect(restoreReadyMessage(got)).To(ContainSubstring("waiting for Job older-prune, which deletes artifacts in neo4j-backups-graph/" + w.ns + "/graph"))
			g.Expect(got.Status.JobName).To(BeEmpty())
		})
		completePrune(prune)
		Eventually(func(g Gomega) { g.Expect(getRestore(g, rs).Status.JobName).To(Equal("after-prune-restore")) }).
			WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("inspects the location with a Job, then restores the chain it found", func() {
		w := newWorld()
		rs := w.restore("from-storage", func(s *v1.RestoreSpec) {
			s.Source = v1.RestoreSource{Storage: &v1.StorageLocationSpec{ClaimName: "old-backups", Path: "prod/graph"}}
			s.RestoreUntil = "2026-11-03T12:00:00Z"
		})
		inspect := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "from-storage-inspect"}, inspect)).To(Succeed())
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestorePending))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonInspecting))
		})
		c := inspect.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(Equal([]string{"agent", "inspect", "--neo4j-version=5.26", "--dir=/backups/prod/graph", "--database=neo4j",
			"--until-time=2026-11-03T12:00:00Z"}))
		Expect(inspect.Spec.Template.Spec.Volumes[1].PersistentVolumeClaim.ReadOnly).To(BeTrue())
		Expect(inspect.Spec.Template.Spec.Affinity).To(BeNil(), "the zone is the bound volume's; the scheduler follows it")

		chain := []string{"neo4j-2026-11-01T02-00-00.backup", "neo4j-2026-11-02T02-00-00.backup", "neo4j-2026-11-03T02-00-00.backup", "neo4j-2026-11-04T02-00-00.backup"}
		finishRestore(inspect, 0, result.Restore{Database: "neo4j", Chain: chain})
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "from-storage-restore"}, job)).To(Succeed())
			g.Expect(getRestore(g, rs).Status.Chain).To(Equal(chain))
		})
		Expect(job.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--artifact="+chain[0], "--artifact="+chain[3], "--until-time=2026-11-03T12:00:00Z"))
	})

	It("keeps its events and conditions within the API server's limits for a long chain", func() {
		w := newWorld()
		rs := w.restore("long-chain", func(s *v1.RestoreSpec) {
			s.Source = v1.RestoreSource{Storage: &v1.StorageLocationSpec{ClaimName: "old-backups", Path: "prod/graph"}}
		})
		inspect := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "long-chain-inspect"}, inspect)).To(Succeed())
		})
		// 90 artifacts: their names alone are 3 KiB, three times what an Event's note may hold.
		var chain []string
		for i := range 90 {
			chain = append(chain, fmt.Sprintf("neo4j-2026-11-%02dT%02d-00-00.backup", 1+i/24, i%24))
		}
		finishRestore(inspect, 0, result.Restore{Database: "neo4j", Chain: chain, UntilTx: 900, ChainHighTx: 900})
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "long-chain-restore"}, job)).To(Succeed())
		})
		finishRestore(job, 0, result.Restore{Database: "neo4j-restored"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreSucceeded))
			// The event is there at all: a note over 1 KiB is refused and silently dropped.
			g.Expect(strings.Join(eventsFor(w.ns, "long-chain"), "\n")).To(ContainSubstring("JobCreated: created Job long-chain-restore restoring"))
			g.Expect(strings.Join(eventsFor(w.ns, "long-chain"), "\n")).To(ContainSubstring("restoring 90 artifacts"))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1.ConditionReady).Message).To(
				Equal("restored neo4j as neo4j-restored from 90 artifacts, " + chain[0] + " … " + chain[89]))
		})
	})

	It("restores a database a Backup's report left out: the inspection ends at its artifact in the manifest, and a 2,000-artifact chain passes by its ends", func() {
		w := newWorld()
		cut := w.finishedBackup("cut", 4, true, 1, 5)
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cut), cut)).To(Succeed())
			cut.Status.Databases[0].Name = "tenant-000"
			cut.Status.Manifest = &v1.BackupManifest{File: "cut-20261104T020000Z.json", Digest: "sha256:" + strings.Repeat("b", 64), Databases: 200, Full: 200, Unlisted: 199}
			g.Expect(k8sClient.Status().Update(ctx, cut)).To(Succeed())
		})
		rs := w.restore("unlisted", func(s *v1.RestoreSpec) { s.Source.BackupName, s.Database = "cut", "tenant-150" })
		inspect := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "unlisted-inspect"}, inspect)).To(Succeed())
		})
		Expect(inspect.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--database=tenant-150", "--manifest=cut-20261104T020000Z.json@sha256:"+strings.Repeat("b", 64)))
		full, end := "tenant-150-2026-09-01T00-00-00.backup", "tenant-150-2026-11-04T02-00-00.backup"
		finishRestore(inspect, 0, result.Restore{Database: "tenant-150", Chain: []string{full, end}, ChainLength: 2000, UntilTx: 20000, ChainHighTx: 20000})
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "unlisted-restore"}, job)).To(Succeed())
		})
		Expect(job.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--artifact="+full, "--artifact="+end, "--chain-length=2000", "--source-database=tenant-150"))
		finishRestore(job, 0, result.Restore{Database: "neo4j-restored"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreSucceeded))
			g.Expect(got.Status.ChainLength).To(BeEquivalentTo(2000))
			g.Expect(got.Status.RestoredUntilTx).To(BeEquivalentTo(20000))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1.ConditionReady).Message).To(
				Equal("restored tenant-150 as neo4j-restored from 2000 artifacts, " + full + " … " + end))
		})
	})

	It("fails with the inspection's reason when the location holds no chain for the point", func() {
		w := newWorld()
		rs := w.restore("gap", func(s *v1.RestoreSpec) {
			s.Source = v1.RestoreSource{Storage: &v1.StorageLocationSpec{ClaimName: "old-backups", Path: "prod/graph"}}
		})
		inspect := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "gap-inspect"}, inspect)).To(Succeed())
		})
		finishRestore(inspect, 3, result.Restore{Database: "neo4j", Reason: "ChainBroken", Error: "the chain has a gap in its transactions: neo4j-2026-11-04T02-00-00.backup starts at transaction 31, after 20"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonChainBroken))
			g.Expect(restoreReadyMessage(got)).To(ContainSubstring("in old-backups/prod/graph: the chain has a gap"))
		})
	})
})
