package controllers

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/schedule"
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
)

// A schedule's restore drills (spec.verify): at each drill slot one Restore of mode Verify of the
// newest Backup that holds the database, and with olderChain one of an older kept chain; the
// finished drills beyond historyLimit deleted; and what they found in status.verification and
// the Verified condition. The Restore controller runs each drill; this file only decides which
// and reads what they concluded.

// restoreOwnerKey indexes Restores by the UID of the BackupSchedule that controls them.
const restoreOwnerKey = ".metadata.controller.uid"

// Drill kinds, in DrillAnnotation.
const (
	drillNewest = "newest"
	drillOlder  = "older"
)

// drillDecision is what decideDrills says a pass does about drills.
type drillDecision struct {
	slot slotDecision
	// create are the drills of the slot (slotCreate), the newest chain's first.
	create []*v1.Restore
	// prune are finished drills beyond historyLimit.
	prune []v1.Restore
	// verification is the status the drills make, and verified the Verified condition.
	verification *v1.ScheduleVerification
	verified     verifiedState
	// recheck is when Verified turns False by itself (two intervals after the last verified
	// drill, or after spec.verify was set): the pass then must look again.
	recheck time.Time
}

// decideDrills decides, from the schedule, its Backups and its drills alone (owned, oldest
// first), what a pass does about drills at now. The drill schedule follows the schedule's own
// rules (suspend, startingDeadlineSeconds, one catch-up) and Forbid: a slot that comes while a
// drill runs is skipped.
func decideDrills(s *v1.BackupSchedule, backups []v1.Backup, drills []v1.Restore, sched *schedule.Schedule, interval time.Duration,
	deadline *time.Duration, resumed bool, now time.Time) drillDecision {
	spec := s.Spec.Verify
	prev := s.Status.Verification
	if prev == nil {
		prev = &v1.ScheduleVerification{}
	}
	v := &v1.ScheduleVerification{
		LastScheduleTime: prev.LastScheduleTime, LastMissedTime: prev.LastMissedTime, MissedSlots: prev.MissedSlots,
		LastVerifiedBackup: prev.LastVerifiedBackup, LastVerifiedTime: prev.LastVerifiedTime, Since: prev.Since,
	}
	if v.Since == nil {
		v.Since = &metav1.Time{Time: now}
	}
	d := drillDecision{verification: v}

	// What the finished drills found: the newest of the newest chains, and of them the newest
	// that verified its chain (kept from status once history has deleted its drill); and the
	// newest of an older chain, which must not have failed either.
	var last, older *v1.Restore
	children := make([]slotChild, 0, len(drills))
	var active []string
	for i := range drills {
		r := &drills[i]
		children = append(children, slotChild{name: r.Name, annotations: r.Annotations})
		if !restoreFinished(r.Status.Phase) {
			if r.DeletionTimestamp == nil {
				active = append(active, r.Name)
			}
			continue
		}
		if r.Annotations[v1.DrillAnnotation] == drillOlder {
			if older == nil || drillEnd(r).After(drillEnd(older)) {
				older = r
			}
			continue
		}
		if last == nil || drillEnd(r).After(drillEnd(last)) {
			last = r
		}
		if verifiedDrill(r) && (v.LastVerifiedTime == nil || drillEnd(r).After(v.LastVerifiedTime.Time)) {
			v.LastVerifiedBackup, v.LastVerifiedTime = r.Spec.Source.BackupName, &metav1.Time{Time: drillEnd(r)}
		}
	}
	v.Active = active
	// A drill newer than any left (deleted by hand, its failure with it) is remembered.
	if last != nil && (prev.Time == nil || !drillEnd(last).Before(prev.Time.Time)) {
		describeDrill(v, last, backups)
	} else {
		last = nil
		v.LastDrill, v.Backup, v.BackupTime, v.RestoredUntilTx = prev.LastDrill, prev.Backup, prev.BackupTime, prev.RestoredUntilTx
		v.RestoreDuration, v.CheckDuration, v.Result, v.Time = prev.RestoreDuration, prev.CheckDuration, prev.Result, prev.Time
	}
	switch {
	case !spec.OlderChain:
		older = nil
	case older != nil && (prev.Older == nil || !drillEnd(older).Before(prev.Older.Time.Time)):
		v.Older = &v1.DrillOutcome{Drill: older.Name, Backup: older.Spec.Source.BackupName, Result: drillResult(older), Time: metav1.NewTime(drillEnd(older))}
	default:
		older, v.Older = nil, prev.Older
	}
	d.verified, d.recheck = verifiedCondition(v, last, older, interval, s.Spec.Suspend, now)

	if !s.Spec.Suspend {
		series := slotSeries{
			created: s.CreationTimestamp.Time, lastSchedule: v.LastScheduleTime, lastMissed: v.LastMissedTime, resumed: resumed,
			name: func(slot time.Time) string { return resources.ScheduledBackupName(s.Name, "verify-"+slotMinute(slot)) },
		}
		d.slot = dueSlot(series, children, sched, deadline, now)
		if d.slot.action == slotCreate {
			d.slot, d.create = drillsOf(s, spec, d.slot, backups, active, now)
		}
	}
	d.prune = pruneDrills(drills, int(ptr.Deref(spec.HistoryLimit, 3)))
	return d
}

