package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/chain"
	"github.com/graphkeeper/neo4j-backup-operator/internal/location"
	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/retention"
	"github.com/graphkeeper/neo4j-backup-operator/internal/schedule"
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
)

// BackupScheduleReconciler creates a Backup for each slot of a schedule, and keeps its Backups by
// retention and history limits.
type BackupScheduleReconciler struct {
	Client client.Client
	// Reader reads past the cache, where a decision must not rest on a lagging view.
	Reader   client.Reader
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
}

// requeuePad lands the requeue just after the slot, never just before it.
const requeuePad = 100 * time.Millisecond

// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=backupschedules,verbs=get;list;watch
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=backupschedules/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=backupschedules/finalizers,verbs=update
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=backups,verbs=get;list;watch;create;delete;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=delete
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=restores,verbs=get;list;watch;create;delete

// SetupWithManager registers the controller: schedules, and the Backups they own.
func (r *BackupScheduleReconciler) SetupWithManager(mgr ctrl.Manager) error {
	// A schedule finds its Backups by their controller's UID, not by the schedule label: a label
	// value is at most 63 characters, so a longer name is written shortened, and listing by the
	// raw name would find nothing (every slot a FULL, retention and Forbid blind).
	// And its drills, the same way.
	ownerUID := func(o client.Object) []string {
		if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == "BackupSchedule" && ref.APIVersion == v1.GroupVersion.String() {
			return []string{string(ref.UID)}
		}
		return nil
	}
	// A Backup of a schedule that does not own it (backupOwnerReference None) is known by the
	// UID in its annotation, unless something else controls it.
	scheduleUID := func(o client.Object) []string {
		if uid := ownerUID(o); uid != nil {
			return uid
		}
		if uid := o.GetAnnotations()[v1.ScheduleUIDAnnotation]; uid != "" && metav1.GetControllerOf(o) == nil {
			return []string{uid}
		}
		return nil
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1.Backup{}, backupOwnerKey, scheduleUID); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1.Restore{}, restoreOwnerKey, ownerUID); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1.BackupSchedule{}).
		Owns(&v1.Backup{}).
		Watches(&v1.Backup{}, handler.EnqueueRequestsFromMapFunc(unownedBackupsSchedule)).
		Owns(&v1.Restore{}).
		Named("backupschedule").
		Complete(r)
}

