package controllers_test

import (
	"fmt"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// drillableOf makes a Backup of s as the Backup controller leaves a successful one, with what a
// restore resolves its chain from: the location, the zone, and neo4j's transaction range.
func (w *world) drillableOf(s *v1.BackupSchedule, name string, completed time.Time, typ v1.BackupType, low, high int64) {
	GinkgoHelper()
	w.ownedBackup(s, name, v1.BackupStatus{Phase: v1.BackupSucceeded, CompletionTime: &metav1.Time{Time: completed}, Type: string(typ),
		Storage:   &v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: w.ns + "/graph"},
		Placement: &v1.Placement{StorageZone: "zone-c"},
		Databases: []v1.DatabaseResult{{Name: "neo4j", Type: typ, Artifact: "neo4j-" + completed.UTC().Format("2006-01-02T15-04-05") + ".backup",
			LowestTx: low, HighestTx: high, Consistent: ptr.To(true)}}})
}

func drillsOf(g Gomega, s *v1.BackupSchedule) []v1.Restore {
	list := &v1.RestoreList{}
	g.Expect(k8sClient.List(ctx, list, client.InNamespace(s.Namespace), client.MatchingLabels{v1.ScheduleLabel: s.Name})).To(Succeed())
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func drillNames(rs []v1.Restore) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name+"<-"+r.Spec.Source.BackupName)
	}
	return out
}

func verified(g Gomega, s *v1.BackupSchedule) metav1.Condition {
	c := meta.FindStatusCondition(getSchedule(g, s).Status.Conditions, v1.ConditionVerified)
	g.Expect(c).NotTo(BeNil(), "no Verified condition")
	return *c
}

