package controllers_test

import (
	"errors"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

func (w *world) schedule(name, cron string, mut ...func(*v1.BackupScheduleSpec)) *v1.BackupSchedule {
	GinkgoHelper()
	// The controller looks at a new schedule at once, at the injected time: bring the clock back
	// to the real one, where a spec's earlier steps may have moved it.
	clock.SetTime(time.Now())
	s := &v1.BackupSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec:       v1.BackupScheduleSpec{Schedule: v1.CronSchedule(cron), Template: backupSpec()},
	}
	for _, m := range mut {
		m(&s.Spec)
	}
	Expect(k8sClient.Create(ctx, s)).To(Succeed())
	return s
}

// at sets the injected clock and pokes obj so that its controller looks at once (instead of at
// the requeue it computed from the clock).
func at(t time.Time, obj client.Object) {
	GinkgoHelper()
	clock.SetTime(t)
	poke(obj)
}

var pokes int

func poke(obj client.Object) {
	GinkgoHelper()
	pokes++
	// The controller writes status meanwhile: retry on conflict, as kubectl annotate would.
	eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		a := obj.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a["test/poke"] = fmt.Sprint(pokes)
		obj.SetAnnotations(a)
		g.Expect(k8sClient.Update(ctx, obj)).To(Succeed())
	})
}

func backupsOf(g Gomega, s *v1.BackupSchedule) []v1.Backup {
	list := &v1.BackupList{}
	g.Expect(k8sClient.List(ctx, list, client.InNamespace(s.Namespace), client.MatchingLabels{v1.ScheduleLabel: s.Name})).To(Succeed())
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func names(bs []v1.Backup) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return out
}

// editSchedule changes s's spec as a user would, again on a conflict with the controller's writes.
func editSchedule(s *v1.BackupSchedule, edit func(*v1.BackupScheduleSpec)) {
	GinkgoHelper()
	eventually(func(g Gomega) {
		got := getSchedule(g, s)
		edit(&got.Spec)
		g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
	})
}

func getSchedule(g Gomega, s *v1.BackupSchedule) *v1.BackupSchedule {
	out := &v1.BackupSchedule{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), out)).To(Succeed())
	return out
}

// slotAfter is the first */5 slot after t.
func slotAfter(t time.Time) time.Time {
	return t.Truncate(5 * time.Minute).Add(5 * time.Minute)
}

// finishedOf makes a Backup of s as the Backup controller leaves a finished one: phase, type and
// (unless Failed) an artifact of neo4j; PartiallyFailed means that artifact failed its check.
func (w *world) finishedOf(s *v1.BackupSchedule, name string, at time.Time, phase v1.BackupPhase, typ string) {
	GinkgoHelper()
	st := v1.BackupStatus{Phase: phase, Type: typ, CompletionTime: &metav1.Time{Time: at}}
	if phase != v1.BackupFailed {
		d := v1.DatabaseResult{Name: "neo4j", Type: v1.BackupType(typ), Artifact: "neo4j-" + at.Format("2006-01-02T15-04-05") + ".backup", Consistent: ptr.To(true)}
		if phase == v1.BackupPartiallyFailed {
			d.Consistent, d.Error = ptr.To(false), "the consistency check found 3 inconsistencies"
		}
		st.Databases = []v1.DatabaseResult{d}
	}
	w.ownedBackup(s, name, st)
}

// ownedBackup makes a Backup of s with status st.
func (w *world) ownedBackup(s *v1.BackupSchedule, name string, st v1.BackupStatus) {
	GinkgoHelper()
	owner := getSchedule(Default, s)
	b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns,
		Labels:          map[string]string{v1.ScheduleLabel: s.Name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "BackupSchedule", Name: s.Name, UID: owner.UID, Controller: ptr.To(true)}},
	}, Spec: backupSpec()}
	Expect(k8sClient.Create(ctx, b)).To(Succeed())
	// The Backup controller may write Pending first (this world has no servers); the
	// finished status wins the race on retry, and then it is left alone.
	eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		b.Status = *st.DeepCopy()
		g.Expect(k8sClient.Status().Update(ctx, b)).To(Succeed())
	})
}

// succeed plays a Backup's whole run: its Job completes with a report for type.
func succeed(g Gomega, name, ns, typ string) {
	b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	finish(jobOf(b), 0, report(good("neo4j", typ), good("movies", typ)))
}