// Reconcile takes the slot that is due (at most one), then applies retention, and requeues at
// the next slot. Status is written once, from what this pass computed.
func (r *BackupScheduleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	s := &v1.BackupSchedule{}
	if err := r.Client.Get(ctx, req.NamespacedName, s); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone: its series go too, so no alert fires for a schedule nobody has any more.
			metrics.ForgetSchedule(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if s.DeletionTimestamp != nil {
		metrics.ForgetSchedule(s.Namespace, s.Name)
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	next := s.DeepCopy()
	fx := &effects{}
	res, err := r.reconcile(ctx, next, now, fx)
	if errors.Is(err, errStale) {
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	if err != nil {
		// The API refused a call (a quota, an admission webhook, RBAC): the schedule says so
		// in its status and a Warning event, and looks again soon, never later than the next
		// slot, instead of leaving the slot to the error backoff (minutes, past a starting
		// deadline) with Ready still True.
		res = r.failedCall(s, next, now, err, fx)
	}
	next.Status.ObservedGeneration = s.Generation
	space := meta.FindStatusCondition(next.Status.Conditions, v1.ConditionStorageSpace)
	if was := meta.FindStatusCondition(s.Status.Conditions, v1.ConditionStorageSpace); space != nil && space.Reason == v1.ReasonLowSpace && (was == nil || was.Reason != v1.ReasonLowSpace) {
		msg := space.Message
		fx.later(func() { r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, v1.ReasonLowSpace, "Check", "%s", msg) })
	}
	fx.later(func() {
		// Every pass, not only on a write: a restarted operator or a new leader exports it at once.
		if t := next.Status.LastSuccessfulTime; t != nil {
			metrics.ScheduleLastSuccess.WithLabelValues(s.Namespace, s.Name).Set(float64(t.Unix()))
		}
		if sp := next.Status.Space; sp != nil && space != nil {
			metrics.RecordSpace(s.Namespace, s.Name, sp.Capacity.Value(), sp.Available.Value(), space.Status == metav1.ConditionTrue)
		}
		recordDrills(next, now)
	})
	return commit(ctx, r.Client, next, s.Status, next.Status, fx, res)
}

// recordDrills exports what s's drills found, or drops it when s has no spec.verify.
func recordDrills(s *v1.BackupSchedule, now time.Time) {
	v := s.Status.Verification
	if s.Spec.Verify == nil || v == nil || s.Spec.Suspend {
		// A suspended schedule runs no drill: nothing to alert on.
		metrics.ForgetDrills(s.Namespace, s.Name)
		return
	}
	// value is called only when ok: what it reads may be nil otherwise.
	set := func(g *prometheus.GaugeVec, ok bool, value func() float64) {
		if ok {
			g.WithLabelValues(s.Namespace, s.Name).Set(value())
		} else {
			g.DeleteLabelValues(s.Namespace, s.Name)
		}
	}
	set(metrics.ScheduleLastVerified, v.LastVerifiedTime != nil, func() float64 { return float64(v.LastVerifiedTime.Unix()) })
	c := meta.FindStatusCondition(s.Status.Conditions, v1.ConditionVerified)
	set(metrics.ScheduleVerified, c != nil && c.Status != metav1.ConditionUnknown, func() float64 {
		if c.Status == metav1.ConditionTrue {
			return 1
		}
		return 0
	})
	sched, err := parseVerify(s)
	set(metrics.ScheduleVerifyInterval, err == nil, func() float64 { return maxGap(sched, s.Spec.TimeZone, now).Seconds() })
	set(metrics.DrillRestoreSeconds, v.RestoreDuration != nil, func() float64 { return v.RestoreDuration.Seconds() })
	set(metrics.DrillCheckSeconds, v.CheckDuration != nil, func() float64 { return v.CheckDuration.Seconds() })
}

// failedCall records err on next's status (Ready and Scheduled False with the call's reason)
// and, once that is written, as a Warning event; it returns when to look again: errorRetry, or
// the next slot if that is sooner.
func (r *BackupScheduleReconciler) failedCall(s, next *v1.BackupSchedule, now time.Time, err error, fx *effects) ctrl.Result {
	reason, msg := refused(err)
	t := metav1.NewTime(now)
	status.Set(&next.Status.Conditions, next.Generation, status.Progressing, reason, msg, t)
	status.SetCondition(&next.Status.Conditions, next.Generation, v1.ConditionScheduled, false, reason, msg, t)
	fx.later(func() { r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", msg) })
	retry := errorRetry
	if sched, _, _, perr := parse(s); perr == nil {
		if until := sched.Next(now).Sub(now) + requeuePad; until < retry {
			retry = until
		}
	}
	return ctrl.Result{RequeueAfter: retry}
}

func (r *BackupScheduleReconciler) reconcile(ctx context.Context, s *v1.BackupSchedule, now time.Time, fx *effects) (ctrl.Result, error) {
	t := metav1.NewTime(now)
	sched, full, deadline, err := parse(s)
	if err != nil {
		status.Set(&s.Status.Conditions, s.Generation, status.Failed, v1.ReasonInvalidSpec, err.Error(), t)
		status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionScheduled, false, v1.ReasonInvalidSpec, err.Error(), t)
		s.Status.NextScheduleTime = nil
		return ctrl.Result{}, nil
	}

	backups := &v1.BackupList{}
	if err := r.Client.List(ctx, backups, client.InNamespace(s.Namespace), client.MatchingFields{backupOwnerKey: string(s.UID)}); err != nil {
		return ctrl.Result{}, failed(reasonFailedList, fmt.Errorf("listing Backups: %w", err))
	}
	owned := ownedBackups(s, backups.Items)
	if err := r.mark(ctx, s, owned); err != nil {
		return ctrl.Result{}, err
	}
	phase, reason := observe(s, owned, t)
	fx.later(func() {
		// Every pass: a restarted operator or a new leader exports them at once.
		metrics.RecordLastBackup(s.Namespace, s.Name, string(phase), reason)
		metrics.RecordWindows(s.Namespace, s.Spec.Template.Cluster.Name, s.Name, s.Status.Restorable)
	})
	// Before this pass rewrites Scheduled: the drills must see a suspension end too.
	wasSuspended := resumed(s)

	triggered, err := r.trigger(ctx, s, owned)
	if err != nil {
		return ctrl.Result{}, err
	}
	if triggered != nil {
		// Running now: a slot due in this same pass must see it (Forbid).
		owned = append(owned, *triggered)
	}

	var res ctrl.Result
	if s.Spec.Suspend {
		// A suspended schedule takes no backup: nothing to alert on.
		metrics.ScheduleInterval.DeleteLabelValues(s.Namespace, s.Name)
		status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionScheduled, false, v1.ReasonSuspended, "spec.suspend is true: no slot is taken", t)
		s.Status.NextScheduleTime = nil
	} else {
		if err := r.slots(ctx, s, owned, sched, full, deadline, now, fx); err != nil {
			return ctrl.Result{}, err
		}
		nextSlot := sched.Next(now)
		s.Status.NextScheduleTime = &metav1.Time{Time: nextSlot}
		metrics.ScheduleInterval.WithLabelValues(s.Namespace, s.Name).Set(maxGap(sched, s.Spec.TimeZone, now).Seconds())
		status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionScheduled, true, v1.ReasonScheduled,
			fmt.Sprintf("next slot %s", nextSlot.Format(time.RFC3339)), t)
		res.RequeueAfter = nextSlot.Sub(now) + requeuePad
	}
	status.Set(&s.Status.Conditions, s.Generation, status.Done, scheduledReason(s), "the schedule is valid", t)

	if err := r.prune(ctx, s, owned, now); err != nil {
		return ctrl.Result{}, err
	}
	// Drills come after retention, so that a call of theirs the API refuses never holds
	// retention up (and the volume filling).
	if s.Spec.Verify == nil {
		s.Status.Verification = nil
		meta.RemoveStatusCondition(&s.Status.Conditions, v1.ConditionVerified)
		return res, nil
	}
	verifySched, err := parseVerify(s)
	if err != nil {
		return ctrl.Result{}, err // parse refused it already
	}
	at, err := r.verify(ctx, s, owned, verifySched, deadline, wasSuspended, now, fx)
	if err != nil {
		return ctrl.Result{}, err
	}
	if until := at.Sub(now) + requeuePad; !at.IsZero() && (res.RequeueAfter == 0 || until < res.RequeueAfter) {
		res.RequeueAfter = until
	}
	return res, nil
}

// parseVerify reads the drill schedule, in the schedule's time zone.
func parseVerify(s *v1.BackupSchedule) (*schedule.Schedule, error) {
	sched, err := schedule.Parse(string(s.Spec.Verify.Schedule), s.Spec.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("spec.verify.schedule: %w", err)
	}
	return sched, nil
}

func scheduledReason(s *v1.BackupSchedule) string {
	if s.Spec.Suspend {
		return v1.ReasonSuspended
	}
	return v1.ReasonScheduled
}

// parse reads the schedule, the full-backup schedule and the deadline; what the CRD's checks
// cannot see (backwards ranges, schedules that never fire) is an InvalidSpec here.
func parse(s *v1.BackupSchedule) (sched, full *schedule.Schedule, deadline *time.Duration, err error) {
	if sched, err = schedule.Parse(string(s.Spec.Schedule), s.Spec.TimeZone); err != nil {
		return nil, nil, nil, fmt.Errorf("spec.schedule: %w", err)
	}
	if s.Spec.FullBackupSchedule != "" {
		if full, err = schedule.Parse(string(s.Spec.FullBackupSchedule), s.Spec.TimeZone); err != nil {
			return nil, nil, nil, fmt.Errorf("spec.fullBackupSchedule: %w", err)
		}
	}
	if s.Spec.Verify != nil {
		if _, err := parseVerify(s); err != nil {
			return nil, nil, nil, err
		}
	}
	if s.Spec.Retention != nil {
		if _, err := retention.ParseMaxAge(s.Spec.Retention.MaxAge); err != nil {
			return nil, nil, nil, fmt.Errorf("spec.retention.maxAge: %w", err)
		}
	}
	if s.Spec.StartingDeadlineSeconds != nil {
		deadline = ptr.To(time.Duration(*s.Spec.StartingDeadlineSeconds) * time.Second)
	}
	return sched, full, deadline, nil
}

// backupOwnerKey indexes Backups by the UID of the BackupSchedule that controls them, or that
// made them without owning them.
const backupOwnerKey = ".metadata.controller.uid"

// unownedBackupsSchedule wakes the schedule of a Backup it made without owning it (Owns wakes the
// owner of the others), named in its annotations.
func unownedBackupsSchedule(_ context.Context, o client.Object) []reconcile.Request {
	b, ok := o.(*v1.Backup)
	if !ok || metav1.GetControllerOf(b) != nil {
		return nil
	}
	if name := v1.ScheduleOf(b); name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: name}}}
	}
	return nil
}