var _ = Describe("BackupSchedule controller (restore drills)", func() {
	AfterEach(func() { clock.SetTime(time.Now()) })

	It("drills the newest chain and an older one at each drill slot, says Verified, and turns False on a failed drill", func() {
		w := newWorld()
		// Backups only on New Year's night: the drill slots, every 10 minutes, are what moves.
		s := w.schedule("drilled", "0 0 1 1 *", func(s *v1.BackupScheduleSpec) {
			s.Verify = &v1.VerifySpec{Schedule: "*/10 * * * *", OlderChain: true, HistoryLimit: ptr.To[int32](2),
				Scratch: v1.ClaimTemplate{StorageClassName: ptr.To("zonal"), Size: resource.MustParse("30Gi")}}
		})
		created := getSchedule(Default, s).CreationTimestamp.Time
		slot1 := created.Truncate(10 * time.Minute).Add(10 * time.Minute)
		minute := func(t time.Time) string { return t.UTC().Format("200601021504") }

		By("before any drill: Unknown, NoDrillYet, with the next drill slot and the defaults applied")
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			g.Expect(got.Spec.Verify.Database).To(Equal("neo4j"), "default database")
			c := verified(g, s)
			g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(c.Reason).To(Equal(v1.ReasonNoDrillYet))
			got = getSchedule(g, s)
			g.Expect(got.Status.Verification.NextScheduleTime.Time).To(BeTemporally("==", slot1))
			g.Expect(got.Status.Verification.Since).NotTo(BeNil())
		})
		// Two chains of neo4j: f1 d1 | f2 d2.
		w.drillableOf(s, "f1", created.Add(-4*time.Hour), v1.BackupFull, 1, 100)
		w.drillableOf(s, "d1", created.Add(-3*time.Hour), v1.BackupDiff, 101, 150)
		w.drillableOf(s, "f2", created.Add(-2*time.Hour), v1.BackupFull, 151, 200)
		w.drillableOf(s, "d2", created.Add(-1*time.Hour), v1.BackupDiff, 201, 250)
		// The slot must come after the schedule has seen d2 (its cache lags the API): else it
		// drills f2, the newest it knows (seen once in CI).
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.LastSuccessfulBackup).To(Equal("d2")) })

		By("the first drill slot: a drill of the newest Backup, and one of the older chain")
		at(slot1.Add(time.Second), s)
		newest1, older1 := "drilled-verify-"+minute(slot1), "drilled-verify-"+minute(slot1)+"-older"
		var olderSource string
		eventually(func(g Gomega) {
			drills := drillsOf(g, s)
			g.Expect(drills).To(HaveLen(2))
			g.Expect(drills[0].Name).To(Equal(newest1))
			g.Expect(drills[0].Spec.Source.BackupName).To(Equal("d2"))
			g.Expect(drills[0].Spec.Mode).To(Equal(v1.RestoreVerify))
			g.Expect(drills[0].Spec.Scratch.Size.String()).To(Equal("30Gi"))
			g.Expect(drills[0].Spec.Memory.PageCache.String()).To(Equal("1Gi"), "the template's budget")
			g.Expect(drills[1].Name).To(Equal(older1))
			g.Expect(drills[1].Spec.Source.BackupName).To(BeElementOf("f1", "d1"), "a Backup of the older chain")
			olderSource = drills[1].Spec.Source.BackupName
			g.Expect(verified(g, s).Message).To(ContainSubstring("is running; no drill has finished yet"))
		})

		By("both drills verify their chains: True, with what the newest chain's drill measured")
		finishRestore(restoreJobOf(newest1, w.ns), 0, result.Restore{Database: "neo4j", RestoreTime: 4 * time.Second, CheckTime: 2 * time.Second, Consistent: ptr.To(true)})
		finishRestore(restoreJobOf(older1, w.ns), 0, result.Restore{Database: "neo4j", RestoreTime: 3 * time.Second, CheckTime: time.Second, Consistent: ptr.To(true)})
		eventually(func(g Gomega) {
			c := verified(g, s)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(v1.ReasonVerified))
			g.Expect(c.Message).To(Equal("drill " + newest1 + " restored Backup d2 (until transaction 250) and found neo4j consistent: restore 4s, check 2s"))
			v := getSchedule(g, s).Status.Verification
			g.Expect(v.LastDrill).To(Equal(newest1))
			g.Expect(v.Backup).To(Equal("d2"))
			g.Expect(v.BackupTime.Time).To(BeTemporally("==", created.Add(-time.Hour).Truncate(time.Second)))
			g.Expect(v.RestoredUntilTx).To(BeEquivalentTo(250))
			g.Expect(v.RestoreDuration.Duration).To(Equal(4 * time.Second))
			g.Expect(v.CheckDuration.Duration).To(Equal(2 * time.Second))
			g.Expect(v.Result).To(Equal("Consistent"))
			g.Expect(v.LastVerifiedBackup).To(Equal("d2"))
			g.Expect(v.Active).To(BeEmpty())

			d2 := &v1.Backup{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "d2"}, d2)).To(Succeed())
			g.Expect(d2.Status.Verification).NotTo(BeNil(), "the Backup the drill proved does not say so")
			g.Expect(*d2.Status.Verification).To(MatchFields(newest1, "neo4j", true))
			picked := &v1.Backup{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: olderSource}, picked)).To(Succeed())
			g.Expect(picked.Status.Verification).NotTo(BeNil())
			g.Expect(picked.Status.Verification.Restore).To(Equal(older1))

			g.Expect(testutil.ToFloat64(metrics.ScheduleVerified.WithLabelValues(w.ns, "drilled"))).To(BeEquivalentTo(1))
			g.Expect(testutil.ToFloat64(metrics.DrillRestoreSeconds.WithLabelValues(w.ns, "drilled"))).To(BeEquivalentTo(4))
			g.Expect(testutil.ToFloat64(metrics.DrillCheckSeconds.WithLabelValues(w.ns, "drilled"))).To(BeEquivalentTo(2))
			g.Expect(testutil.ToFloat64(metrics.ScheduleVerifyInterval.WithLabelValues(w.ns, "drilled"))).To(BeEquivalentTo(600))
			g.Expect(testutil.ToFloat64(metrics.ScheduleLastVerified.WithLabelValues(w.ns, "drilled"))).To(BeNumerically(">", 0))
			g.Expect(scratchGone(g, w.ns, newest1+"-scratch")).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "drilled")).To(ContainElement(ContainSubstring("Normal DrillCreated: created drill " + newest1 + " of Backup d2 (newest chain")))
		})

		By("the second slot's newest-chain drill finds inconsistencies: False, Inconsistent, and the Backup says so")
		slot2 := slot1.Add(10 * time.Minute)
		at(slot2.Add(time.Second), s)
		newest2, older2 := "drilled-verify-"+minute(slot2), "drilled-verify-"+minute(slot2)+"-older"
		eventually(func(g Gomega) { g.Expect(drillNames(drillsOf(g, s))).To(HaveLen(4)) })
		finishRestore(restoreJobOf(newest2, w.ns), 3, result.Restore{Database: "neo4j", RestoreTime: time.Second, CheckTime: time.Second, Consistent: ptr.To(false),
			Report: "drill-report/inconsistencies-x.report", Reason: "Inconsistent",
			Error: "database neo4j restored, but the consistency check found inconsistencies: report drill-report/inconsistencies-x.report"})
		eventually(func(g Gomega) {
			c := verified(g, s)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(v1.ReasonInconsistent))
			g.Expect(c.Message).To(And(ContainSubstring("drill "+newest2+" of Backup d2 failed (Inconsistent)"), ContainSubstring("drill-report/inconsistencies-x.report")))
			g.Expect(getSchedule(g, s).Status.Verification.LastVerifiedBackup).To(Equal("d2"), "the earlier verification is remembered")
			d2 := &v1.Backup{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "d2"}, d2)).To(Succeed())
			g.Expect(*d2.Status.Verification).To(MatchFields(newest2, "neo4j", false))
			g.Expect(testutil.ToFloat64(metrics.ScheduleVerified.WithLabelValues(w.ns, "drilled"))).To(BeEquivalentTo(0))
		})

		By("a slot while the older chain's drill still runs is skipped (Forbid), and counted")
		slot3 := slot2.Add(10 * time.Minute)
		at(slot3.Add(time.Second), s)
		eventually(func(g Gomega) {
			v := getSchedule(g, s).Status.Verification
			g.Expect(v.MissedSlots).To(BeEquivalentTo(1))
			g.Expect(v.LastMissedTime.Time).To(BeTemporally("==", slot3))
			g.Expect(v.Active).To(Equal([]string{older2}))
			g.Expect(eventsFor(w.ns, "drilled")).To(ContainElement(ContainSubstring("Warning DrillSkipped: drill slot " + slot3.UTC().Format(time.RFC3339) + " skipped: drill " + older2 + " is still running")))
		})
		By("history keeps the newest two finished drills, and the running one")
		eventually(func(g Gomega) {
			g.Expect(drillNames(drillsOf(g, s))).To(ConsistOf(HavePrefix(older1+"<-"), HavePrefix(newest2+"<-"), HavePrefix(older2+"<-")))
		})
		finishRestore(restoreJobOf(older2, w.ns), 0, result.Restore{Database: "neo4j", RestoreTime: time.Second, CheckTime: time.Second, Consistent: ptr.To(true)})
		eventually(func(g Gomega) {
			g.Expect(drillNames(drillsOf(g, s))).To(ConsistOf(HavePrefix(newest2+"<-"), HavePrefix(older2+"<-")))
		})
		Consistently(func(g Gomega) {
			g.Expect(verified(g, s).Reason).To(Equal(v1.ReasonInconsistent), "an older drill passing later does not hide the newest chain's failure")
		}).
			WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("drills nothing while suspended, nor the slots that passed meanwhile, and says Suspended, not Unverified", func() {
		w := newWorld()
		s := w.schedule("paused", "0 0 1 1 *", func(s *v1.BackupScheduleSpec) {
			s.Suspend = true
			s.Verify = &v1.VerifySpec{Schedule: "*/10 * * * *", Scratch: v1.ClaimTemplate{Size: resource.MustParse("10Gi")}}
		})
		created := getSchedule(Default, s).CreationTimestamp.Time
		slot1 := created.Truncate(10 * time.Minute).Add(10 * time.Minute)
		w.drillableOf(s, "f1", created.Add(-time.Hour), v1.BackupFull, 1, 100)
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.LastSuccessfulBackup).To(Equal("f1")) })

		at(slot1.Add(time.Second), s)
		eventually(func(g Gomega) {
			c := verified(g, s)
			g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(c.Reason).To(Equal(v1.ReasonSuspended))
			g.Expect(getSchedule(g, s).Status.Verification.NextScheduleTime).To(BeNil())
		})
		Expect(drillsOf(Default, s)).To(BeEmpty())
		Expect(seriesIn(metrics.ScheduleVerified, w.ns)).To(BeZero(), "no alert for a suspended schedule")

		By("resumed: the slot that passed while suspended is skipped and counted, the next one drilled")
		editSchedule(s, func(spec *v1.BackupScheduleSpec) { spec.Suspend = false })
		eventually(func(g Gomega) {
			v := getSchedule(g, s).Status.Verification
			g.Expect(v.MissedSlots).To(BeEquivalentTo(1))
			g.Expect(v.LastMissedTime.Time).To(BeTemporally("==", slot1))
		})
		Expect(drillsOf(Default, s)).To(BeEmpty(), "a slot passed while suspended was drilled")
		slot2 := slot1.Add(10 * time.Minute)
		at(slot2.Add(time.Second), s)
		eventually(func(g Gomega) {
			g.Expect(drillNames(drillsOf(g, s))).To(Equal([]string{"paused-verify-" + slot2.UTC().Format("200601021504") + "<-f1"}))
		})
	})

	It("says Unverified when no drill verified a chain within two drill intervals, and drops it all when verify is removed", func() {
		w := newWorld()
		s := w.schedule("unproved", "0 0 1 1 *", func(s *v1.BackupScheduleSpec) {
			s.Verify = &v1.VerifySpec{Schedule: "0 3 * * *", Scratch: v1.ClaimTemplate{Size: resource.MustParse("10Gi")}}
		})
		eventually(func(g Gomega) { g.Expect(verified(g, s).Reason).To(Equal(v1.ReasonNoDrillYet)) })
		since := getSchedule(Default, s).Status.Verification.Since.Time

		By("two days on, with no Backup to drill at either slot")
		later := since.Add(48*time.Hour + time.Minute)
		created := getSchedule(Default, s).CreationTimestamp.Time
		slots := 0 // the 03:00 UTC slots since the schedule was created: all skipped, one catch-up counted with them
		for t := created.Truncate(time.Hour); !t.After(later); t = t.Add(time.Hour) {
			if t.After(created) && t.UTC().Hour() == 3 {
				slots++
			}
		}
		at(later, s)
		eventually(func(g Gomega) {
			c := verified(g, s)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(v1.ReasonUnverified))
			g.Expect(c.Message).To(ContainSubstring("no drill has verified a chain in the two drill intervals (48h0m0s) since spec.verify was set"))
			g.Expect(testutil.ToFloat64(metrics.ScheduleVerified.WithLabelValues(w.ns, "unproved"))).To(BeEquivalentTo(0))
			g.Expect(getSchedule(g, s).Status.Verification.MissedSlots).To(BeEquivalentTo(slots), "the slots with nothing to drill are counted")
			g.Expect(eventsFor(w.ns, "unproved")).To(ContainElement(ContainSubstring("holds a restorable neo4j yet")))
		})

		By("spec.verify removed: no condition, no status, no series")
		editSchedule(s, func(spec *v1.BackupScheduleSpec) { spec.Verify = nil })
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1.ConditionVerified)).To(BeNil())
			g.Expect(got.Status.Verification).To(BeNil())
			for _, series := range []prometheus.Collector{metrics.ScheduleVerified, metrics.ScheduleLastVerified, metrics.ScheduleVerifyInterval} {
				g.Expect(seriesIn(series, w.ns)).To(BeZero())
			}
		})
	})
})

// restoreJobOf waits for the restore Job of Restore name.
func restoreJobOf(name, ns string) *batchv1.Job {
	GinkgoHelper()
	job := &batchv1.Job{}
	eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-restore"}, job)).To(Succeed())
	})
	return job
}

// MatchFields matches a Backup's verification by drill, database and verdict.
func MatchFields(restore, database string, consistent bool) OmegaMatcher {
	return WithTransform(func(v v1.BackupVerification) string {
		return fmt.Sprintf("%s %s %v", v.Restore, v.Database, v.Consistent)
	}, Equal(fmt.Sprintf("%s %s %v", restore, database, consistent)))
}