// drillsOf are the drills of slot d: the newest Backup holding the database and, with
// olderChain, a Backup of an older chain picked by the slot (the same pick however often the
// pass runs). A slot with a drill still running, or with nothing to drill, is skipped.
func drillsOf(s *v1.BackupSchedule, spec *v1.VerifySpec, d slotDecision, backups []v1.Backup, active []string, now time.Time) (slotDecision, []*v1.Restore) {
	if len(active) > 0 {
		return d.skipped("Forbid", "drill slot %s skipped: drill %s is still running", d.slot.Format(time.RFC3339), active[0]), nil
	}
	// Never a Backup this pass's retention lets go: its drill would find it gone.
	going := map[string]bool{}
	for _, p := range decidePrune(s, backups, now).backups {
		going[p.backup.Name] = true
	}
	var kept []v1.Backup
	for _, b := range backups {
		if !going[b.Name] {
			kept = append(kept, b)
		}
	}
	cands := drillable(kept, spec.Database)
	if len(cands) == 0 {
		return d.skipped("NothingToVerify", "drill slot %s skipped: no Backup of this schedule holds a restorable %s yet", d.slot.Format(time.RFC3339), spec.Database), nil
	}
	newest := cands[len(cands)-1]
	out := []*v1.Restore{drill(s, spec, d.name, d.annotations, drillNewest, newest)}
	version, err := neo4j.ParseVersion(s.Spec.Template.Cluster.Neo4jVersion)
	if spec.OlderChain && err == nil && !version.Legacy() {
		// 4.4 keeps one folder per database, rewritten by every backup: only the newest restores.
		if older := olderChains(cands, spec.Database); len(older) > 0 {
			h := fnv.New64a()
			h.Write([]byte(s.UID))
			_ = binary.Write(h, binary.BigEndian, d.slot.Unix())
			pick := older[h.Sum64()%uint64(len(older))]
			name := resources.ScheduledBackupName(s.Name, "verify-"+slotMinute(d.slot)+"-older")
			out = append(out, drill(s, spec, name, d.annotations, drillOlder, pick))
		}
	}
	return d, out
}