// madeBy tells whether Backup b is schedule s's: s controls it, or s made it without owning it
// (the UID annotation, and no controller at all). A Backup that only carries the label, or the
// name, is not touched.
func madeBy(b *v1.Backup, s *v1.BackupSchedule) bool {
	if metav1.IsControlledBy(b, s) {
		return true
	}
	return metav1.GetControllerOf(b) == nil && s.UID != "" && b.Annotations[v1.ScheduleUIDAnnotation] == string(s.UID)
}

// stamp marks b as schedule s's own: the schedule's UID and full name in the annotations and its
// name in the label. create stamps a new Backup; marked stamps one found by the UID alone, or
// under another name, so both say the same.
func stamp(b *v1.Backup, s *v1.BackupSchedule) {
	metav1.SetMetaDataAnnotation(&b.ObjectMeta, v1.ScheduleUIDAnnotation, string(s.UID))
	metav1.SetMetaDataAnnotation(&b.ObjectMeta, v1.ScheduleAnnotation, s.Name)
	metav1.SetMetaDataLabel(&b.ObjectMeta, v1.ScheduleLabel, resources.LabelValue(s.Name))
}

// marked is b stamped as schedule s's and, with backupOwnerReference None, without an owner
// reference to s; nil when b already is (the common case, checked without a copy: it runs for
// every Backup on every pass). Dropping the reference releases the Backups an earlier version
// (or the Schedule mode) made with s as their controller: the garbage collector follows owner
// references only, so until then deleting s would delete them.
func marked(b *v1.Backup, s *v1.BackupSchedule) *v1.Backup {
	release := s.Spec.BackupOwnerReference != v1.BackupOwnerSchedule &&
		slices.ContainsFunc(b.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == s.UID })
	if !release && b.Annotations[v1.ScheduleUIDAnnotation] == string(s.UID) && b.Annotations[v1.ScheduleAnnotation] == s.Name &&
		b.Labels[v1.ScheduleLabel] == resources.LabelValue(s.Name) {
		return nil
	}
	out := b.DeepCopy()
	stamp(out, s)
	if release {
		out.OwnerReferences = slices.DeleteFunc(out.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == s.UID })
		if len(out.OwnerReferences) == 0 {
			out.OwnerReferences = nil
		}
	}
	return out
}

// mark brings the schedule's Backups in line with marked, in place.
func (r *BackupScheduleReconciler) mark(ctx context.Context, s *v1.BackupSchedule, owned []v1.Backup) error {
	for i := range owned {
		want := marked(&owned[i], s)
		if want == nil {
			continue
		}
		err := r.Client.Patch(ctx, want, client.MergeFromWithOptions(&owned[i], client.MergeFromWithOptimisticLock{}))
		switch {
		case apierrors.IsConflict(err):
			return errStale
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return failed(reasonFailedUpdate, fmt.Errorf("marking Backup %s as this schedule's: %w", owned[i].Name, err))
		}
		owned[i] = *want
	}
	return nil
}