var _ = Describe("BackupSchedule controller", func() {
	AfterEach(func() { clock.SetTime(time.Now()) })

	It("takes one Backup per slot, named by the slot, FULL first and on the full schedule's slots", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("nightly", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.FullBackupSchedule = "0,30 * * * *" })
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)

		By("the first slot: a FULL, since there is no chain yet")
		at(s1.Add(time.Second), s)
		name1 := fmt.Sprintf("nightly-%s", s1.UTC().Format("200601021504"))
		eventually(func(g Gomega) {
			bs := backupsOf(g, s)
			g.Expect(names(bs)).To(Equal([]string{name1}))
			g.Expect(bs[0].Spec.Type).To(Equal(v1.BackupFull))
			g.Expect(bs[0].Annotations).To(HaveKeyWithValue(v1.ScheduleAnnotation, "nightly"))
			g.Expect(bs[0].OwnerReferences).To(BeEmpty(), "backupOwnerReference None, the default")
			got := getSchedule(g, s)
			g.Expect(got.Status.LastScheduleTime).NotTo(BeNil())
			g.Expect(got.Status.NextScheduleTime).NotTo(BeNil())
			g.Expect(got.Status.LastScheduleTime.Time).To(BeTemporally("==", s1))
			g.Expect(got.Status.NextScheduleTime.Time).To(BeTemporally("==", s1.Add(5*time.Minute)))
			g.Expect(got.Status.Active).To(HaveLen(1))
		})

		By("a retried reconcile in the same slot creates nothing")
		poke(s)
		Consistently(func(g Gomega) { g.Expect(backupsOf(g, s)).To(HaveLen(1)) }).WithTimeout(time.Second).Should(Succeed())

		succeed(Default, name1, w.ns, "FULL")
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			g.Expect(got.Status.LastSuccessfulBackup).To(Equal(name1))
			g.Expect(got.Status.Active).To(BeEmpty())
			g.Expect(got.Status.StorageZone).To(Equal("zone-c"))
			c := meta.FindStatusCondition(got.Status.Conditions, v1.ConditionLastBackupSucceeded)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		})

		By("its FULL is the whole restorable window of each database it holds, in status and in metrics")
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			done := got.Status.LastSuccessfulTime
			g.Expect(done).NotTo(BeNil())
			g.Expect(got.Status.Restorable).To(HaveLen(2))
			for i, db := range []string{"movies", "neo4j"} { // the report's transactions: 1 to 42
				wd := got.Status.Restorable[i]
				g.Expect(wd.Database).To(Equal(db))
				g.Expect(wd.OldestTime.Time).To(BeTemporally("==", done.Time))
				g.Expect(wd.NewestTime.Time).To(BeTemporally("==", done.Time))
				g.Expect(wd.NewestTransaction).To(Equal(int64(42)))
				g.Expect(testutil.ToFloat64(metrics.RestorableNewest.WithLabelValues(w.ns, "graph", "nightly", db))).To(Equal(float64(done.Unix())))
				g.Expect(testutil.ToFloat64(metrics.RestorableNewestTx.WithLabelValues(w.ns, "graph", "nightly", db))).To(Equal(float64(42)))
			}
			g.Expect(testutil.ToFloat64(metrics.ScheduleLastBackup.WithLabelValues(w.ns, "nightly", "Succeeded", v1.ReasonSucceeded))).To(Equal(float64(1)))
			g.Expect(seriesIn(metrics.ScheduleLastBackup, w.ns)).To(Equal(1))
		})

		By("the next slots: DIFF (AUTO) on ordinary slots, FULL on the full schedule's")
		s2 := s1.Add(5 * time.Minute)
		at(s2.Add(time.Second), s)
		eventually(func(g Gomega) { g.Expect(backupsOf(g, s)).To(HaveLen(2)) })
		b2 := backupsOf(Default, s)[1]
		want := v1.BackupAuto
		if s2.Minute()%30 == 0 {
			want = v1.BackupFull
		}
		Expect(b2.Spec.Type).To(Equal(want))
	})

	It("counts a skipped slot once when the status write that counted it conflicts", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("forbid", "*/5 * * * *")
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)
		at(s1.Add(time.Second), s)
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.Active).To(HaveLen(1)) }) // running: Forbid holds the next slot
		missed := func() float64 {
			return testutil.ToFloat64(metrics.MissedSlots.WithLabelValues(w.ns, "forbid", "Forbid"))
		}
		before := missed()

		// The write that counts the skipped slot is the one that conflicts.
		conflicts := faults.injectIf(w.ns, "status", "BackupSchedule", 1,
			func(obj client.Object) bool { return obj.(*v1.BackupSchedule).Status.MissedSlots == 1 },
			apierrors.NewConflict(schema.GroupResource{Group: v1.GroupVersion.Group, Resource: "backupschedules"}, "forbid", errors.New("the object has been modified")))
		at(s1.Add(5*time.Minute+time.Second), s)
		eventually(func(g Gomega) {
			g.Expect(conflicts()).To(Equal(1))
			g.Expect(getSchedule(g, s).Status.MissedSlots).To(BeEquivalentTo(1))
		})
		// The metric follows the write that landed (a moment after it), and only that one.
		eventually(func(g Gomega) { g.Expect(missed()).To(Equal(before + 1)) })
		Consistently(missed).WithTimeout(2*time.Second).Should(Equal(before+1), "the metric counts the slot once")
	})

	It("says so in status and an event when the API refuses its Backup, and keeps the slot", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("quota", "*/5 * * * *")
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)
		faults.inject(w.ns, "create", "Backup", 1000, apierrors.NewForbidden(
			schema.GroupResource{Group: v1.GroupVersion.Group, Resource: "backups"}, "quota-x", errors.New("exceeded quota: backups=10")))
		DeferCleanup(func() { faults.clear(w.ns) })
		at(s1.Add(time.Second), s)
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			ready := meta.FindStatusCondition(got.Status.Conditions, v1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal("FailedCreate"))
			g.Expect(ready.Message).To(And(ContainSubstring("exceeded quota"), ContainSubstring("Forbidden")))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1.ConditionScheduled).Reason).To(Equal("FailedCreate"))
			g.Expect(strings.Join(eventsFor(w.ns, "quota"), "\n")).To(ContainSubstring("Warning FailedCreate: creating Backup quota-"))
		})
		By("the API accepts it again: the slot is taken without waiting for the next one")
		faults.clear(w.ns)
		Eventually(func(g Gomega) {
			list := &v1.BackupList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(w.ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(1))
			g.Expect(meta.FindStatusCondition(getSchedule(g, s).Status.Conditions, v1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).WithTimeout(20 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("finds its Backups when its name is longer than a label value (63 characters)", func() {
		w := newWorld()
		w.cluster()
		long := "nightly-" + strings.Repeat("graph", 14) // 78 characters, as GitOps tools generate
		s := w.schedule(long, "*/5 * * * *")
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)
		mine := func(g Gomega) []v1.Backup {
			list := &v1.BackupList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(w.ns))).To(Succeed())
			var out []v1.Backup
			for _, b := range list.Items {
				if b.Annotations[v1.ScheduleUIDAnnotation] == string(getSchedule(g, s).UID) {
					out = append(out, b)
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
			return out
		}
		at(s1.Add(time.Second), s)
		name1 := fmt.Sprintf("%s-%s", long, s1.UTC().Format("200601021504"))
		eventually(func(g Gomega) { g.Expect(names(mine(g))).To(Equal([]string{name1})) })
		Expect(mine(Default)[0].Labels[v1.ScheduleLabel]).NotTo(Equal(long), "the label is shortened")
		succeed(Default, name1, w.ns, "FULL")
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.LastSuccessfulBackup).To(Equal(name1)) })

		By("the next slot extends the chain instead of starting another")
		at(s1.Add(5*time.Minute+time.Second), s)
		eventually(func(g Gomega) { g.Expect(mine(g)).To(HaveLen(2)) })
		Expect(mine(Default)[1].Spec.Type).To(Equal(v1.BackupAuto))
	})

	It("owns none of its Backups by default, yet finds and adopts them by its UID, and leaves a same-named foreign one alone", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("unowned", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.ConcurrencyPolicy = v1.ConcurrencyAllow })
		got := getSchedule(Default, s)
		Expect(got.Spec.BackupOwnerReference).To(Equal(v1.BackupOwnerNone), "the default")
		s1 := slotAfter(got.CreationTimestamp.Time)
		at(s1.Add(time.Second), s)
		var first v1.Backup
		eventually(func(g Gomega) {
			bs := backupsOf(g, s)
			g.Expect(bs).To(HaveLen(1))
			first = bs[0]
		})
		Expect(first.OwnerReferences).To(BeEmpty(), "deleting the schedule must leave its Backups")
		Expect(first.Annotations).To(HaveKeyWithValue(v1.ScheduleUIDAnnotation, string(got.UID)))
		Expect(first.Annotations).To(HaveKeyWithValue(v1.ScheduleAnnotation, "unowned"))
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.Active).To(HaveLen(1)) })

		By("its own Backup for the next slot, made by a pass whose status write was lost, is adopted by its UID")
		s2 := s1.Add(5 * time.Minute)
		mine := &v1.Backup{ObjectMeta: metav1.ObjectMeta{
			Name: "unowned-" + s2.UTC().Format("200601021504"), Namespace: w.ns,
			Annotations: map[string]string{v1.SlotAnnotation: s2.UTC().Format(time.RFC3339), v1.ScheduleUIDAnnotation: string(got.UID), v1.ScheduleAnnotation: "unowned"},
			Labels:      map[string]string{v1.ScheduleLabel: "unowned"},
		}, Spec: backupSpec()}
		Expect(k8sClient.Create(ctx, mine)).To(Succeed())
		at(s2.Add(time.Second), s)
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.Active).To(HaveLen(2)) })

		By("a foreign Backup with its label and the next slot's name, but not its UID, is neither adopted nor counted")
		s3 := s2.Add(5 * time.Minute)
		foreign := &v1.Backup{ObjectMeta: metav1.ObjectMeta{
			Name: "unowned-" + s3.UTC().Format("200601021504"), Namespace: w.ns,
			Annotations: map[string]string{v1.SlotAnnotation: s3.UTC().Format(time.RFC3339), v1.ScheduleUIDAnnotation: "someone-else"},
			Labels:      map[string]string{v1.ScheduleLabel: "unowned"},
		}, Spec: backupSpec()}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		at(s3.Add(time.Second), s)
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "unowned")).To(ContainElement(ContainSubstring("SlotTaken")))
		})
		Expect(getSchedule(Default, s).Status.Active).To(HaveLen(2))

		// Not adopted: no owner reference, and the foreign one's UID is left as it was.
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
		Expect(foreign.OwnerReferences).To(BeEmpty())
		Expect(foreign.Annotations).To(HaveKeyWithValue(v1.ScheduleUIDAnnotation, "someone-else"))

		By("a Backup an earlier version made, with the schedule as its controller, is released: the garbage collector would take it with the schedule")
		w.ownedBackup(s, "unowned-legacy", v1.BackupStatus{Phase: v1.BackupSucceeded})
		eventually(func(g Gomega) {
			legacy := &v1.Backup{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "unowned-legacy"}, legacy)).To(Succeed())
			g.Expect(legacy.OwnerReferences).To(BeEmpty())
			g.Expect(legacy.Annotations).To(HaveKeyWithValue(v1.ScheduleUIDAnnotation, string(got.UID)))
			g.Expect(legacy.Annotations).To(HaveKeyWithValue(v1.ScheduleAnnotation, "unowned"))
		})
	})

	It("owns its Backups with backupOwnerReference Schedule", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("owning", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.BackupOwnerReference = v1.BackupOwnerSchedule })
		got := getSchedule(Default, s)
		at(slotAfter(got.CreationTimestamp.Time).Add(time.Second), s)
		eventually(func(g Gomega) {
			bs := backupsOf(g, s)
			g.Expect(bs).To(HaveLen(1))
			g.Expect(metav1.IsControlledBy(&bs[0], got)).To(BeTrue())
		})
	})

	It("adopts its own Backup for a slot after a lost status write, and leaves a foreign one alone", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("restart", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.ConcurrencyPolicy = v1.ConcurrencyAllow })
		got := getSchedule(Default, s)
		s1 := slotAfter(got.CreationTimestamp.Time)
		// The Backup a previous pass created before its status write was lost.
		mine := &v1.Backup{ObjectMeta: metav1.ObjectMeta{
			Name: "restart-" + s1.UTC().Format("200601021504"), Namespace: w.ns,
			Annotations:     map[string]string{v1.SlotAnnotation: s1.UTC().Format(time.RFC3339)},
			Labels:          map[string]string{v1.ScheduleLabel: "restart"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "BackupSchedule", Name: "restart", UID: got.UID, Controller: ptr.To(true)}},
		}, Spec: backupSpec()}
		Expect(k8sClient.Create(ctx, mine)).To(Succeed())
		at(s1.Add(time.Second), s)
		eventually(func(g Gomega) {
			g.Expect(getSchedule(g, s).Status.LastScheduleTime).NotTo(BeNil())
			g.Expect(backupsOf(g, s)).To(HaveLen(1))
		})

		foreign := w.backup("restart-" + s1.Add(5*time.Minute).UTC().Format("200601021504"))
		at(s1.Add(5*time.Minute+time.Second), s)
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "restart")).To(ContainElement(ContainSubstring("SlotTaken")))
		})
		// Not adopted: no owner reference, and the schedule still counts only its own Backup.
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
		Expect(foreign.OwnerReferences).To(BeEmpty())
		Expect(getSchedule(Default, s).Status.Active).To(HaveLen(1))
	})

	It("skips a slot while a backup runs (Forbid) and replaces the running one (Replace)", func() {
		w := newWorld()
		w.cluster()
		forbid := w.schedule("forbid", "*/5 * * * *")
		s1 := slotAfter(getSchedule(Default, forbid).CreationTimestamp.Time)
		at(s1.Add(time.Second), forbid)
		eventually(func(g Gomega) { g.Expect(backupsOf(g, forbid)).To(HaveLen(1)) })
		at(s1.Add(5*time.Minute+time.Second), forbid)
		eventually(func(g Gomega) {
			got := getSchedule(g, forbid)
			g.Expect(got.Status.MissedSlots).To(BeEquivalentTo(1), "%v", eventsFor(w.ns, "forbid"))
			g.Expect(got.Status.LastMissedTime.Time).To(BeTemporally("==", s1.Add(5*time.Minute)))
		})
		Expect(backupsOf(Default, forbid)).To(HaveLen(1))

		replace := w.schedule("replace", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.ConcurrencyPolicy = v1.ConcurrencyReplace })
		r1 := slotAfter(getSchedule(Default, replace).CreationTimestamp.Time)
		at(r1.Add(time.Second), replace)
		eventually(func(g Gomega) { g.Expect(backupsOf(g, replace)).To(HaveLen(1)) })
		first := backupsOf(Default, replace)[0].Name
		at(r1.Add(5*time.Minute+time.Second), replace)
		eventually(func(g Gomega) {
			var live []string
			for _, b := range backupsOf(g, replace) {
				if b.DeletionTimestamp == nil {
					live = append(live, b.Name)
				}
			}
			g.Expect(live).To(Equal([]string{"replace-" + r1.Add(5*time.Minute).UTC().Format("200601021504")}))
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "replace")).To(ContainElement(ContainSubstring("deleted running Backup " + first)))
		})
	})

	It("does not replace a Backup that finished a moment before the delete (Replace)", func() {
		w := newWorld()
		w.cluster()
		replace := w.schedule("late", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.ConcurrencyPolicy = v1.ConcurrencyReplace })
		r1 := slotAfter(getSchedule(Default, replace).CreationTimestamp.Time)
		at(r1.Add(time.Second), replace)
		eventually(func(g Gomega) { g.Expect(getSchedule(g, replace).Status.Active).To(HaveLen(1)) })
		first := backupsOf(Default, replace)[0].Name
		// Just before the schedule's delete lands, the Backup finishes (its controller writes
		// Succeeded): what the schedule read is stale.
		deletes := faults.before(w.ns, "delete", "Backup", 1, func(obj client.Object) {
			defer GinkgoRecover()
			succeed(Default, obj.GetName(), w.ns, "FULL")
			eventually(func(g Gomega) {
				b := &v1.Backup{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), b)).To(Succeed())
				g.Expect(b.Status.Phase).To(Equal(v1.BackupSucceeded))
			})
		})
		DeferCleanup(func() { faults.clear(w.ns) })
		at(r1.Add(5*time.Minute+time.Second), replace)
		eventually(func(g Gomega) {
			g.Expect(deletes()).To(Equal(1))
			bs := backupsOf(g, replace)
			g.Expect(names(bs)).To(Equal([]string{first, "late-" + r1.Add(5*time.Minute).UTC().Format("200601021504")}))
			g.Expect(bs[0].DeletionTimestamp).To(BeNil(), "the finished Backup is kept")
			g.Expect(bs[0].Status.Phase).To(Equal(v1.BackupSucceeded))
		})
	})

	It("after a long outage takes exactly one catch-up backup, and skips a slot past the deadline", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("outage", "* * * * *")
		created := getSchedule(Default, s).CreationTimestamp.Time
		at(created.Add(3*time.Hour+30*time.Second), s)
		eventually(func(g Gomega) {
			bs := backupsOf(g, s)
			g.Expect(bs).To(HaveLen(1))
			// Every minute in (created, now] is a slot; all but the newest are missed.
			slots := int64(created.Add(3*time.Hour+30*time.Second).Truncate(time.Minute).Sub(created.Truncate(time.Minute)) / time.Minute)
			g.Expect(getSchedule(g, s).Status.MissedSlots).To(Equal(slots-1), "%v", eventsFor(w.ns, "outage"))
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "outage")).To(ContainElement(ContainSubstring("only the most recent is taken")))
		})

		late := w.schedule("late", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.StartingDeadlineSeconds = ptr.To[int64](60) })
		l1 := slotAfter(getSchedule(Default, late).CreationTimestamp.Time)
		at(l1.Add(2*time.Minute), late)
		eventually(func(g Gomega) {
			got := getSchedule(g, late)
			g.Expect(got.Status.LastMissedTime).NotTo(BeNil())
			g.Expect(got.Status.LastMissedTime.Time).To(BeTemporally("==", l1))
		})
		Expect(backupsOf(Default, late)).To(BeEmpty())
	})

	It("takes no slot while suspended, nor the ones that passed, and takes one on the trigger annotation", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("paused", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.Suspend = true })
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)
		at(s1.Add(time.Second), s)
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			c := meta.FindStatusCondition(got.Status.Conditions, v1.ConditionScheduled)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1.ReasonSuspended))
			g.Expect(got.Status.NextScheduleTime).To(BeNil())
		})
		Expect(backupsOf(Default, s)).To(BeEmpty())
		Expect(seriesIn(metrics.ScheduleInterval, w.ns)).To(BeZero(), "a suspended schedule has no interval series: no staleness alert")

		By("the trigger takes one backup even while suspended, once per value")
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
			s.Annotations = map[string]string{v1.TriggerAnnotation: "before-upgrade"}
			g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
		})
		eventually(func(g Gomega) {
			bs := backupsOf(g, s)
			g.Expect(bs).To(HaveLen(1))
			g.Expect(bs[0].Name).To(HavePrefix("paused-manual-"))
			g.Expect(bs[0].Spec.Type).To(Equal(v1.BackupFull))
			g.Expect(getSchedule(g, s).Status.LastTrigger).To(Equal("before-upgrade"))
		})
		poke(s)
		Consistently(func(g Gomega) { g.Expect(backupsOf(g, s)).To(HaveLen(1)) }).WithTimeout(time.Second).Should(Succeed())
		succeed(Default, backupsOf(Default, s)[0].Name, w.ns, "FULL")
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.Active).To(BeEmpty()) })

		By("resuming after two slots passed takes neither")
		clock.SetTime(s1.Add(5*time.Minute + time.Second))
		editSchedule(s, func(spec *v1.BackupScheduleSpec) { spec.Suspend = false })
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1.ConditionScheduled).Reason).To(Equal(v1.ReasonScheduled))
			g.Expect(got.Status.MissedSlots).To(BeEquivalentTo(2))
		})
		Expect(backupsOf(Default, s)).To(HaveLen(1))
		Expect(testutil.ToFloat64(metrics.ScheduleInterval.WithLabelValues(w.ns, "paused"))).To(BeEquivalentTo(300))
		at(s1.Add(10*time.Minute+time.Second), s)
		eventually(func(g Gomega) { g.Expect(backupsOf(g, s)).To(HaveLen(2)) })

		By("a deleted schedule's series go with it")
		Expect(k8sClient.Delete(ctx, s)).To(Succeed())
		eventually(func(g Gomega) {
			g.Expect(seriesIn(metrics.ScheduleInterval, w.ns)).To(BeZero())
		})
	})

	It("reports a schedule the CRD's check lets through but that cannot run as InvalidSpec", func() {
		w := newWorld()
		s := w.schedule("backwards", "5-1 * * * *")
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			ready := meta.FindStatusCondition(got.Status.Conditions, v1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(v1.ReasonInvalidSpec))
			g.Expect(ready.Message).To(ContainSubstring("spec.schedule"))
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, "Stalled")).To(BeTrue())
		})
	})

	It("applies retention over a month of backups exactly as the rule says, and the failed-history limit", func() {
		w := newWorld()
		s := w.schedule("month", "0 2 * * *", func(s *v1.BackupScheduleSpec) {
			s.Retention = &v1.RetentionSpec{KeepDaily: ptr.To[int32](7), KeepWeekly: ptr.To[int32](3)}
			s.FailedBackupsHistoryLimit = ptr.To[int32](1)
		})
		// A month of finished nightly backups, FULL on Sundays, and three failures, made as the
		// Backup controller would have left them.
		base := time.Date(2026, 10, 1, 2, 0, 0, 0, time.UTC)
		mk := func(name string, at time.Time, phase v1.BackupPhase, typ string) {
			w.finishedOf(s, name, at, phase, typ)
		}
		for d := 0; d < 31; d++ {
			t := base.AddDate(0, 0, d)
			typ := "DIFF"
			if t.Weekday() == time.Sunday {
				typ = "FULL"
			}
			mk(fmt.Sprintf("month-%02d", d+1), t, v1.BackupSucceeded, typ)
		}
		for i := 0; i < 3; i++ {
			mk(fmt.Sprintf("month-failed-%d", i), base.AddDate(0, 0, 20+i).Add(time.Hour), v1.BackupFailed, "")
		}
		now := base.AddDate(0, 0, 30).Add(12 * time.Hour)

		at(now, s)
		eventually(func(g Gomega) {
			var live []string
			for _, b := range backupsOf(g, s) {
				if b.DeletionTimestamp == nil {
					live = append(live, b.Name)
				}
			}
			// Worked out by hand, not by the retention package: October 2026 has FULLs on the
			// Sundays 4, 11, 18 and 25. keepDaily 7 keeps 25 to 31; keepWeekly 3 keeps the newest
			// of the ISO weeks of 26 October (31), 19 October (25) and 12 October (18, a FULL);
			// the DIFFs 26 to 31 need their FULL of the 25th, kept already. Of the failures, the
			// newest one (failedBackupsHistoryLimit 1).
			g.Expect(live).To(Equal([]string{"month-18", "month-25", "month-26", "month-27", "month-28", "month-29",
				"month-30", "month-31", "month-failed-2"}))
		})
		// Every kept DIFF still has its chain back to a FULL.
		live := map[string]bool{}
		for _, b := range backupsOf(Default, s) {
			live[b.Name] = true
		}
		for d := 31; d >= 1; d-- {
			name := fmt.Sprintf("month-%02d", d)
			if !live[name] {
				continue
			}
			for e := d; e >= 1; e-- {
				prev := fmt.Sprintf("month-%02d", e)
				Expect(live).To(HaveKey(prev), "%s is kept but %s of its chain is gone", name, prev)
				if base.AddDate(0, 0, e-1).Weekday() == time.Sunday {
					break
				}
			}
		}
	})

	It("never lets retention delete the newest clean chain while the newest chain is not clean", func() {
		w := newWorld()
		s := w.schedule("clean", "0 2 * * *", func(s *v1.BackupScheduleSpec) {
			s.Retention = &v1.RetentionSpec{KeepLast: ptr.To[int32](1)}
		})
		day := func(d int) time.Time { return time.Date(2026, 10, d, 2, 0, 0, 0, time.UTC) }
		// Three chains; the newest starts with a FULL that failed its consistency check.
		w.finishedOf(s, "clean-04", day(4), v1.BackupSucceeded, "FULL")
		w.finishedOf(s, "clean-05", day(5), v1.BackupSucceeded, "DIFF")
		w.finishedOf(s, "clean-11", day(11), v1.BackupSucceeded, "FULL")
		w.finishedOf(s, "clean-12", day(12), v1.BackupSucceeded, "DIFF")
		w.finishedOf(s, "clean-13", day(13), v1.BackupSucceeded, "DIFF")
		w.finishedOf(s, "clean-18", day(18), v1.BackupPartiallyFailed, "FULL")
		w.finishedOf(s, "clean-19", day(19), v1.BackupSucceeded, "DIFF")

		at(day(19).Add(12*time.Hour), s)
		eventually(func(g Gomega) {
			var live []string
			for _, b := range backupsOf(g, s) {
				if b.DeletionTimestamp == nil {
					live = append(live, b.Name)
				}
			}
			// keepLast 1 keeps 19 and its chain back to 18; 18 is inconsistent, so the chain
			// of 11 to 13, the newest that restores cleanly, stays too. Only 4 and 5 go.
			g.Expect(live).To(Equal([]string{"clean-11", "clean-12", "clean-13", "clean-18", "clean-19"}))
		})
	})

	It("deletes what retention expires, artifacts included, with deletionPolicy Retain", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("expire", "*/5 * * * *", func(s *v1.BackupScheduleSpec) {
			s.Template.Type = v1.BackupFull
			s.Retention = &v1.RetentionSpec{KeepLast: ptr.To[int32](1)}
		})
		Expect(getSchedule(Default, s).Spec.Template.Storage.DeletionPolicy).To(Equal(v1.DeletionRetain))
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)
		older := fmt.Sprintf("expire-%s", s1.UTC().Format("200601021504"))
		newer := fmt.Sprintf("expire-%s", s1.Add(5*time.Minute).UTC().Format("200601021504"))
		full := func(day string) string {
			db := good("neo4j", "FULL")
			db.Artifact = "neo4j-2026-11-" + day + "T02-00-00.backup"
			return report(db)
		}
		at(s1.Add(time.Second), s)
		finish(jobOf(&v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: older, Namespace: w.ns}}), 0, full("28"))
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.LastSuccessfulBackup).To(Equal(older)) })
		at(s1.Add(5*time.Minute+time.Second), s)
		finish(jobOf(&v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: newer, Namespace: w.ns}}), 0, full("29"))
		eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.LastSuccessfulBackup).To(Equal(newer)) })
		poke(s)

		By("keepLast 1 expires the older: a prune Job deletes exactly its artifact before the Backup goes")
		prune := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: older + "-prune"}, prune)).To(Succeed())
		})
		Expect(prune.Spec.Template.Spec.Containers[0].Args).To(Equal([]string{"agent", "prune", "--dir=/backups/" + w.ns + "/graph", "--artifact=neo4j-2026-11-28T02-00-00.backup"}))
		b := &v1.Backup{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: older}, b)).To(Succeed())
		Expect(b.Annotations).To(HaveKeyWithValue(v1.ExpiredAnnotation, "retention"))
		Expect(b.DeletionTimestamp).NotTo(BeNil(), "held by its finalizer until the prune is done")
		completePrune(prune)
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: older}, &v1.Backup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, older)).To(ContainElement(ContainSubstring("ArtifactsDeleted: deleted 1 artifact, neo4j-2026-11-28T02-00-00.backup")))
		})

		By("deleted by hand, a Retain Backup keeps its artifacts: no prune")
		Expect(k8sClient.Delete(ctx, &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: newer, Namespace: w.ns}})).To(Succeed())
		eventually(func(g Gomega) {
			got := &v1.Backup{}
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: newer}, got)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "finalizers %v, annotations %v", got.Finalizers, got.Annotations)
		})
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: newer + "-prune"}, &batchv1.Job{})).NotTo(Succeed())
	})

	It("says how much is left on the backup volume, and warns when the next FULL would not fit", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("space", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.Template.Type = v1.BackupFull })
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)
		at(s1.Add(time.Second), s)
		name := fmt.Sprintf("space-%s", s1.UTC().Format("200601021504"))
		db := good("neo4j", "FULL")
		db.Size = 6 << 30
		rep := result.Backup{Databases: []result.Database{db}, Space: &result.Space{Capacity: 20 << 30, Free: 4 << 30}}
		finish(jobOf(&v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}}), 0, string(result.Encode(rep, result.MaxMessage)))
		eventually(func(g Gomega) {
			b := &v1.Backup{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: name}, b)).To(Succeed())
			g.Expect(b.Status.Space).NotTo(BeNil())
			g.Expect(b.Status.Space.Capacity.String()).To(Equal("20Gi"))
			g.Expect(b.Status.Space.Available.String()).To(Equal("4Gi"))
		})
		poke(s)
		eventually(func(g Gomega) {
			got := getSchedule(g, s)
			g.Expect(got.Status.Space).NotTo(BeNil())
			g.Expect(got.Status.Space.Available.String()).To(Equal("4Gi"))
			c := meta.FindStatusCondition(got.Status.Conditions, v1.ConditionStorageSpace)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(v1.ReasonLowSpace))
			g.Expect(c.Message).To(Equal("the next FULL (about 6Gi, the size of " + name + ") would not fit: 4Gi available of 20Gi on claim neo4j-backups-graph"))
			g.Expect(eventsFor(w.ns, "space")).To(ContainElement(ContainSubstring("Warning LowSpace: the next FULL (about 6Gi")))
			g.Expect(testutil.ToFloat64(metrics.StorageNextFullFits.WithLabelValues(w.ns, "space"))).To(BeEquivalentTo(0))
			g.Expect(testutil.ToFloat64(metrics.StorageAvailable.WithLabelValues(w.ns, "space"))).To(BeEquivalentTo(4 << 30))
		})
	})

	It("keeps the Jobs of the newest successful backups only", func() {
		w := newWorld()
		w.cluster()
		s := w.schedule("history", "*/5 * * * *", func(s *v1.BackupScheduleSpec) { s.SuccessfulBackupsHistoryLimit = ptr.To[int32](1) })
		s1 := slotAfter(getSchedule(Default, s).CreationTimestamp.Time)
		var made []string
		for i := 0; i < 3; i++ {
			slot := s1.Add(time.Duration(5*i) * time.Minute)
			at(slot.Add(time.Second), s)
			name := "history-" + slot.UTC().Format("200601021504")
			made = append(made, name)
			eventually(func(g Gomega) { g.Expect(names(backupsOf(g, s))).To(ContainElement(name)) })
			typ := "DIFF"
			if i == 0 {
				typ = "FULL"
			}
			succeed(Default, name, w.ns, typ)
			eventually(func(g Gomega) { g.Expect(getSchedule(g, s).Status.LastSuccessfulBackup).To(Equal(name)) })
		}
		poke(s)
		eventually(func(g Gomega) {
			jobs := &batchv1.JobList{}
			g.Expect(k8sClient.List(ctx, jobs, client.InNamespace(w.ns))).To(Succeed())
			var live []string
			for _, j := range jobs.Items {
				if j.DeletionTimestamp == nil {
					live = append(live, j.Name)
				}
			}
			g.Expect(live).To(Equal([]string{made[2] + "-backup"}))
		})
		Expect(backupsOf(Default, s)).To(HaveLen(3), "the Backups stay: only retention deletes them")
	})
})

// seriesIn counts the series of c in namespace.
func seriesIn(c prometheus.Collector, namespace string) int {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for m := range ch {
		pb := &dto.Metric{}
		Expect(m.Write(pb)).To(Succeed())
		for _, l := range pb.GetLabel() {
			if l.GetName() == "namespace" && l.GetValue() == namespace {
				n++
			}
		}
	}
	return n
}
