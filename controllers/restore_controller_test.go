package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
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
	finishes++
	now := metav1.NewTime(time.Now().Truncate(time.Second).Add(time.Duration(finishes) * time.Second))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-r1", Namespace: job.Namespace,
			Labels: mergeLabels(job.Spec.Template.Labels, map[string]string{batchv1.JobNameLabel: job.Name})},
		Spec: job.Spec.Template.Spec,
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: resources.ContainerRestore, Image: "x",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Message: string(result.EncodeRestore(rep, result.MaxMessage)), FinishedAt: now, StartedAt: now}}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	job.Status.StartTime = &now
	if exitCode == 0 {
		job.Status.Succeeded, job.Status.CompletionTime = 1, &now
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now}}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "PodFailurePolicy", LastTransitionTime: now, LastProbeTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "PodFailurePolicy", LastTransitionTime: now, LastProbeTime: now}}
	}
	Expect(k8sClient.Status().Update(ctx, job)).To(Succeed())
}

var _ = Describe("Restore controller (mode Volume)", func() {
	var w *world
	BeforeEach(func() {
		w = newWorld()
		w.finishedBackup("d1", 1, true, 1, 100)
		w.finishedBackup("d2", 2, false, 101, 150)
		w.finishedBackup("d3", 3, false, 151, 170)
	})

	It("restores the chain that ends at a Backup, read-only, into the target claim", func() {
		rs := w.restore("from-d3", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "from-d3"}, job)).To(Succeed())
		})
		c := job.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(Equal([]string{"agent", "restore", "--neo4j-version=5.26", "--dir=/backups/" + w.ns + "/graph",
			"--database=neo4j-restored", "--data-dir=/data", "--temp-dir=/tmp/neo4j-restore",
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
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "until-tx"}, job)).To(Succeed())
		Expect(job.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--until-tx=120"))
	})

	It("fails with TargetExists when the agent finds the database and replaceExisting is false", func() {
		rs := w.restore("exists", nil)
		job := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "exists"}, job)).To(Succeed())
		})
		finishRestore(job, 3, result.Restore{Database: "neo4j-restored", Reason: "TargetExists", Error: "database neo4j-restored already exists in /data"})
		eventually(func(g Gomega) {
			got := getRestore(g, rs)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonTargetExists))
		})
	})

	It("refuses, with the reason, a broken chain, a point no chain covers, and an unfinished source", func() {
		gap := w.finishedBackup("d5", 5, false, 200, 210) // 171..199 missing
		broken := w.restore("gap", func(s *v1.RestoreSpec) { s.Source.BackupName = gap.Name })
		late := w.restore("late", func(s *v1.RestoreSpec) { s.RestoreUntil = "2026-12-24T00:00:00Z" })
		w.backup("running")
		unfinished := w.restore("unfinished", func(s *v1.RestoreSpec) { s.Source.BackupName = "running" })
		seed := w.restore("seed", func(s *v1.RestoreSpec) {
			s.Mode = v1.RestoreSeedFromURI
			s.Target = nil
			s.Cluster.Neo4jVersion = "2025.10"
			s.Cluster.ServerSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "graph"}}
			s.CredentialsSecret = &v1.CredentialsSecret{Name: "admin"}
		})
		eventually(func(g Gomega) {
			g.Expect(restoreReason(getRestore(g, broken))).To(Equal(v1.ReasonChainBroken))
			g.Expect(restoreReason(getRestore(g, late))).To(Equal(v1.ReasonNotCovered))
			g.Expect(restoreReason(getRestore(g, seed))).To(Equal(v1.ReasonNotSupportedYet))
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