// ownedBackups are the schedule's Backups, oldest first. The owner index finds them; madeBy
// proves them ours.
func ownedBackups(s *v1.BackupSchedule, all []v1.Backup) []v1.Backup {
	var out []v1.Backup
	for _, b := range all {
		if madeBy(&b, s) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreationTimestamp.Equal(&out[j].CreationTimestamp) {
			return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// observe derives the status fields that follow from the Backups: the active ones, the newest
// success, the storage zone, and how the newest finished Backup ended.
func observe(s *v1.BackupSchedule, owned []v1.Backup, now metav1.Time) (lastPhase v1.BackupPhase, lastReason string) {
	s.Status.Active = nil
	var lastFinished *v1.Backup
	for i := range owned {
		b := &owned[i]
		if !b.Status.Phase.Finished() {
			s.Status.Active = append(s.Status.Active, corev1.ObjectReference{
				APIVersion: v1.GroupVersion.String(), Kind: "Backup", Namespace: b.Namespace, Name: b.Name, UID: b.UID})
			continue
		}
		if lastFinished == nil || completedAfter(b, lastFinished) {
			lastFinished = b
		}
		// Oldest first, so among equal completion times (one-second resolution) the newer wins.
		if b.Status.Phase == v1.BackupSucceeded && b.Status.CompletionTime != nil &&
			(s.Status.LastSuccessfulTime == nil || !b.Status.CompletionTime.Before(s.Status.LastSuccessfulTime)) {
			s.Status.LastSuccessfulBackup = b.Name
			s.Status.LastSuccessfulTime = b.Status.CompletionTime
		}
		if b.Status.Placement != nil && b.Status.Placement.StorageZone != "" {
			s.Status.StorageZone = b.Status.Placement.StorageZone
		}
	}
	observeSpace(s, owned, now)
	s.Status.Restorable = restorableWindows(owned)
	if lastFinished == nil {
		status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionLastBackupSucceeded, false, v1.ReasonNoBackupYet, "no Backup of this schedule has finished yet", now)
		return "", ""
	}
	reason, msg := string(lastFinished.Status.Phase), lastFinished.Name
	for _, c := range lastFinished.Status.Conditions {
		if c.Type == v1.ConditionReady {
			reason, msg = c.Reason, lastFinished.Name+": "+c.Message
		}
	}
	status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionLastBackupSucceeded,
		lastFinished.Status.Phase == v1.BackupSucceeded, reason, msg, now)
	return lastFinished.Status.Phase, reason
}

// restorableWindows is, per database, the span of clean points owned restore it to, as their
// records say (location.Links, as a Restore reads them). A schedule's storage may have moved:
// the window runs from the oldest point in any of its locations to the newest.
func restorableWindows(owned []v1.Backup) []v1.RestorableWindow {
	var locs []v1.StorageLocation
	dbs := map[string]bool{}
	for i := range owned {
		b := &owned[i]
		if b.Status.Storage == nil {
			continue
		}
		if !slices.Contains(locs, *b.Status.Storage) {
			locs = append(locs, *b.Status.Storage)
		}
		for _, d := range b.Status.Databases {
			dbs[d.Name] = true
		}
		for db := range location.Inherited(b) {
			if _, manifests := location.ManifestsRequest(db); !manifests {
				dbs[db] = true
			}
		}
	}
	var out []v1.RestorableWindow
	for _, db := range slices.Sorted(maps.Keys(dbs)) {
		var w v1.RestorableWindow
		for _, loc := range locs {
			arts, _, _, _ := recorded(owned, loc, db)
			c, ok := chain.RestorableWindow(arts)
			if !ok {
				continue
			}
			if w.Database == "" || c.Oldest.Before(w.OldestTime.Time) {
				w.OldestTime = metav1.NewTime(c.Oldest)
			}
			if w.Database == "" || c.Newest.After(w.NewestTime.Time) {
				w.NewestTime, w.NewestTransaction = metav1.NewTime(c.Newest), c.NewestTx
			}
			w.Database = db
		}
		if w.Database != "" {
			out = append(out, w)
		}
	}
	return out
}

// observeSpace records the volume's space after the newest Backup that read it, and whether the
// next FULL fits, estimated as the size of the newest FULL: a volume sized for a retention that
// frees too little fills up, and the backup that does not fit fails long after nothing warned.
func observeSpace(s *v1.BackupSchedule, owned []v1.Backup, now metav1.Time) {
	var spaced, full *v1.Backup
	for i := range owned {
		b := &owned[i]
		if !b.Status.Phase.Finished() {
			continue
		}
		if b.Status.Space != nil && (spaced == nil || !completion(b).Before(completion(spaced))) {
			spaced = b
		}
		if b.Status.Type == string(v1.BackupFull) && b.Status.Size != nil && (full == nil || !completion(b).Before(completion(full))) {
			full = b
		}
	}
	if spaced == nil {
		return
	}
	sp := spaced.Status.Space.DeepCopy()
	s.Status.Space = sp
	where := "the backup volume"
	if spaced.Status.Storage != nil {
		where = "claim " + spaced.Status.Storage.ClaimName
	}
	msg := fmt.Sprintf("%s available of %s on %s", sp.Available.String(), sp.Capacity.String(), where)
	switch {
	case full != nil && sp.Available.Cmp(*full.Status.Size) < 0:
		status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionStorageSpace, false, v1.ReasonLowSpace,
			fmt.Sprintf("the next FULL (about %s, the size of %s) would not fit: %s", full.Status.Size.String(), full.Name, msg), now)
	case full != nil:
		status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionStorageSpace, true, v1.ReasonEnoughSpace,
			fmt.Sprintf("the next FULL (about %s, the size of %s) fits: %s", full.Status.Size.String(), full.Name, msg), now)
	default:
		status.SetCondition(&s.Status.Conditions, s.Generation, v1.ConditionStorageSpace, true, v1.ReasonEnoughSpace, msg, now)
	}
}

