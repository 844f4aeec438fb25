package controllers

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/schedule"
)

// The drill decision as a table: which drills a slot creates, which it skips and why, which
// history lets go, and what the Verified condition says. Every expectation is written by hand
// from the rule it names (spec.verify's and the condition's documentation).
func TestDecideDrills(t *testing.T) {
	hourly, err := schedule.Parse("0 * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	const interval = time.Hour // the schedule's longest gap: Verified turns False after 2h
	mt := func(hm string) *metav1.Time { return &metav1.Time{Time: at(hm)} }
	before := &metav1.Time{Time: day.Add(-10 * time.Minute)} // spec.verify set the day before
	backup := func(name, typ, completed string) v1.Backup {
		return v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: v1.BackupStatus{Phase: v1.BackupSucceeded, CompletionTime: mt(completed),
				Databases: []v1.DatabaseResult{{Name: "neo4j", Type: v1.BackupType(typ), Artifact: name + ".backup"}}}}
	}
	// Two chains of neo4j: f1 d1 | f2 d2, and a failed Backup and one of another database.
	failed := v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Status: v1.BackupStatus{Phase: v1.BackupFailed, CompletionTime: mt("00:50:00")}}
	movies := backup("m1", "FULL", "00:55:00")
	movies.Status.Databases[0].Name = "movies"
	backups := []v1.Backup{backup("f1", "FULL", "00:10:00"), backup("d1", "DIFF", "00:20:00"), backup("f2", "FULL", "00:30:00"),
		backup("d2", "DIFF", "00:40:00"), failed, movies}
	drill := func(name string, phase v1.RestorePhase, ended, source string, consistent *bool, reason string) v1.Restore {
		r := v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{}}, Spec: v1.RestoreSpec{
			Source: v1.RestoreSource{BackupName: source}, Database: "neo4j", Mode: v1.RestoreVerify}}
		r.Status.Phase = phase
		if ended != "" {
			r.Status.CompletionTime = mt(ended)
			r.Status.RestoredUntilTx = 170
			r.Status.Conditions = []metav1.Condition{{Type: v1.ConditionReady, Reason: reason, Message: "what the drill said"}}
		}
		if consistent != nil {
			r.Status.Verification = &v1.RestoreVerification{Consistent: *consistent,
				RestoreDuration: &metav1.Duration{Duration: 4 * time.Second}, CheckDuration: &metav1.Duration{Duration: 2 * time.Second}}
		}
		return r
	}
	good := drill("nightly-verify-202612020000", v1.RestoreSucceeded, "00:05:00", "d2", ptr.To(true), v1.ReasonSucceeded)
	good.Annotations[v1.SlotAnnotation] = "2026-12-02T00:00:00Z"
	bad := drill("nightly-verify-202612020100", v1.RestoreFailed, "01:05:00", "d2", ptr.To(false), v1.ReasonInconsistent)
	bad.Annotations[v1.SlotAnnotation] = "2026-12-02T01:00:00Z"
	bad.Status.Verification.Report = "nightly-verify-202612020100-scratch:drill-report/inconsistencies.report"
	running := drill("nightly-verify-202612020100", v1.RestoreRunning, "", "d2", nil, "")
	running.Annotations[v1.SlotAnnotation] = "2026-12-02T01:00:00Z"
	olderBad := drill("nightly-verify-202612020100-older", v1.RestoreFailed, "01:06:00", "d1", ptr.To(false), v1.ReasonInconsistent)
	olderBad.Annotations[v1.SlotAnnotation], olderBad.Annotations[v1.DrillAnnotation] = "2026-12-02T01:00:00Z", drillOlder
	goodAgain := drill("nightly-verify-202612020100", v1.RestoreSucceeded, "01:05:00", "d2", ptr.To(true), v1.ReasonSucceeded)
	goodAgain.Annotations[v1.SlotAnnotation] = "2026-12-02T01:00:00Z"
	olderGood := drill("nightly-verify-202612020100-older", v1.RestoreSucceeded, "01:07:00", "d1", ptr.To(true), v1.ReasonSucceeded)
	olderGood.Annotations[v1.SlotAnnotation], olderGood.Annotations[v1.DrillAnnotation] = "2026-12-02T01:00:00Z", drillOlder
	goodAgain2 := drill("nightly-verify-202612020200", v1.RestoreSucceeded, "02:05:00", "d2", ptr.To(true), v1.ReasonSucceeded)
	goodAgain2.Annotations[v1.SlotAnnotation] = "2026-12-02T02:00:00Z"
	notCovered := drill("nightly-verify-202612020100", v1.RestoreFailed, "01:01:00", "d2", nil, v1.ReasonNotCovered)
	notCovered.Annotations[v1.SlotAnnotation] = "2026-12-02T01:00:00Z"

	type want struct {
		action            slotAction
		reason            string // of a skipped slot
		create            string // drills created: name<-source, ...
		prune             string
		status            metav1.ConditionStatus
		condition, saying string
		lastVerified      string
		recheck           string
	}
	for _, tc := range []struct {
		name      string
		spec      v1.VerifySpec
		retention *v1.RetentionSpec
		version   string
		// suspended: spec.suspend; resumed: the last pass found the schedule suspended.
		suspended, resumed bool
		status             *v1.ScheduleVerification
		backups            []v1.Backup
		drills             []v1.Restore
		now                string
		want               want
	}{
		{name: "before the first slot: Unknown, and False by itself two intervals after spec.verify was set",
			backups: backups, now: "00:45:00", status: &v1.ScheduleVerification{Since: mt("00:45:00")},
			want: want{status: metav1.ConditionUnknown, condition: v1.ReasonNoDrillYet, saying: "no drill has finished yet", recheck: "02:45:00"}},
		{name: "the slot drills the newest Backup that holds the database",
			backups: backups, now: "01:00:01", status: &v1.ScheduleVerification{Since: mt("00:45:00")},
			want: want{action: slotCreate, create: "nightly-verify-202612020100<-d2",
				status: metav1.ConditionUnknown, condition: v1.ReasonNoDrillYet, recheck: "02:45:00"}},
		{name: "olderChain adds a Backup of an older chain than the newest's, never of the newest chain",
			spec: v1.VerifySpec{OlderChain: true}, backups: backups, now: "01:00:01", status: &v1.ScheduleVerification{Since: mt("00:45:00")},
			want: want{action: slotCreate, create: "nightly-verify-202612020100<-d2, nightly-verify-202612020100-older<-f1|d1",
				status: metav1.ConditionUnknown, condition: v1.ReasonNoDrillYet, recheck: "02:45:00"}},
		{name: "never a Backup retention lets go in the same pass: keepLast 1 keeps only the newest chain, so no older drill",
			spec: v1.VerifySpec{OlderChain: true}, retention: &v1.RetentionSpec{KeepLast: ptr.To[int32](1)},
			backups: backups[:5], now: "01:00:01", status: &v1.ScheduleVerification{Since: mt("00:45:00")},
			want: want{action: slotCreate, create: "nightly-verify-202612020100<-d2",
				status: metav1.ConditionUnknown, condition: v1.ReasonNoDrillYet, recheck: "02:45:00"}},
		{name: "4.4 keeps only its newest backup: no older drill",
			spec: v1.VerifySpec{OlderChain: true}, version: "4.4", backups: backups, now: "01:00:01", status: &v1.ScheduleVerification{Since: mt("00:45:00")},
			want: want{action: slotCreate, create: "nightly-verify-202612020100<-d2",
				status: metav1.ConditionUnknown, condition: v1.ReasonNoDrillYet, recheck: "02:45:00"}},
		{name: "no Backup holds the database yet: the slot is skipped, saying so",
			backups: []v1.Backup{failed, movies}, now: "01:00:01", status: &v1.ScheduleVerification{Since: mt("00:45:00")},
			want: want{action: slotSkip, reason: "NothingToVerify", status: metav1.ConditionUnknown, condition: v1.ReasonNoDrillYet, recheck: "02:45:00"}},
		{name: "a drill that verified its chain: True, until two intervals after it",
			backups: backups, drills: []v1.Restore{good}, now: "00:30:00", status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("00:00:00")},
			want: want{status: metav1.ConditionTrue, condition: v1.ReasonVerified, lastVerified: "d2 00:05:00", recheck: "02:05:00",
				saying: "drill nightly-verify-202612020000 restored Backup d2 (until transaction 170) and found neo4j consistent: restore 4s, check 2s"}},
		{name: "a slot while a drill runs is skipped (Forbid)",
			backups: backups, drills: []v1.Restore{good, running}, now: "02:00:01",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00")},
			want:   want{action: slotSkip, reason: "Forbid", status: metav1.ConditionTrue, condition: v1.ReasonVerified, lastVerified: "d2 00:05:00", recheck: "02:05:00"}},
		{name: "the newest drill found inconsistencies: False, Inconsistent, though an older one verified",
			backups: backups, drills: []v1.Restore{good, bad}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00")},
			want: want{status: metav1.ConditionFalse, condition: v1.ReasonInconsistent, lastVerified: "d2 00:05:00",
				saying: "drill nightly-verify-202612020100 of Backup d2 failed (Inconsistent): what the drill said"}},
		{name: "an older chain's drill found inconsistencies: False, though the newest chain verified after it",
			spec: v1.VerifySpec{OlderChain: true}, backups: backups, drills: []v1.Restore{good, olderBad, goodAgain}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00")},
			want: want{status: metav1.ConditionFalse, condition: v1.ReasonInconsistent, lastVerified: "d2 01:05:00",
				saying: "drill nightly-verify-202612020100-older of an older chain, Backup d1 failed (Inconsistent)"}},
		{name: "the older chain's failed drill was deleted: still False, from the status",
			spec: v1.VerifySpec{OlderChain: true}, backups: backups, drills: []v1.Restore{good, goodAgain}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00"),
				Older: &v1.DrillOutcome{Drill: "nightly-verify-202612020100-older", Backup: "d1", Result: v1.ReasonInconsistent, Time: *mt("01:06:00")}},
			want: want{status: metav1.ConditionFalse, condition: v1.ReasonInconsistent, lastVerified: "d2 01:05:00",
				saying: "of an older chain, Backup d1 failed (Inconsistent): the drill has been deleted since"}},
		{name: "olderChain turned off: an older chain's failure no longer counts",
			backups: backups, drills: []v1.Restore{good, olderBad, goodAgain}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00")},
			want:   want{status: metav1.ConditionTrue, condition: v1.ReasonVerified, lastVerified: "d2 01:05:00", recheck: "03:05:00"}},
		{name: "the newest drill failed and was deleted, an older verified drill remains: still False",
			backups: backups, drills: []v1.Restore{good}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00"), LastDrill: "nightly-verify-202612020100", Backup: "d2",
				Result: v1.ReasonInconsistent, Time: mt("01:05:00"), LastVerifiedBackup: "d2", LastVerifiedTime: mt("00:05:00")},
			want: want{status: metav1.ConditionFalse, condition: v1.ReasonInconsistent, lastVerified: "d2 00:05:00",
				saying: "drill nightly-verify-202612020100 of Backup d2 failed (Inconsistent): the drill has been deleted since"}},
		{name: "the slots passed while the schedule was suspended are not drilled",
			resumed: true, backups: backups, drills: []v1.Restore{good}, now: "02:00:01",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("00:00:00")},
			want:   want{action: slotSkip, reason: "Suspended", status: metav1.ConditionTrue, condition: v1.ReasonVerified, lastVerified: "d2 00:05:00", recheck: "02:05:00"}},
		{name: "suspended: no slot, and Unknown rather than an alert, however old the last verification",
			suspended: true, backups: backups, drills: []v1.Restore{good}, now: "05:00:01",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("00:00:00")},
			want:   want{status: metav1.ConditionUnknown, condition: v1.ReasonSuspended, lastVerified: "d2 00:05:00"}},
		{name: "the newest drill failed before a verdict: False, DrillFailed with its reason",
			backups: backups, drills: []v1.Restore{good, notCovered}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00")},
			want:   want{status: metav1.ConditionFalse, condition: v1.ReasonDrillFailed, lastVerified: "d2 00:05:00", saying: "failed (NotCovered)"}},
		{name: "the last verified drill is more than two intervals old: False, Unverified",
			backups: backups, drills: []v1.Restore{good}, now: "02:05:01", spec: v1.VerifySpec{Schedule: "0 0 * * *"},
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("00:00:00")},
			want: want{status: metav1.ConditionFalse, condition: v1.ReasonUnverified, lastVerified: "d2 00:05:00",
				saying: "no drill has verified a chain since 2026-12-02T00:05:00Z (Backup d2): more than two drill intervals (2h0m0s)"}},
		{name: "no drill in two intervals since spec.verify was set: False, Unverified",
			backups: backups, now: "02:45:01", spec: v1.VerifySpec{Schedule: "0 0 * * *"}, status: &v1.ScheduleVerification{Since: mt("00:45:00")},
			want: want{status: metav1.ConditionFalse, condition: v1.ReasonUnverified, saying: "in the two drill intervals (2h0m0s) since spec.verify was set at 2026-12-02T00:45:00Z"}},
		{name: "the verified drill was deleted: the status remembers it",
			backups: backups, now: "00:30:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("00:00:00"), LastVerifiedBackup: "d2", LastVerifiedTime: mt("00:05:00")},
			want:   want{status: metav1.ConditionTrue, condition: v1.ReasonVerified, lastVerified: "d2 00:05:00", recheck: "02:05:00"}},
		{name: "the slot's drill exists (its status write was lost): its slot is recovered, the drill not made twice",
			backups: backups, drills: []v1.Restore{good, running}, now: "01:00:30",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("00:00:00")},
			want:   want{status: metav1.ConditionTrue, condition: v1.ReasonVerified, lastVerified: "d2 00:05:00", recheck: "02:05:00"}},
		{name: "historyLimit 1 keeps the newest drill of each chain kind: the failure stays in view",
			spec: v1.VerifySpec{HistoryLimit: ptr.To[int32](1)}, backups: backups, drills: []v1.Restore{good, bad, olderGood}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00")},
			want: want{prune: "nightly-verify-202612020000", status: metav1.ConditionFalse, condition: v1.ReasonInconsistent, lastVerified: "d2 00:05:00",
				saying: "drill nightly-verify-202612020100 of Backup d2 failed (Inconsistent)"}},
		{name: "the failed drill was deleted: the status remembers how it ended",
			backups: backups, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00"), LastDrill: "nightly-verify-202612020100", Backup: "d2",
				Result: v1.ReasonInconsistent, LastVerifiedBackup: "d2", LastVerifiedTime: mt("00:05:00")},
			want: want{status: metav1.ConditionFalse, condition: v1.ReasonInconsistent, lastVerified: "d2 00:05:00",
				saying: "drill nightly-verify-202612020100 of Backup d2 failed (Inconsistent): the drill has been deleted since"}},
		{name: "history never lets a drill go whose claim keeps an inconsistency report",
			spec: v1.VerifySpec{HistoryLimit: ptr.To[int32](1)}, backups: backups, drills: []v1.Restore{good, bad, goodAgain2}, now: "02:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("02:00:00")},
			want:   want{prune: "nightly-verify-202612020000", status: metav1.ConditionTrue, condition: v1.ReasonVerified, lastVerified: "d2 02:05:00", recheck: "04:05:00"}},
		{name: "historyLimit 1 lets the older finished drill go, never a running one",
			spec: v1.VerifySpec{HistoryLimit: ptr.To[int32](1)}, backups: backups, drills: []v1.Restore{good, bad}, now: "01:10:00",
			status: &v1.ScheduleVerification{Since: before, LastScheduleTime: mt("01:00:00")},
			want:   want{prune: "nightly-verify-202612020000", status: metav1.ConditionFalse, condition: v1.ReasonInconsistent, lastVerified: "d2 00:05:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.Database, spec.Scratch = "neo4j", v1.ClaimTemplate{Size: resource.MustParse("10Gi")}
			version := tc.version
			if version == "" {
				version = "5.26"
			}
			s := &v1.BackupSchedule{
				ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "prod", UID: "uid-nightly", CreationTimestamp: metav1.NewTime(at("00:40:00"))},
				Spec: v1.BackupScheduleSpec{Verify: &spec, Retention: tc.retention, TimeZone: "UTC", Suspend: tc.suspended,
					Template: v1.BackupSpec{Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: version}}},
				Status: v1.BackupScheduleStatus{Verification: tc.status},
			}
			sched := hourly
			if spec.Schedule != "" {
				// Daily slots: none falls in these hours, so only the condition is at stake.
				if sched, err = schedule.Parse(string(spec.Schedule), "UTC"); err != nil {
					t.Fatal(err)
				}
			}
			d := decideDrills(s, tc.backups, tc.drills, sched, interval, nil, tc.resumed, at(tc.now))
			var created, pruned []string
			for _, r := range d.create {
				created = append(created, r.Name+"<-"+r.Spec.Source.BackupName)
				if r.Spec.Mode != v1.RestoreVerify || r.Spec.Scratch == nil || r.Spec.Database != "neo4j" || !metav1.IsControlledBy(r, s) ||
					r.Annotations[v1.SlotAnnotation] == "" || r.Annotations[v1.DrillAnnotation] == "" {
					t.Errorf("drill %s: %+v", r.Name, r)
				}
			}
			for _, r := range d.prune {
				pruned = append(pruned, r.Name)
			}
			got := strings.Join(created, ", ")
			if alts := strings.Split(tc.want.create, "|"); len(alts) == 2 {
				// The older pick is one of an older chain: f1 or d1, the same for the same slot.
				if got != alts[0] && got != strings.Replace(alts[0], "f1", "d1", 1) {
					t.Errorf("create %q, want %q", got, tc.want.create)
				}
				// A later pass of the same slot (its first create lost) picks the same.
				if again := decideDrills(s, tc.backups, tc.drills, sched, interval, nil, tc.resumed, at(tc.now).Add(20*time.Minute)); len(again.create) != 2 ||
					again.create[1].Spec.Source.BackupName != d.create[1].Spec.Source.BackupName {
					t.Error("the older pick changed between two passes of one slot")
				}
				// Over a day of slots, both Backups of the older chain are picked.
				picked := map[string]bool{}
				for h := 0; h < 24; h++ {
					st := s.DeepCopy()
					st.Status.Verification.LastScheduleTime = &metav1.Time{Time: at(tc.now).Add(time.Duration(h-1) * time.Hour).Truncate(time.Hour)}
					if dd := decideDrills(st, tc.backups, tc.drills, sched, interval, nil, false, at(tc.now).Add(time.Duration(h)*time.Hour)); len(dd.create) == 2 {
						picked[dd.create[1].Spec.Source.BackupName] = true
					}
				}
				if !picked["f1"] || !picked["d1"] {
					t.Errorf("over 24 slots the older pick was only %v", picked)
				}
			} else if got != tc.want.create {
				t.Errorf("create %q, want %q", got, tc.want.create)
			}
			if d.slot.action != tc.want.action || d.slot.reason != tc.want.reason {
				t.Errorf("slot %v %q (%s), want %v %q", d.slot.action, d.slot.reason, d.slot.message, tc.want.action, tc.want.reason)
			}
			if p := strings.Join(pruned, ", "); p != tc.want.prune {
				t.Errorf("prune %q, want %q", p, tc.want.prune)
			}
			if d.verified.status != tc.want.status || d.verified.reason != tc.want.condition || !strings.Contains(d.verified.message, tc.want.saying) {
				t.Errorf("Verified %s %s %q, want %s %s saying %q", d.verified.status, d.verified.reason, d.verified.message, tc.want.status, tc.want.condition, tc.want.saying)
			}
			lv := ""
			if v := d.verification; v.LastVerifiedTime != nil {
				lv = v.LastVerifiedBackup + " " + v.LastVerifiedTime.UTC().Format("15:04:05")
			}
			if lv != tc.want.lastVerified {
				t.Errorf("last verified %q, want %q", lv, tc.want.lastVerified)
			}
			rc := ""
			if !d.recheck.IsZero() {
				rc = d.recheck.UTC().Format("15:04:05")
			}
			if rc != tc.want.recheck {
				t.Errorf("recheck %q, want %q", rc, tc.want.recheck)
			}
		})
	}
}