// drillable are the Backups a drill can restore the database from, oldest first by completion:
// finished with the database backed up, neither deleted nor expired.
func drillable(backups []v1.Backup, db string) []v1.Backup {
	var out []v1.Backup
	for _, b := range backups {
		if b.DeletionTimestamp != nil || b.Annotations[v1.ExpiredAnnotation] != "" ||
			(b.Status.Phase != v1.BackupSucceeded && b.Status.Phase != v1.BackupPartiallyFailed) {
			continue
		}
		for _, r := range b.Status.Databases {
			if r.Name == db && r.Artifact != "" {
				out = append(out, b)
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return completion(&out[i]).Before(completion(&out[j])) })
	return out
}

// olderChains are the candidates older than the FULL of the newest one's chain of db.
func olderChains(cands []v1.Backup, db string) []v1.Backup {
	for i := len(cands) - 1; i >= 0; i-- {
		for _, r := range cands[i].Status.Databases {
			if r.Name == db && r.Type == v1.BackupFull {
				return cands[:i]
			}
		}
	}
	return nil
}

// drill is the Restore of mode Verify that drills b: the template's cluster and job options,
// its memory budget among them.
func drill(s *v1.BackupSchedule, spec *v1.VerifySpec, name string, annotations map[string]string, kind string, b v1.Backup) *v1.Restore {
	ann := map[string]string{v1.DrillAnnotation: kind}
	for k, v := range annotations {
		ann[k] = v
	}
	return &v1.Restore{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.Namespace, Annotations: ann,
			Labels: map[string]string{
				v1.ScheduleLabel:         resources.LabelValue(s.Name),
				resources.LabelManagedBy: resources.ManagedBy,
				resources.LabelCluster:   resources.LabelValue(s.Spec.Template.Cluster.Name),
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1.GroupVersion.String(), Kind: "BackupSchedule", Name: s.Name, UID: s.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: v1.RestoreSpec{
			Source:     v1.RestoreSource{BackupName: b.Name},
			Database:   spec.Database,
			Cluster:    *s.Spec.Template.Cluster.DeepCopy(),
			Mode:       v1.RestoreVerify,
			Scratch:    spec.Scratch.DeepCopy(),
			JobOptions: *s.Spec.Template.JobOptions.DeepCopy(),
		},
	}
}

// pruneDrills are the finished drills beyond the newest limit (by when they ended), but never
// the newest of each kind (newest chain, older chain), which the Verified condition reads, nor a
// drill that found inconsistencies: its scratch claim keeps the check's report, the evidence,
// until a person deletes it.
func pruneDrills(drills []v1.Restore, limit int) []v1.Restore {
	var done []v1.Restore
	for _, r := range drills {
		if restoreFinished(r.Status.Phase) && r.DeletionTimestamp == nil {
			done = append(done, r)
		}
	}
	sort.SliceStable(done, func(i, j int) bool { return drillEnd(&done[i]).After(drillEnd(&done[j])) })
	var out []v1.Restore
	seen := map[bool]bool{} // by "of an older chain"
	for i, r := range done {
		if older := r.Annotations[v1.DrillAnnotation] == drillOlder; !seen[older] {
			seen[older] = true
			continue
		}
		if v := r.Status.Verification; v != nil && v.Report != "" {
			continue
		}
		if i >= limit {
			out = append(out, r)
		}
	}
	return out
}

func drillEnd(r *v1.Restore) time.Time {
	if r.Status.CompletionTime != nil {
		return r.Status.CompletionTime.Time
	}
	return r.CreationTimestamp.Time
}

// verifiedDrill tells whether drill r restored its chain and found it consistent.
func verifiedDrill(r *v1.Restore) bool {
	return r.Status.Phase == v1.RestoreSucceeded && r.Status.Verification != nil && r.Status.Verification.Consistent
}

// resultConsistent is status.verification.result for a drill that verified its chain.
const resultConsistent = "Consistent"

// describeDrill records the finished drill r in v.
func describeDrill(v *v1.ScheduleVerification, r *v1.Restore, backups []v1.Backup) {
	v.LastDrill, v.Backup, v.RestoredUntilTx = r.Name, r.Spec.Source.BackupName, r.Status.RestoredUntilTx
	v.Time = &metav1.Time{Time: drillEnd(r)}
	v.BackupTime, v.RestoreDuration, v.CheckDuration = nil, nil, nil
	for i := range backups {
		if backups[i].Name == r.Spec.Source.BackupName {
			v.BackupTime = backups[i].Status.CompletionTime
		}
	}
	if rv := r.Status.Verification; rv != nil {
		v.RestoreDuration, v.CheckDuration = rv.RestoreDuration, rv.CheckDuration
	}
	v.Result = drillResult(r)
}

// drillResult is Consistent, or the finished drill r's reason.
func drillResult(r *v1.Restore) string {
	if verifiedDrill(r) {
		return resultConsistent
	}
	return restoreReasonOf(r)
}

func restoreReasonOf(r *v1.Restore) string {
	for _, c := range r.Status.Conditions {
		if c.Type == v1.ConditionReady {
			return c.Reason
		}
	}
	return string(r.Status.Phase)
}

// verifiedState is the Verified condition a pass computed.
type verifiedState struct {
	status          metav1.ConditionStatus
	reason, message string
}

// verifiedCondition sums the drills up: True when the newest finished drill of the newest chain
// verified it within two drill intervals; False when it failed, or the newest drill of an older
// chain did (reason Inconsistent, or DrillFailed with the drill's reason; remembered when the
// drill is deleted), or no drill verified a chain within two intervals (of the last verified
// drill, or of spec.verify being set); Unknown while no drill has finished and two intervals
// have not passed, or while the schedule is suspended (no drill runs: nothing to alert on but a
// known failure). recheck is when a True or Unknown turns False with time alone. last and older
// are the drills v describes, nil when they are gone.
func verifiedCondition(v *v1.ScheduleVerification, last, older *v1.Restore, interval time.Duration, suspended bool, now time.Time) (verifiedState, time.Time) {
	var c verifiedState
	set := func(st metav1.ConditionStatus, reason, format string, args ...any) {
		c.status, c.reason, c.message = st, reason, fmt.Sprintf(format, args...)
	}
	window := 2 * interval
	failed := func(drill, what, backup, reason string, r *v1.Restore) {
		msg := "the drill has been deleted since"
		if r != nil {
			for _, rc := range r.Status.Conditions {
				if rc.Type == v1.ConditionReady {
					msg = rc.Message
				}
			}
		}
		st := v1.ReasonDrillFailed
		if reason == v1.ReasonInconsistent {
			st = v1.ReasonInconsistent
		}
		set(metav1.ConditionFalse, st, "drill %s of %sBackup %s failed (%s): %s", drill, what, backup, reason, msg)
	}
	switch {
	case v.Result != "" && v.Result != resultConsistent:
		failed(v.LastDrill, "", v.Backup, v.Result, last)
		return c, time.Time{}
	case v.Older != nil && v.Older.Result != resultConsistent:
		failed(v.Older.Drill, "an older chain, ", v.Older.Backup, v.Older.Result, older)
		return c, time.Time{}
	case suspended:
		set(metav1.ConditionUnknown, v1.ReasonSuspended, "spec.suspend is true: no drill runs")
		return c, time.Time{}
	case v.LastVerifiedTime != nil && now.Sub(v.LastVerifiedTime.Time) > window:
		set(metav1.ConditionFalse, v1.ReasonUnverified, "no drill has verified a chain since %s (Backup %s): more than two drill intervals (%s)",
			v.LastVerifiedTime.UTC().Format(time.RFC3339), v.LastVerifiedBackup, window)
		return c, time.Time{}
	case v.LastVerifiedTime != nil && last == nil:
		// Its drill is gone (deleted by hand): the status remembers it.
		set(metav1.ConditionTrue, v1.ReasonVerified, "a drill verified Backup %s at %s", v.LastVerifiedBackup, v.LastVerifiedTime.UTC().Format(time.RFC3339))
		return c, v.LastVerifiedTime.Add(window)
	case v.LastVerifiedTime != nil:
		set(metav1.ConditionTrue, v1.ReasonVerified, "drill %s restored Backup %s (until transaction %d) and found %s consistent: restore %s, check %s",
			last.Name, v.Backup, v.RestoredUntilTx, last.Spec.Database, durationText(v.RestoreDuration), durationText(v.CheckDuration))
		return c, v.LastVerifiedTime.Add(window)
	case now.Sub(v.Since.Time) > window:
		set(metav1.ConditionFalse, v1.ReasonUnverified, "no drill has verified a chain in the two drill intervals (%s) since spec.verify was set at %s",
			window, v.Since.UTC().Format(time.RFC3339))
		return c, time.Time{}
	case len(v.Active) > 0:
		set(metav1.ConditionUnknown, v1.ReasonNoDrillYet, "drill %s is running; no drill has finished yet", v.Active[0])
	default:
		set(metav1.ConditionUnknown, v1.ReasonNoDrillYet, "no drill has finished yet")
	}
	return c, v.Since.Add(window)
}

// verify acts on decideDrills: records the slot, creates its drills, deletes the drills history
// lets go, and sets status.verification and the Verified condition.
func (r *BackupScheduleReconciler) verify(ctx context.Context, s *v1.BackupSchedule, backups []v1.Backup, sched *schedule.Schedule,
	deadline *time.Duration, resumed bool, now time.Time, fx *effects) (time.Time, error) {
	list := &v1.RestoreList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.Namespace), client.MatchingFields{restoreOwnerKey: string(s.UID)}); err != nil {
		return time.Time{}, failed(reasonFailedList, fmt.Errorf("listing drills: %w", err))
	}
	var drills []v1.Restore
	for _, rs := range list.Items {
		if metav1.IsControlledBy(&rs, s) {
			drills = append(drills, rs)
		}
	}
	sort.Slice(drills, func(i, j int) bool {
		if !drills[i].CreationTimestamp.Equal(&drills[j].CreationTimestamp) {
			return drills[i].CreationTimestamp.Before(&drills[j].CreationTimestamp)
		}
		return drills[i].Name < drills[j].Name
	})
	d := decideDrills(s, backups, drills, sched, maxGap(sched, s.Spec.TimeZone, now), deadline, resumed, now)
	v := d.verification
	for _, rc := range d.slot.recovered {
		v.MissedSlots += rc.missed
		v.LastScheduleTime = &metav1.Time{Time: rc.slot}
	}
	switch d.slot.action {
	case slotSkip:
		v.LastMissedTime = &metav1.Time{Time: d.slot.slot}
		v.MissedSlots += d.slot.missed
		msg := d.slot.message
		fx.later(func() { r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, "DrillSkipped", "Skip", "%s", msg) })
	case slotAdopt:
		v.LastScheduleTime = &metav1.Time{Time: d.slot.slot}
	case slotCreate:
		for _, rs := range d.create {
			ours, err := r.createDrill(ctx, s, rs)
			if err != nil {
				return time.Time{}, err
			}
			if ours {
				v.Active = append(v.Active, rs.Name)
			}
		}
		v.MissedSlots += d.slot.missed
		v.LastScheduleTime = &metav1.Time{Time: d.slot.slot}
	}
	for i := range d.prune {
		rs := &d.prune[i]
		err := r.Client.Delete(ctx, rs, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &rs.UID})
		if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			return time.Time{}, failed(reasonFailedDelete, fmt.Errorf("deleting drill %s: %w", rs.Name, err))
		}
	}
	if len(v.Active) > 0 && d.verified.reason == v1.ReasonNoDrillYet {
		d.verified.message = fmt.Sprintf("drill %s is running; no drill has finished yet", v.Active[0])
	}
	v.NextScheduleTime = nil
	if !s.Spec.Suspend {
		v.NextScheduleTime = &metav1.Time{Time: sched.Next(now)}
	}
	s.Status.Verification = v
	status.SetConditionStatus(&s.Status.Conditions, s.Generation, v1.ConditionVerified, d.verified.status, d.verified.reason, d.verified.message, metav1.NewTime(now))
	next := d.recheck
	if n := v.NextScheduleTime; n != nil && (next.IsZero() || n.Before(&metav1.Time{Time: next})) {
		next = n.Time
	}
	return next, nil
}

// createDrill creates a drill, or finds it made by an earlier pass.
func (r *BackupScheduleReconciler) createDrill(ctx context.Context, s *v1.BackupSchedule, rs *v1.Restore) (ours bool, err error) {
	created, ours, err := createOrAdopt(ctx, r.Client, r.Reader, rs, s)
	switch {
	case err != nil:
		return false, err
	case !ours:
		r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, "SlotTaken", "Skip",
			"a Restore named %s exists and does not belong to this schedule; the drill is not taken", rs.Name)
	case created:
		r.Recorder.Eventf(s, rs, corev1.EventTypeNormal, "DrillCreated", "Create", "created drill %s of Backup %s (%s chain, slot %s)",
			rs.Name, rs.Spec.Source.BackupName, rs.Annotations[v1.DrillAnnotation], rs.Annotations[v1.SlotAnnotation])
	}
	return ours, nil
}