func completedAfter(a, b *v1.Backup) bool {
	if b.Status.CompletionTime == nil {
		return true
	}
	return completedAfterTime(a, b.Status.CompletionTime.Time)
}

func completedAfterTime(b *v1.Backup, t time.Time) bool {
	return b.Status.CompletionTime != nil && b.Status.CompletionTime.After(t)
}

// slotAction is what a pass does about the slot that is due (the CronJob controller's cases).
type slotAction int

const (
	// slotNone: no slot is due.
	slotNone slotAction = iota
	// slotAdopt: the slot's Backup exists (an earlier pass made it and lost its status write);
	// it is carried on from, not run twice.
	slotAdopt
	// slotSkip: the slot is not taken (suspended, past its deadline, Forbid); it is counted.
	slotSkip
	// slotCreate: the slot's Backup is created, after Replace deletes the running ones.
	slotCreate
)

// slotDecision is what decideSlot says a pass does.
type slotDecision struct {
	// recovered are the slots of Backups whose creating pass lost its status write, with the
	// slots an outage skipped before each: they are recorded now, once.
	recovered []recoveredSlot
	action    slotAction
	slot      time.Time
	// missed counts the slots skipped (slotSkip), or skipped by an outage before the created
	// slot (slotCreate); reason and message say why (slotSkip).
	missed          int64
	reason, message string
	// name, typ and annotations are the Backup to create; replace the running Backups that
	// concurrencyPolicy Replace deletes first.
	name        string
	typ         v1.BackupType
	annotations map[string]string
	replace     []v1.Backup
}

type recoveredSlot struct {
	slot   time.Time
	missed int64
}

// decideSlot decides, from the schedule's status and Backups alone, about the slot that is due:
// the most recent one since the last handled slot, never more than one, skipped when past the
// starting deadline, when Forbid finds a Backup running, or when a suspension just ended (slots
// passed while suspended are not taken).
func decideSlot(s *v1.BackupSchedule, owned []v1.Backup, sched, full *schedule.Schedule, deadline *time.Duration, now time.Time) slotDecision {
	children := make([]slotChild, 0, len(owned))
	for _, b := range owned {
		children = append(children, slotChild{name: b.Name, annotations: b.Annotations})
	}
	series := slotSeries{
		created: s.CreationTimestamp.Time, lastSchedule: s.Status.LastScheduleTime, lastMissed: s.Status.LastMissedTime,
		resumed: resumed(s), name: func(slot time.Time) string { return resources.ScheduledBackupName(s.Name, slotMinute(slot)) },
	}
	d := dueSlot(series, children, sched, deadline, now)
	if d.action != slotCreate {
		return d
	}
	if active := activeBackups(owned); len(active) > 0 {
		switch s.Spec.ConcurrencyPolicy {
		case v1.ConcurrencyAllow:
		case v1.ConcurrencyReplace:
			d.replace = active
		default: // Forbid
			return d.skipped("Forbid", "slot %s skipped: Backup %s is still running (concurrencyPolicy Forbid)", d.slot.Format(time.RFC3339), active[0].Name)
		}
	}
	d.typ = slotType(s, full, d.slot, owned)
	return d
}

// resumed tells whether s's last pass found it suspended: the slots passed since are not taken.
func resumed(s *v1.BackupSchedule) bool {
	c := meta.FindStatusCondition(s.Status.Conditions, v1.ConditionScheduled)
	return c != nil && c.Reason == v1.ReasonSuspended
}

// slotMinute is the suffix that names a slot's child: its UTC minute.
func slotMinute(slot time.Time) string { return slot.UTC().Format("200601021504") }

// slotSeries is one series of a schedule's slots (its Backups, or its drills) as its status
// records them, and how the series names a slot's child.
type slotSeries struct {
	created                  time.Time
	lastSchedule, lastMissed *metav1.Time
	// resumed: the schedule was suspended until now.
	resumed bool
	name    func(slot time.Time) string
}

// slotChild is what a slot decision reads of a child a series made for a slot.
type slotChild struct {
	name        string
	annotations map[string]string
}

// dueSlot is the decision every series of slots shares (the CronJob controller's): the most
// recent slot since the last handled one, never more than one; recovered from the children when
// the pass that made one lost its status write; skipped past the starting deadline or when a
// suspension just ended; adopted when its child exists. A slot to take comes back as slotCreate
// with its child's name and annotations: the series' concurrency rule is its caller's.
func dueSlot(series slotSeries, children []slotChild, sched *schedule.Schedule, deadline *time.Duration, now time.Time) slotDecision {
	var d slotDecision
	// The newest slot handled: from status, and from the children themselves, so a status
	// write that was lost after a child was created cannot make its slot look missed.
	since := series.created
	for _, t := range []*metav1.Time{series.lastSchedule, series.lastMissed} {
		if t != nil && t.After(since) {
			since = t.Time
		}
	}
	var last time.Time
	if series.lastSchedule != nil {
		last = series.lastSchedule.Time
	}
	for _, c := range children {
		slot, err := time.Parse(time.RFC3339, c.annotations[v1.SlotAnnotation])
		if err != nil || !slot.After(last) {
			continue
		}
		missedBefore, _ := strconv.ParseInt(c.annotations[missedAnnotation], 10, 64)
		d.recovered = append(d.recovered, recoveredSlot{slot: slot, missed: missedBefore})
		last = slot
		if slot.After(since) {
			since = slot
		}
	}
	due := sched.DueAt(since, now, deadline)
	switch {
	case series.resumed && !due.Slot.IsZero():
		d.slot, d.missed = due.Slot, due.Missed+1
		return d.skipped("Suspended", "%d slot(s) passed while the schedule was suspended; they are not taken", due.Missed+1)
	case !due.TooLate.IsZero():
		d.slot, d.missed = due.TooLate, due.Missed
		return d.skipped("DeadlinePassed",
			"slot %s was missed by more than startingDeadlineSeconds (%d slot(s) in all); it is skipped, not replayed", due.TooLate.Format(time.RFC3339), due.Missed)
	case due.Slot.IsZero():
		return d
	}

	d.slot = due.Slot
	d.name = series.name(due.Slot)
	for _, c := range children {
		if c.name == d.name {
			d.action = slotAdopt
			return d
		}
	}
	d.action = slotCreate
	// The slots an outage skipped are recorded on the child that follows it, so the count
	// survives a lost status write (the next pass adds it from there, exactly once).
	d.annotations = map[string]string{v1.SlotAnnotation: due.Slot.UTC().Format(time.RFC3339)}
	if due.Missed > 0 {
		d.missed = due.Missed
		d.annotations[missedAnnotation] = strconv.FormatInt(due.Missed, 10)
	}
	return d
}

// skipped turns d, a slot due, into its skip: the slot and the slots an outage skipped before
// it are counted, for reason.
func (d slotDecision) skipped(reason, format string, args ...any) slotDecision {
	if d.action == slotCreate {
		d.missed++
	}
	d.action, d.reason, d.message = slotSkip, reason, fmt.Sprintf(format, args...)
	d.annotations = nil
	return d
}

// slots acts on decideSlot: records what it recovered, counts what it skips, deletes what
// Replace replaces (each as this pass saw it, running) and creates the slot's Backup.
func (r *BackupScheduleReconciler) slots(ctx context.Context, s *v1.BackupSchedule, owned []v1.Backup,
	sched, full *schedule.Schedule, deadline *time.Duration, now time.Time, fx *effects) error {
	d := decideSlot(s, owned, sched, full, deadline, now)
	for _, rc := range d.recovered {
		// Not yet in status (the pass that created it lost its status write, and its count
		// with it): what its creation skipped is counted now, once.
		s.Status.MissedSlots += rc.missed
		if rc.missed > 0 {
			r.outage(s, fx, rc.missed, rc.slot)
		}
		s.Status.LastScheduleTime = &metav1.Time{Time: rc.slot}
	}
	switch d.action {
	case slotNone:
		return nil
	case slotSkip:
		r.missed(s, fx, d.slot, d.missed, d.reason, d.message)
		return nil
	case slotAdopt:
		s.Status.LastScheduleTime = &metav1.Time{Time: d.slot}
		return nil
	}
	for _, b := range d.replace {
		// Preconditions: the Backup as this pass saw it, running. One that finished a moment
		// ago (its status written since) is not deleted: the Conflict leaves it, and the next
		// pass finds nothing running.
		err := r.Client.Delete(ctx, &b, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: &b.UID, ResourceVersion: &b.ResourceVersion})
		switch {
		case apierrors.IsConflict(err):
			return errStale
		case client.IgnoreNotFound(err) != nil:
			return failed(reasonFailedDelete, fmt.Errorf("replacing Backup %s: %w", b.Name, err))
		}
		r.Recorder.Eventf(s, &b, corev1.EventTypeNormal, "Replaced", "Delete",
			"deleted running Backup %s to start the backup of slot %s (concurrencyPolicy Replace)", b.Name, d.slot.Format(time.RFC3339))
	}
	if _, err := r.create(ctx, s, d.name, d.typ, d.annotations); err != nil {
		return err
	}
	if d.missed > 0 {
		s.Status.MissedSlots += d.missed
		r.outage(s, fx, d.missed, d.slot)
	}
	s.Status.LastScheduleTime = &metav1.Time{Time: d.slot}
	return nil
}

// missedAnnotation on a scheduled Backup counts the slots skipped before it.
const missedAnnotation = "backup.graphkeeper.dev/missed-before"

// missed records skipped slots: counted in status, and, once that status is written, in a
// metric and an event.
func (r *BackupScheduleReconciler) missed(s *v1.BackupSchedule, fx *effects, slot time.Time, n int64, reason, msg string) {
	if !slot.IsZero() {
		s.Status.LastMissedTime = &metav1.Time{Time: slot}
	}
	if n <= 0 {
		return
	}
	s.Status.MissedSlots += n
	fx.later(func() {
		metrics.MissedSlots.WithLabelValues(s.Namespace, s.Name, reason).Add(float64(n))
		r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, "SlotMissed", "Skip", "%s", msg)
	})
}

// outage tells, once the status counting them is written, of the slots an outage skipped
// before slot.
func (r *BackupScheduleReconciler) outage(s *v1.BackupSchedule, fx *effects, n int64, slot time.Time) {
	fx.later(func() {
		metrics.MissedSlots.WithLabelValues(s.Namespace, s.Name, "Outage").Add(float64(n))
		r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, "SlotMissed", "Skip",
			"%d slot(s) before %s were missed (operator or API server away); only the most recent is taken",
			n, slot.Format(time.RFC3339))
	})
}

func activeBackups(owned []v1.Backup) []v1.Backup {
	var out []v1.Backup
	for _, b := range owned {
		if !b.Status.Phase.Finished() && b.DeletionTimestamp == nil {
			out = append(out, b)
		}
	}
	return out
}

// slotType decides a slot's backup type: FULL when fullBackupSchedule says so or when there is
// no chain to extend; else AUTO, with which neo4j-admin takes a DIFF (and a FULL for a database
// that has no chain yet, such as one created since); without fullBackupSchedule, the template's.
func slotType(s *v1.BackupSchedule, full *schedule.Schedule, slot time.Time, owned []v1.Backup) v1.BackupType {
	if schedule.FullSlot(full, slot, location.ChainExists(owned)) {
		return v1.BackupFull
	}
	if full != nil || s.Spec.Template.Type == "" {
		return v1.BackupAuto
	}
	return s.Spec.Template.Type
}

// create makes the slot's Backup, or adopts it when an earlier pass already did.
func (r *BackupScheduleReconciler) create(ctx context.Context, s *v1.BackupSchedule, name string, typ v1.BackupType, annotations map[string]string) (*v1.Backup, error) {
	b := &v1.Backup{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: s.Namespace,
			Labels: map[string]string{
				resources.LabelManagedBy: resources.ManagedBy,
				resources.LabelCluster:   resources.LabelValue(s.Spec.Template.Cluster.Name),
			},
			Annotations: maps.Clone(annotations),
		},
		Spec: *s.Spec.Template.DeepCopy(),
	}
	stamp(b, s)
	if s.Spec.BackupOwnerReference == v1.BackupOwnerSchedule {
		b.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1.GroupVersion.String(), Kind: "BackupSchedule", Name: s.Name, UID: s.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}}
	}
	b.Spec.Type = typ
	err := r.Client.Create(ctx, b)
	if err == nil {
		r.Recorder.Eventf(s, b, corev1.EventTypeNormal, "BackupCreated", "Create", "created %s Backup %s (%s)", typ, name, describe(annotations))
		return b, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, failed(reasonFailedCreate, fmt.Errorf("creating Backup %s: %w", name, err))
	}
	// Past the cache: the cache may not have the Backup the API server just said exists.
	existing := &v1.Backup{}
	if err := r.Reader.Get(ctx, client.ObjectKeyFromObject(b), existing); err != nil {
		return nil, fmt.Errorf("reading existing Backup %s: %w", name, err)
	}
	if !madeBy(existing, s) {
		r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, "SlotTaken", "Skip",
			"a Backup named %s exists and does not belong to this schedule; %s is skipped", name, describe(annotations))
		return nil, nil
	}
	return existing, nil
}

func describe(annotations map[string]string) string {
	if slot, ok := annotations[v1.SlotAnnotation]; ok {
		return "slot " + slot
	}
	return fmt.Sprintf("trigger %q", annotations[v1.TriggerAnnotation])
}

// trigger takes one backup now when the trigger annotation has a value not acted on yet.
func (r *BackupScheduleReconciler) trigger(ctx context.Context, s *v1.BackupSchedule, owned []v1.Backup) (*v1.Backup, error) {
	v, ok := s.Annotations[v1.TriggerAnnotation]
	if !ok || v == "" || v == s.Status.LastTrigger {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(v))
	name := resources.ScheduledBackupName(s.Name, "manual-"+hex.EncodeToString(sum[:])[:10])
	typ := v1.BackupAuto
	if !location.ChainExists(owned) {
		typ = v1.BackupFull
	}
	b, err := r.create(ctx, s, name, typ, map[string]string{v1.TriggerAnnotation: v})
	if err != nil {
		return nil, err
	}
	s.Status.LastTrigger = v
	return b, nil
}

// pruneDecision is what retention and the history limits let go.
type pruneDecision struct {
	// backups are deleted, each for why (a retention rule, failedBackupsHistoryLimit).
	backups []prunedBackup
	// jobs are the finished Backups beyond successfulBackupsHistoryLimit whose Jobs are deleted.
	jobs []v1.Backup
}

type prunedBackup struct {
	backup v1.Backup
	why    string
}

// decidePrune lets go, from the schedule's finished Backups alone: restorable Backups that no
// retention rule (or chain) keeps, failed Backups beyond failedBackupsHistoryLimit, and the Jobs
// of successful Backups beyond successfulBackupsHistoryLimit.
func decidePrune(s *v1.BackupSchedule, owned []v1.Backup, now time.Time) pruneDecision {
	// Newest first by completion; equal times (one-second resolution) keep creation order.
	var done []v1.Backup
	for i := len(owned) - 1; i >= 0; i-- {
		if b := owned[i]; b.Status.Phase.Finished() && b.DeletionTimestamp == nil {
			done = append(done, b)
		}
	}
	sort.SliceStable(done, func(i, j int) bool { return completion(&done[i]).After(completion(&done[j])) })

	del := map[string]string{}
	if p := s.Spec.Retention; p != nil {
		maxAge, _ := retention.ParseMaxAge(p.MaxAge)
		loc, _ := time.LoadLocation(s.Spec.TimeZone)
		var items []retention.Backup
		for _, b := range done {
			items = append(items, retention.Backup{
				Name:       b.Name,
				Time:       completion(&b),
				Full:       location.StartsChain(&b),
				Restorable: b.Status.Phase == v1.BackupSucceeded || b.Status.Phase == v1.BackupPartiallyFailed,
				// Succeeded: every database backed up and consistent.
				Clean: b.Status.Phase == v1.BackupSucceeded,
				// A drill restored its chain and found it consistent.
				Verified: b.Status.Verification != nil && b.Status.Verification.Consistent,
			})
		}
		d := retention.Decide(items, retention.Policy{
			KeepLast: int(ptr.Deref(p.KeepLast, 0)), KeepDaily: int(ptr.Deref(p.KeepDaily, 0)),
			KeepWeekly: int(ptr.Deref(p.KeepWeekly, 0)), KeepMonthly: int(ptr.Deref(p.KeepMonthly, 0)),
			MaxAge: maxAge, Location: loc,
		}, now)
		for _, n := range d.Delete {
			del[n] = "retention"
		}
	}
	var d pruneDecision
	failedKept, okJobsKept := 0, 0
	for _, b := range done {
		if b.Status.Phase == v1.BackupFailed {
			if failedKept++; failedKept > int(ptr.Deref(s.Spec.FailedBackupsHistoryLimit, 3)) {
				del[b.Name] = "failedBackupsHistoryLimit"
			}
			continue
		}
		if _, going := del[b.Name]; going || b.Status.JobName == "" {
			continue
		}
		if okJobsKept++; okJobsKept > int(ptr.Deref(s.Spec.SuccessfulBackupsHistoryLimit, 3)) {
			d.jobs = append(d.jobs, b)
		}
	}
	for _, b := range done {
		if why, ok := del[b.Name]; ok {
			d.backups = append(d.backups, prunedBackup{backup: b, why: why})
		}
	}
	return d
}

// prune acts on decidePrune. Deleting a Backup deletes its artifacts only when its
// storage.deletionPolicy says so.
func (r *BackupScheduleReconciler) prune(ctx context.Context, s *v1.BackupSchedule, owned []v1.Backup, now time.Time) error {
	d := decidePrune(s, owned, now)
	for i := range d.jobs {
		if err := r.deleteJob(ctx, &d.jobs[i]); err != nil {
			return err
		}
	}
	for _, p := range d.backups {
		b := p.backup
		if p.why == "retention" && ownsArtifacts(&b) {
			// Marked first, so that its artifacts go with it (the finalizer prunes what no
			// chain needs), whatever its deletionPolicy.
			if err := r.expire(ctx, &b, p.why); err != nil {
				return err
			}
		}
		// The UID: a Backup of the name made since this pass read the cache is not this one.
		err := r.Client.Delete(ctx, &b, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &b.UID})
		switch {
		case apierrors.IsConflict(err):
			return errStale
		case client.IgnoreNotFound(err) != nil:
			return failed(reasonFailedDelete, fmt.Errorf("deleting Backup %s: %w", b.Name, err))
		}
		r.Recorder.Eventf(s, &b, corev1.EventTypeNormal, "BackupDeleted", "Delete", "deleted Backup %s (%s)", b.Name, p.why)
	}
	return nil
}

// expire marks b as deleted by rule: the annotation tells the Backup controller's finalizer to
// prune its artifacts, and the finalizer (added when b has none: a Backup made before, or with
// deletionPolicy Retain) holds b until it has.
func (r *BackupScheduleReconciler) expire(ctx context.Context, b *v1.Backup, rule string) error {
	if b.Annotations[v1.ExpiredAnnotation] == rule && controllerutil.ContainsFinalizer(b, v1.ArtifactsFinalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(b.DeepCopy(), client.MergeFromWithOptimisticLock{})
	metav1.SetMetaDataAnnotation(&b.ObjectMeta, v1.ExpiredAnnotation, rule)
	controllerutil.AddFinalizer(b, v1.ArtifactsFinalizer)
	err := r.Client.Patch(ctx, b, patch)
	switch {
	case apierrors.IsConflict(err):
		return errStale
	case client.IgnoreNotFound(err) != nil:
		return failed(reasonFailedUpdate, fmt.Errorf("marking Backup %s expired: %w", b.Name, err))
	}
	return nil
}

func completion(b *v1.Backup) time.Time {
	if b.Status.CompletionTime != nil {
		return b.Status.CompletionTime.Time
	}
	return b.CreationTimestamp.Time
}

// deleteJob removes a finished Backup's Job (and its pods) once, if it is still there.
func (r *BackupScheduleReconciler) deleteJob(ctx context.Context, b *v1.Backup) error {
	return deleteFinishedJob(ctx, r.Client, b)
}

// gaps memoizes each schedule expression's longest gap between slots (a week of minutes is
// 10,080 slots to walk: once per expression and time zone, not once per reconcile).
var gaps sync.Map

// maxGap is the interval the staleness alert counts in: the longest gap between the schedule's
// slots, so that a weekdays-only schedule does not look stale every weekend.
func maxGap(sched *schedule.Schedule, tz string, now time.Time) time.Duration {
	key := sched.String() + "|" + tz
	if v, ok := gaps.Load(key); ok {
		return v.(time.Duration)
	}
	g := sched.MaxGap(now)
	gaps.Store(key, g)
	return g
}
