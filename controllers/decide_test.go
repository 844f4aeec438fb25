package controllers

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/location"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/schedule"
	"github.com/graphkeeper/neo4j-backup-operator/internal/topology"
)

// The decisions of the three controllers, as tables: what each pass creates, deletes, skips or
// refuses, and why (the CronJob controller's syncCronJob cases). Every expectation is written
// by hand from the rule it names.

var day = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func at(hm string) time.Time {
	t, err := time.Parse("15:04:05", hm)
	if err != nil {
		panic(err)
	}
	return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second)
}

func TestDecideSlot(t *testing.T) {
	every10, err := schedule.Parse("*/10 * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	halfPast, err := schedule.Parse("30 * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	mt := func(hm string) *metav1.Time { return &metav1.Time{Time: at(hm)} }
	backup := func(name string, phase v1.BackupPhase, annotations map[string]string) v1.Backup {
		return v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations, UID: "uid-" + "name"}, Status: v1.BackupStatus{Phase: phase}}
	}
	fullBackup := backup("nightly-202612020010", v1.BackupSucceeded, map[string]string{v1.SlotAnnotation: "2026-12-02T00:10:00Z"})
	fullBackup.Spec.Type = v1.BackupFull
	fullBackup.Status.Databases = []v1.DatabaseResult{{Name: "neo4j", Type: v1.BackupFull, Artifact: "neo4j-full.backup"}}
	running := backup("nightly-202612020010", v1.BackupRunning, map[string]string{v1.SlotAnnotation: "2026-12-02T00:10:00Z"})

	for _, tc := range []struct {
		name     string
		status   v1.BackupScheduleStatus
		policy   v1.ConcurrencyPolicy
		full     *schedule.Schedule
		deadline *time.Duration
		owned    []v1.Backup
		now      string
		want     slotDecision
	}{
		{name: "no slot due yet", now: "00:05:00", want: slotDecision{}},
		{name: "the first slot is a FULL named after its minute", now: "00:10:05", want: slotDecision{
			action: slotCreate, slot: at("00:10:00"), name: "nightly-202612020010", typ: v1.BackupFull,
			annotations: map[string]string{v1.SlotAnnotation: "2026-12-02T00:10:00Z"}}},
		{name: "after an outage only the newest slot is taken; the two before are counted on it",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00")}, owned: []v1.Backup{fullBackup}, now: "00:40:01",
			want: slotDecision{action: slotCreate, slot: at("00:40:00"), name: "nightly-202612020040", typ: v1.BackupAuto, missed: 2,
				annotations: map[string]string{v1.SlotAnnotation: "2026-12-02T00:40:00Z", missedAnnotation: "2"}}},
		{name: "past startingDeadlineSeconds the slot is skipped, not replayed",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00")}, deadline: ptr.To(time.Minute), now: "00:21:30",
			want: slotDecision{action: slotSkip, slot: at("00:20:00"), missed: 1, reason: "DeadlinePassed",
				message: "slot 2026-12-02T00:20:00Z was missed by more than startingDeadlineSeconds (1 slot(s) in all); it is skipped, not replayed"}},
		{name: "Forbid skips the slot while a Backup runs",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00")}, owned: []v1.Backup{running}, now: "00:20:01",
			want: slotDecision{action: slotSkip, slot: at("00:20:00"), missed: 1, reason: "Forbid", name: "nightly-202612020020",
				message: "slot 2026-12-02T00:20:00Z skipped: Backup nightly-202612020010 is still running (concurrencyPolicy Forbid)"}},
		{name: "Replace deletes the running Backup, then creates the slot's",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00")}, policy: v1.ConcurrencyReplace, owned: []v1.Backup{running}, now: "00:20:01",
			want: slotDecision{action: slotCreate, slot: at("00:20:00"), name: "nightly-202612020020", typ: v1.BackupFull,
				annotations: map[string]string{v1.SlotAnnotation: "2026-12-02T00:20:00Z"}, replace: []v1.Backup{running}}},
		{name: "Allow runs them side by side",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00")}, policy: v1.ConcurrencyAllow, owned: []v1.Backup{running}, now: "00:20:01",
			want: slotDecision{action: slotCreate, slot: at("00:20:00"), name: "nightly-202612020020", typ: v1.BackupFull,
				annotations: map[string]string{v1.SlotAnnotation: "2026-12-02T00:20:00Z"}}},
		{name: "the slot's Backup exists (its status write was lost): adopted, and its slot recovered",
			owned: []v1.Backup{running}, now: "00:10:30",
			want: slotDecision{recovered: []recoveredSlot{{slot: at("00:10:00")}}}},
		{name: "a lost status write: the Backup's slot and the outage it counted are recovered, once",
			owned: []v1.Backup{backup("nightly-202612020010", v1.BackupRunning, map[string]string{v1.SlotAnnotation: "2026-12-02T00:10:00Z", missedAnnotation: "3"})},
			now:   "00:15:00",
			want:  slotDecision{recovered: []recoveredSlot{{slot: at("00:10:00"), missed: 3}}}},
		{name: "a Backup already in status is not recovered again",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00")}, owned: []v1.Backup{fullBackup}, now: "00:15:00",
			want: slotDecision{}},
		{name: "the slots passed while suspended are not taken",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00"), Conditions: []metav1.Condition{{Type: v1.ConditionScheduled, Reason: v1.ReasonSuspended}}},
			now:    "00:31:00",
			want: slotDecision{action: slotSkip, slot: at("00:30:00"), missed: 2, reason: "Suspended",
				message: "2 slot(s) passed while the schedule was suspended; they are not taken"}},
		{name: "fullBackupSchedule makes its slots FULL even on a chain",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:20:00")}, full: halfPast, owned: []v1.Backup{fullBackup}, now: "00:30:01",
			want: slotDecision{action: slotCreate, slot: at("00:30:00"), name: "nightly-202612020030", typ: v1.BackupFull,
				annotations: map[string]string{v1.SlotAnnotation: "2026-12-02T00:30:00Z"}}},
		{name: "off its full slots, the schedule takes AUTO on the chain",
			status: v1.BackupScheduleStatus{LastScheduleTime: mt("00:10:00")}, full: halfPast, owned: []v1.Backup{fullBackup}, now: "00:20:01",
			want: slotDecision{action: slotCreate, slot: at("00:20:00"), name: "nightly-202612020020", typ: v1.BackupAuto,
				annotations: map[string]string{v1.SlotAnnotation: "2026-12-02T00:20:00Z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &v1.BackupSchedule{
				ObjectMeta: metav1.ObjectMeta{Name: "nightly", CreationTimestamp: metav1.NewTime(day)},
				Spec:       v1.BackupScheduleSpec{ConcurrencyPolicy: tc.policy},
				Status:     tc.status,
			}
			if s.Spec.ConcurrencyPolicy == "" {
				s.Spec.ConcurrencyPolicy = v1.ConcurrencyForbid
			}
			got := decideSlot(s, tc.owned, every10, tc.full, tc.deadline, at(tc.now))
			if diff := diffDecision(got, tc.want); diff != "" {
				t.Errorf("%s\ngot  %+v\nwant %+v", diff, got, tc.want)
			}
		})
	}
}

// diffDecision names the first field of a slotDecision that differs (Backups by name).
func diffDecision(got, want slotDecision) string {
	names := func(bs []v1.Backup) string {
		var n []string
		for _, b := range bs {
			n = append(n, b.Name)
		}
		return strings.Join(n, ",")
	}
	switch {
	case got.action != want.action:
		return "action"
	case !got.slot.Equal(want.slot):
		return "slot"
	case got.missed != want.missed || got.reason != want.reason || got.message != want.message:
		return "missed, reason or message"
	case got.action == slotCreate && (got.name != want.name || got.typ != want.typ):
		return "name or type"
	case len(got.annotations) != len(want.annotations):
		return "annotations"
	case names(got.replace) != names(want.replace):
		return "replace"
	case len(got.recovered) != len(want.recovered):
		return "recovered"
	}
	for k, v := range want.annotations {
		if got.annotations[k] != v {
			return "annotation " + k
		}
	}
	for i := range want.recovered {
		if !got.recovered[i].slot.Equal(want.recovered[i].slot) || got.recovered[i].missed != want.recovered[i].missed {
			return "recovered slot"
		}
	}
	return ""
}

func TestDecidePrune(t *testing.T) {
	done := func(name string, phase v1.BackupPhase, completed string) v1.Backup {
		return v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(at(completed).Add(-time.Minute))},
			Status: v1.BackupStatus{Phase: phase, JobName: name + "-backup", CompletionTime: &metav1.Time{Time: at(completed)},
				Databases: []v1.DatabaseResult{{Name: "neo4j", Type: v1.BackupFull, Artifact: name}}}}
	}
	owned := []v1.Backup{ // oldest first, as ownedBackups sorts them
		done("f1", v1.BackupFailed, "00:10:00"), done("s1", v1.BackupSucceeded, "00:20:00"), done("f2", v1.BackupFailed, "00:30:00"),
		done("s2", v1.BackupSucceeded, "00:40:00"), done("f3", v1.BackupFailed, "00:50:00"), done("s3", v1.BackupSucceeded, "01:00:00"),
		{ObjectMeta: metav1.ObjectMeta{Name: "running"}, Status: v1.BackupStatus{Phase: v1.BackupRunning, JobName: "running-backup"}},
	}
	for _, tc := range []struct {
		name       string
		spec       v1.BackupScheduleSpec
		backups    string // deleted, with why
		jobsOf     string
		ownedLimit []v1.Backup
	}{
		{name: "the default limits (3 and 3) keep everything here", backups: "", jobsOf: ""},
		{name: "failedBackupsHistoryLimit 1 deletes the two older failures, not the running one",
			spec:    v1.BackupScheduleSpec{FailedBackupsHistoryLimit: ptr.To[int32](1)},
			backups: "f2 failedBackupsHistoryLimit, f1 failedBackupsHistoryLimit"},
		{name: "successfulBackupsHistoryLimit 1 deletes the Jobs of the older successes, keeping the Backups",
			spec:   v1.BackupScheduleSpec{SuccessfulBackupsHistoryLimit: ptr.To[int32](1)},
			jobsOf: "s2, s1"},
		{name: "keepLast 1 deletes every older success (each a FULL, so no chain holds them); failures follow their own limit",
			spec:    v1.BackupScheduleSpec{Retention: &v1.RetentionSpec{KeepLast: ptr.To[int32](1)}},
			backups: "s2 retention, s1 retention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &v1.BackupSchedule{Spec: tc.spec}
			s.Spec.TimeZone = "UTC"
			d := decidePrune(s, owned, at("02:00:00"))
			var backups, jobs []string
			for _, p := range d.backups {
				backups = append(backups, p.backup.Name+" "+p.why)
			}
			for _, b := range d.jobs {
				jobs = append(jobs, b.Name)
			}
			if got := strings.Join(backups, ", "); got != tc.backups {
				t.Errorf("Backups deleted: %q, want %q", got, tc.backups)
			}
			if got := strings.Join(jobs, ", "); got != tc.jobsOf {
				t.Errorf("Jobs deleted: %q, want %q", got, tc.jobsOf)
			}
		})
	}
}

func TestDecideStart(t *testing.T) {
	budget := v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}
	servers := []topology.Server{
		{Name: "graph-0", Zone: "zone-a", Ready: true, Host: "graph-0.graph.prod.svc"},
		{Name: "graph-1", Zone: "zone-b", Ready: true, Host: "graph-1.graph.prod.svc"},
		{Name: "graph-2", Zone: "zone-b", Ready: true, Host: "graph-2.graph.prod.svc", ReadReplica: true},
	}
	zones := []string{"zone-a", "zone-b", "zone-c"}
	ours := func(mod func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "neo4j-backups-graph", Labels: map[string]string{resources.LabelManagedBy: resources.ManagedBy}}}
		if mod != nil {
			mod(c)
		}
		return c
	}
	ownedByOther := func(c *corev1.PersistentVolumeClaim) {
		c.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Backup", Name: "older", UID: "uid-older"}}
	}
	template := func(b *v1.Backup) {
		b.Spec.Storage.PersistentVolumeClaim.Template = &v1.ClaimTemplate{Size: resource.MustParse("50Gi")}
	}
	deletePolicy := func(b *v1.Backup) { template(b); b.Spec.Storage.DeletionPolicy = v1.DeletionDelete }
	inBucket := func(zone string) func(*v1.Backup) {
		return func(b *v1.Backup) {
			b.Spec.Storage.PersistentVolumeClaim = nil
			b.Spec.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "s3://graph-backups/neo4j/", Region: "eu-west-1", Zone: zone}
		}
	}
	for _, tc := range []struct {
		name    string
		backup  func(*v1.Backup)
		world   backupWorld
		refusal string
		zone    string
		members string
		claim   claimStep
		// crossZone as placement records it.
		crossZone bool
	}{
		{name: "no ready server", world: backupWorld{servers: []topology.Server{{Name: "graph-0", Zone: "zone-a", Host: "h"}}, nodeZones: zones},
			refusal: v1.ReasonNoSourceMember},
		{name: "a claim named in claimName must exist", backup: func(b *v1.Backup) { b.Spec.Storage.PersistentVolumeClaim.ClaimName = "mine" },
			world: backupWorld{servers: servers, nodeZones: zones, claimName: "mine"}, refusal: v1.ReasonClaimNotFound},
		{name: "a template claim is created, in the zone without servers, read replicas first", backup: template,
			world: backupWorld{servers: servers, nodeZones: zones}, zone: "zone-c", members: "graph-2,graph-0,graph-1", claim: claimCreate},
		{name: "a claim being deleted is refused at once", backup: template,
			world:   backupWorld{servers: servers, nodeZones: zones, claim: ours(func(c *corev1.PersistentVolumeClaim) { c.DeletionTimestamp = &metav1.Time{Time: day} })},
			refusal: v1.ReasonClaimDeleting},
		{name: "a template never takes over a claim the operator did not make", backup: template,
			world: backupWorld{servers: servers, nodeZones: zones, claim: ours(func(c *corev1.PersistentVolumeClaim) { c.Labels = nil })}, refusal: v1.ReasonClaimConflict},
		{name: "a claim its Backups own (an earlier version's Delete policy) is disowned, whatever this Backup's policy", backup: template,
			world: backupWorld{servers: servers, nodeZones: zones, claim: ours(ownedByOther)}, zone: "zone-c", members: "graph-2,graph-0,graph-1", claim: claimDisown},
		{name: "a Delete backup leaves an unowned claim unowned", backup: deletePolicy,
			world: backupWorld{servers: servers, nodeZones: zones, claim: ours(nil)}, zone: "zone-c", members: "graph-2,graph-0,graph-1", claim: claimAsIs},
		{name: "a claim bound in a zone of the cluster is refused", backup: template,
			world: backupWorld{servers: servers, nodeZones: zones, claim: ours(nil), boundZone: "zone-a"}, refusal: v1.ReasonNoIsolatedZone},
		{name: "AvoidSourceZone never takes a member from the storage zone",
			backup: func(b *v1.Backup) { template(b); b.Spec.Storage.Zone.Policy = v1.ZoneAvoidSourceZone },
			world:  backupWorld{servers: servers, nodeZones: []string{"zone-a", "zone-b"}}, zone: "zone-a", members: "graph-2,graph-1", claim: claimCreate},
		// A bucket: no claim, and a regional one spans zones, so it is cross-zone even where
		// every zone holds a server and no node is known.
		{name: "a regional bucket is cross-zone, with no claim and no zone to pin", backup: inBucket(""),
			world: backupWorld{servers: servers}, members: "graph-2,graph-0,graph-1", crossZone: true},
		{name: "a regional bucket whatever the policy", backup: func(b *v1.Backup) { inBucket("")(b); b.Spec.Storage.Zone.Policy = v1.ZoneAvoidSourceZone },
			world: backupWorld{servers: servers}, members: "graph-2,graph-0,graph-1", crossZone: true},
		{name: "a zonal bucket in a zone of the cluster is refused", backup: inBucket("zone-a"),
			world: backupWorld{servers: servers, nodeZones: zones}, refusal: v1.ReasonNoIsolatedZone},
		{name: "a zonal bucket outside the cluster's zones needs no node there", backup: inBucket("zone-z"),
			world: backupWorld{servers: servers}, zone: "zone-z", members: "graph-2,graph-0,graph-1", crossZone: true},
		{name: "a zonal bucket in the cluster's zones, allowed", backup: func(b *v1.Backup) { inBucket("zone-a")(b); b.Spec.Storage.Zone.AllowSameZone = true },
			world: backupWorld{servers: servers}, zone: "zone-a", members: "graph-2,graph-0,graph-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "prod", UID: "uid-nightly"}, Spec: v1.BackupSpec{
				Cluster: v1.ClusterSpec{Name: "graph"}, Source: v1.SourceSpec{Policy: v1.SourcePreferReadReplica},
				Storage: v1.StorageSpec{PersistentVolumeClaim: &v1.ClaimSource{}}}}
			if tc.backup != nil {
				tc.backup(b)
			}
			if tc.world.claimName == "" {
				tc.world.claimName = "neo4j-backups-graph"
			}
			d := decideStart(b, budget, tc.world)
			if tc.refusal != "" {
				if d.refusal == nil || d.refusal.Reason != tc.refusal || d.plan != nil {
					t.Fatalf("want refusal %s, got %+v (plan %v)", tc.refusal, d.refusal, d.plan)
				}
				return
			}
			if d.refusal != nil {
				t.Fatalf("refused: %s", d.refusal)
			}
			var members []string
			for _, m := range d.plan.Members {
				members = append(members, m.Name)
			}
			where := v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: "prod/graph"}
			if b.Spec.Storage.ObjectStore != nil {
				where = v1.StorageLocation{URI: "s3://graph-backups", Path: "neo4j/prod/graph"}
				if d.placement.Bucket != "s3://graph-backups" || d.placement.Region != "eu-west-1" {
					t.Errorf("placement names bucket %q in %q", d.placement.Bucket, d.placement.Region)
				}
			}
			if got := strings.Join(members, ","); got != tc.members || d.plan.StorageZone != tc.zone || d.claim != tc.claim || d.plan.Location != where {
				t.Errorf("members %s in zone %s, claim step %d, at %s; want %s in %s, step %d, at %s", got, d.plan.StorageZone, d.claim, d.plan.Location, tc.members, tc.zone, tc.claim, where)
			}
			if d.placement.CrossZone != tc.crossZone && (tc.crossZone || b.Spec.Storage.ObjectStore != nil) {
				t.Errorf("crossZone %t, want %t", d.placement.CrossZone, tc.crossZone)
			}
		})
	}
}

func TestDecideRestore(t *testing.T) {
	budget := v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}
	loc := v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: "prod/graph"}
	backup := func(name string, phase v1.BackupPhase, typ v1.BackupType, low, high int64, completed string) v1.Backup {
		return v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.BackupStatus{
			Phase: phase, Storage: &loc, CompletionTime: &metav1.Time{Time: at(completed)},
			Placement: &v1.Placement{StorageZone: "zone-c"},
			Databases: []v1.DatabaseResult{{Name: "neo4j", Type: typ, Artifact: name + ".backup", LowestTx: low, HighestTx: high}},
		}}
	}
	d1 := backup("d1", v1.BackupSucceeded, v1.BackupFull, 1, 10, "01:00:00")
	d2 := backup("d2", v1.BackupSucceeded, v1.BackupDiff, 11, 20, "02:00:00")
	d3 := backup("d3", v1.BackupSucceeded, v1.BackupDiff, 21, 30, "03:00:00")
	gap := backup("d3", v1.BackupSucceeded, v1.BackupDiff, 25, 30, "03:00:00")
	running := backup("d4", v1.BackupRunning, v1.BackupDiff, 0, 0, "04:00:00")
	failedB := backup("d5", v1.BackupFailed, "", 0, 0, "05:00:00")
	failedB.Status.Databases = nil
	noRange := backup("d2", v1.BackupSucceeded, v1.BackupDiff, 0, 0, "02:00:00")
	other := backup("other", v1.BackupSucceeded, v1.BackupFull, 1, 5, "01:00:00")
	other.Status.Databases[0].Name = "movies"
	chain := []v1.Backup{d1, d2, d3}
	// A glob's Backup whose report listed movies and left 199 databases to its manifest.
	cut := backup("cut", v1.BackupSucceeded, v1.BackupFull, 1, 5, "04:00:00")
	cut.Status.Databases[0].Name = "movies"
	cut.Status.Manifest = &v1.BackupManifest{File: "cut-20261202T040000Z.json", Digest: "sha256:abc", Databases: 200, Full: 200, Unlisted: 199}
	// d2 holding d1's FULL, whose Backup was deleted while d2 needed it; and as an earlier
	// version handed it over, without its transaction range.
	heir, oldHeir := d2, d2
	handed, _ := json.Marshal(map[string][]location.Link{"neo4j": {location.ArtifactLink(&d1, d1.Status.Databases[0])}})
	heir.Annotations = map[string]string{location.InheritedAnnotation: string(handed)}
	oldHeir.Annotations = map[string]string{location.InheritedAnnotation: `{"neo4j":[{"file":"d1.backup","time":"2026-12-02T01:00:00Z","full":true,"clean":true}]}`}
	v526, _ := neo4j.ParseVersion("5.26")
	v44, _ := neo4j.ParseVersion("4.4")

	for _, tc := range []struct {
		name    string
		version neo4j.Version
		source  string // spec.source.backupName; else the storage location
		until   string
		world   restoreWorld
		reason  string
		inspect bool
		chain   string
		untilTx int64
		// planUntilTx is the bound an inspection is asked for.
		planUntilTx int64
		// manifest is the one an inspection ends the chain in.
		manifest string
	}{
		{name: "a named Backup that does not exist is waited for", source: "d9", world: restoreWorld{backups: chain}, reason: v1.ReasonBackupNotFound},
		{name: "a Backup still running is waited for", source: "d4", world: restoreWorld{source: &running}, reason: reasonSourceRunning},
		{name: "a failed Backup holds nothing", source: "d5", world: restoreWorld{source: &failedB}, reason: v1.ReasonSourceNotReady},
		{name: "a Backup without the database", source: "other", world: restoreWorld{source: &other, backups: []v1.Backup{other}}, reason: v1.ReasonSourceNotReady},
		{name: "restoreUntil that is neither a time nor a transaction", source: "d2", until: "yesterday", world: restoreWorld{source: &d2, backups: chain}, reason: v1.ReasonInvalidSpec},
		{name: "the chain ends at the named Backup, restored to its last transaction", source: "d2", world: restoreWorld{source: &d2, backups: chain},
			chain: "d1.backup d2.backup", untilTx: 20},
		{name: "to a transaction: the chain that holds it", source: "", until: "15", world: restoreWorld{backups: chain},
			chain: "d1.backup d2.backup", untilTx: 15, planUntilTx: 15},
		{name: "a gap in what the Backups recorded: the files are inspected (they say ChainBroken if they have it too)",
			world: restoreWorld{backups: []v1.Backup{d1, d2, gap}}, inspect: true},
		{name: "the FULL's Backup deleted, its file kept: the files are inspected, up to the named Backup's last transaction",
			source: "d2", world: restoreWorld{source: &d2, backups: []v1.Backup{d2, d3}}, inspect: true, planUntilTx: 20},
		{name: "a named Backup whose report has no transaction range cannot be found among the files", source: "d2",
			world: restoreWorld{source: &noRange, backups: []v1.Backup{noRange, d3}}, reason: v1.ReasonChainBroken},
		{name: "a FULL a later link holds for its deleted Backup is restored from the records", source: "d2",
			world: restoreWorld{source: &heir, backups: []v1.Backup{heir, d3}}, chain: "d1.backup d2.backup", untilTx: 20},
		{name: "one handed over without its transaction range: the files decide", source: "d2",
			world: restoreWorld{source: &oldHeir, backups: []v1.Backup{oldHeir, d3}}, inspect: true, planUntilTx: 20},
		{name: "a location no Backup describes is inspected", world: restoreWorld{backups: []v1.Backup{other}}, inspect: true},
		{name: "a named Backup must have recorded artifacts there", source: "d2", world: restoreWorld{source: &d2}, reason: v1.ReasonNotCovered},
		{name: "a Backup whose report left the database out: inspected, ending at its artifact in its manifest", source: "cut",
			world: restoreWorld{source: &cut, backups: []v1.Backup{d1, d2, cut}}, inspect: true, manifest: "cut-20261202T040000Z.json@sha256:abc"},
		{name: "a Backup whose report left it out, to a transaction: the files decide, without its manifest", source: "cut", until: "15",
			world: restoreWorld{source: &cut, backups: []v1.Backup{d1, d2, cut}}, inspect: true, planUntilTx: 15},
		{name: "a Backup there may hold the database beyond its report: inspected, up to the named Backup's last transaction", source: "d2",
			world: restoreWorld{source: &d2, backups: []v1.Backup{d1, d2, cut}}, inspect: true, planUntilTx: 20},
		{name: "the newest restorable point, with such a Backup there: inspected", world: restoreWorld{backups: []v1.Backup{d1, d2, cut}}, inspect: true},
		{name: "4.4: a database the newest Backup's report left out is in its folder", version: v44, source: "cut",
			world: restoreWorld{source: &cut, backups: []v1.Backup{d1, d2, cut}}, chain: "neo4j"},
		{name: "4.4: a later Backup whose report was cut may have rewritten the folder", version: v44, source: "d2",
			world: restoreWorld{source: &d2, backups: []v1.Backup{d1, d2, cut}}, reason: v1.ReasonNotCovered},
		{name: "4.4: the database's folder, whatever the Backups say", version: v44, world: restoreWorld{}, chain: "neo4j"},
		{name: "4.4: only the newest backup is still in the folder", version: v44, source: "d2", world: restoreWorld{source: &d2, backups: chain}, reason: v1.ReasonNotCovered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "prod"}, Spec: v1.RestoreSpec{Database: "neo4j", RestoreUntil: tc.until}}
			if tc.source != "" {
				rs.Spec.Source.BackupName = tc.source
			} else {
				rs.Spec.Source.Storage = &v1.StorageLocationSpec{ClaimName: loc.ClaimName, Path: loc.Path}
			}
			version := tc.version
			if version == (neo4j.Version{}) {
				version = v526
			}
			d := decideRestore(rs, version, budget, tc.world)
			if d.reason != tc.reason || d.inspect != tc.inspect {
				t.Fatalf("reason %q (%s), inspect %t; want %q, %t", d.reason, d.message, d.inspect, tc.reason, tc.inspect)
			}
			if tc.reason != "" {
				return
			}
			if d.plan.Manifest != tc.manifest {
				t.Errorf("inspects with manifest %q, want %q", d.plan.Manifest, tc.manifest)
			}
			if d.plan.UntilTx != tc.planUntilTx {
				t.Errorf("asks for transactions up to %d, want %d", d.plan.UntilTx, tc.planUntilTx)
			}
			if got := strings.Join(d.plan.Chain, " "); got != tc.chain || d.untilTx != tc.untilTx {
				t.Errorf("chain %q until tx %d; want %q, %d", got, d.untilTx, tc.chain, tc.untilTx)
			}
			if d.plan.Location != loc {
				t.Errorf("restores from %s", d.plan.Location)
			}
			if tc.chain != "" && tc.version != v44 && d.plan.Zone != "zone-c" {
				t.Errorf("zone %q: the Backups' storage zone", d.plan.Zone)
			}
		})
	}
}

// The finalizer's decision, and the hand-over of kept files: a file handed to a later link is
// judged again, as the link it was, when that link goes.
func TestKeepDecisionJudgesHandedOverFilesAsTheLinksTheyWere(t *testing.T) {
	loc := v1.StorageLocation{ClaimName: "c", Path: "p"}
	link := func(name string, hour int, typ v1.BackupType, clean bool) v1.Backup {
		d := v1.DatabaseResult{Name: "neo4j", Type: typ, Artifact: name + ".backup", Consistent: ptr.To(clean)}
		return v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Status: v1.BackupStatus{
			Phase: v1.BackupSucceeded, Storage: &loc, CompletionTime: &metav1.Time{Time: day.Add(time.Duration(hour) * time.Hour)},
			Databases: []v1.DatabaseResult{d}}}
	}
	f0, f1 := link("f0", 1, v1.BackupFull, true), link("f1", 2, v1.BackupFull, true)
	d1, f2 := link("d1", 3, v1.BackupDiff, false), link("f2", 4, v1.BackupFull, false)

	// f1 deleted: the newest clean chain (f2's is not clean), so kept, and handed to d1.
	f1.DeletionTimestamp = &metav1.Time{Time: day}
	keep, why, heirs := keepDecision(&f1, []v1.Backup{f0, f1, d1, f2})
	if !keep || !strings.Contains(why, "newest clean chain") || len(heirs["d1"]["neo4j"]) != 1 || heirs["d1"]["neo4j"][0].File != "f1.backup" || !heirs["d1"]["neo4j"][0].Clean {
		t.Fatalf("f1: keep %t (%s), heirs %+v", keep, why, heirs)
	}
	// d1 deleted later, holding f1: d1 alone could go, but f1 is still the newest clean FULL.
	v, _ := json.Marshal(heirs["d1"])
	d1.Annotations = map[string]string{location.InheritedAnnotation: string(v)}
	d1.DeletionTimestamp = &metav1.Time{Time: day}
	if keep, why, _ := keepDecision(&d1, []v1.Backup{f0, d1, f2}); !keep || !strings.Contains(why, "newest clean chain") {
		t.Fatalf("d1 holding f1: keep %t (%s)", keep, why)
	}
	if got := artifactsOf(&d1); strings.Join(got.Artifacts, " ") != "d1.backup f1.backup" {
		t.Errorf("d1 prunes %v", got)
	}
	// With a newer clean chain, f1 is no one's any more: d1 and f1 go together.
	f3 := link("f3", 5, v1.BackupFull, true)
	if keep, why, _ := keepDecision(&d1, []v1.Backup{f0, d1, f2, f3}); keep {
		t.Fatalf("d1 and f1 behind a newer clean chain: kept (%s)", why)
	}
}

// Backups whose reports were cut (a glob of hundreds of databases): what their manifests list
// is kept and handed on as one link of its Backup, and a cut Backup counts as a possible later
// link of every database there.
func TestKeepDecisionWithManifests(t *testing.T) {
	loc := v1.StorageLocation{ClaimName: "c", Path: "p"}
	backup := func(name string, hour int, typ v1.BackupType, dbs ...string) v1.Backup {
		b := v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: v1.BackupSpec{Databases: dbs},
			Status: v1.BackupStatus{Phase: v1.BackupSucceeded, Storage: &loc, CompletionTime: &metav1.Time{Time: day.Add(time.Duration(hour) * time.Hour)}}}
		for _, db := range dbs {
			b.Status.Databases = append(b.Status.Databases, v1.DatabaseResult{Name: db, Type: typ, Artifact: name + "-" + db + ".backup"})
		}
		return b
	}
	cut := func(name string, hour int, typ v1.BackupType) v1.Backup {
		b := backup(name, hour, typ, "tenant-*")
		b.Status.Databases = []v1.DatabaseResult{{Name: "tenant-000", Type: typ, Artifact: name + "-tenant-000.backup"}}
		full := int32(0)
		if typ == v1.BackupFull {
			full = 200
		}
		b.Status.Manifest = &v1.BackupManifest{File: name + ".json", Digest: "sha256:" + name, Databases: 200, Full: full, Unlisted: 199}
		return b
	}
	gone := func(b v1.Backup) v1.Backup { b.DeletionTimestamp = &metav1.Time{Time: day}; return b }

	c1, c2, c3 := cut("c1", 1, v1.BackupFull), cut("c2", 2, v1.BackupDiff), cut("c3", 3, v1.BackupFull)
	// c1 with a later DIFF of its chain: kept, and its manifest handed to c2 with the listed file.
	keep, why, heirs := keepDecision(ptr.To(gone(c1)), []v1.Backup{gone(c1), c2})
	if !keep || !strings.Contains(why, "newest restorable chain") || len(heirs["c2"][location.ManifestsKey([]string{"tenant-*"})]) != 1 || heirs["c2"][location.ManifestsKey([]string{"tenant-*"})][0].File != "c1.json" ||
		heirs["c2"][location.ManifestsKey([]string{"tenant-*"})][0].Digest != "sha256:c1" || !heirs["c2"][location.ManifestsKey([]string{"tenant-*"})][0].Full {
		t.Fatalf("c1 before c2: keep %t (%s), heirs %+v", keep, why, heirs)
	}
	if l := heirs["c2"]["tenant-000"]; len(l) != 1 || l[0].File != "c1-tenant-000.backup" || l[0].Digest != "" {
		t.Fatalf("c1's listed artifact handed over as %+v", l)
	}
	// c2 holding c1's manifest, deleted once c3 starts a newer chain: both go, through the manifests.
	v, _ := json.Marshal(heirs["c2"])
	c2.Annotations = map[string]string{location.InheritedAnnotation: string(v)}
	if keep, why, _ := keepDecision(ptr.To(gone(c2)), []v1.Backup{gone(c2), c3}); keep {
		t.Fatalf("c2 behind c3: kept (%s)", why)
	}
	got := artifactsOf(&c2)
	if len(got.Manifests) != 2 || got.Manifests[0].File != "c2.json" || got.Manifests[1].File != "c1.json" ||
		strings.Join(got.Artifacts, " ") != "c2-tenant-000.backup c1-tenant-000.backup" {
		t.Fatalf("c2 prunes %+v", got)
	}
	// A FULL asked for other databases does not end the manifest's chains: it may not hold them
	// (here it ends the chain of the one database c1 listed).
	other := backup("other", 3, v1.BackupFull, "tenant-000")
	if keep, _, _ := keepDecision(ptr.To(gone(c1)), []v1.Backup{gone(c1), other}); !keep {
		t.Fatal("c1 judged behind another request's FULL")
	}
	// A manifest handed to a Backup of another request is judged by its own request's chains:
	// a FULL of neo4j does not end them, a later DIFF of the glob still needs it.
	key := location.ManifestsKey([]string{"tenant-*"})
	n := backup("n", 2, v1.BackupDiff, "neo4j")
	v, _ = json.Marshal(map[string][]location.Link{key: {location.BackupLinkOf(&c1)}})
	n.Annotations = map[string]string{location.InheritedAnnotation: string(v)}
	fn, later := backup("fn", 3, v1.BackupFull, "neo4j"), cut("later", 4, v1.BackupDiff)
	keep, why, heirs = keepDecision(ptr.To(gone(n)), []v1.Backup{gone(n), fn, later})
	if !keep || len(heirs["fn"][key]) != 1 || heirs["fn"][key][0].File != "c1.json" {
		t.Fatalf("n holding c1's manifest: keep %t (%s), heirs %+v", keep, why, heirs)
	}
	if got := artifactsOf(&n); len(got.Manifests) != 1 || got.Manifests[0].File != "c1.json" {
		t.Fatalf("n prunes %+v", got)
	}
	// A Backup of neo4j before a cut one: the cut one may hold a neo4j DIFF that needs it, even
	// with a newer neo4j FULL after both.
	a, f := backup("a", 1, v1.BackupFull, "neo4j"), backup("f", 4, v1.BackupFull, "neo4j")
	if keep, why, _ := keepDecision(ptr.To(gone(a)), []v1.Backup{gone(a), c2, f}); !keep || !strings.Contains(why, "c2") {
		t.Fatalf("a before a cut Backup: keep %t (%s)", keep, why)
	}
	if keep, why, _ := keepDecision(ptr.To(gone(a)), []v1.Backup{gone(a), f}); keep {
		t.Fatalf("a behind f alone: kept (%s)", why)
	}
}

func TestDecideRestoreFromABucket(t *testing.T) {
	budget := v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}
	loc := v1.StorageLocation{URI: "s3://graph-backups", Path: "neo4j/prod/graph"}
	full := v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "full"},
		Spec: v1.BackupSpec{Storage: v1.StorageSpec{ObjectStore: &v1.ObjectStoreSpec{URI: "s3://graph-backups/neo4j", Region: "eu-west-1",
			Credentials: v1.ObjectStoreCredentials{WorkloadIdentity: true}}}, JobOptions: v1.JobOptions{ServiceAccountName: "backup"}},
		Status: v1.BackupStatus{Phase: v1.BackupSucceeded, Storage: &loc, CompletionTime: &metav1.Time{Time: at("01:00:00")},
			Placement: &v1.Placement{StorageZone: "zone-c", Bucket: "s3://graph-backups"},
			Databases: []v1.DatabaseResult{{Name: "neo4j", Type: v1.BackupFull, Artifact: "full.backup", LowestTx: 1, HighestTx: 10}}}}
	v526, _ := neo4j.ParseVersion("5.26")
	v524, _ := neo4j.ParseVersion("5.24")
	for _, tc := range []struct {
		name    string
		version neo4j.Version
		sa      string
		reason  string
	}{
		{name: "read with the Backup's access, in no zone", version: v526, sa: "restorer"},
		{name: "a version whose backup inspect cannot read the bucket", version: v524, sa: "restorer", reason: v1.ReasonInvalidSpec},
		{name: "workload identity needs the Restore's ServiceAccount", version: v526, reason: v1.ReasonInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "prod"}, Spec: v1.RestoreSpec{Database: "neo4j",
				Source: v1.RestoreSource{BackupName: "full"}, JobOptions: v1.JobOptions{ServiceAccountName: tc.sa}}}
			d := decideRestore(rs, tc.version, budget, restoreWorld{source: &full, backups: []v1.Backup{full}})
			if d.reason != tc.reason {
				t.Fatalf("reason %q (%s), want %q", d.reason, d.message, tc.reason)
			}
			if tc.reason != "" {
				return
			}
			if d.plan.Location != loc || d.plan.Access != full.Spec.Storage.ObjectStore || d.plan.Zone != "" || strings.Join(d.plan.Chain, " ") != "full.backup" {
				t.Errorf("plan %+v", d.plan)
			}
		})
	}
}

// Where a SeedFromURI restore's servers fetch the seed: straight from a bucket where the
// version's defaults allow it (Auto: 2025.01+, where CloudSeedProvider is the default seed
// provider, 2025.01.0 configuration-settings.adoc:2045), or where the spec says so (Bucket:
// 5.26+, whose CloudSeedProvider seeds from a chain, 5.26.2 clustering/databases.adoc:530);
// from a seed server otherwise.
func TestDecideWhereTheSeedComesFrom(t *testing.T) {
	budget := v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}
	bucket := v1.StorageLocation{URI: "gs://graph-backups", Path: "prod/graph"}
	volume := v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: "prod/graph"}
	backup := func(loc v1.StorageLocation) v1.Backup {
		b := v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "full"},
			Status: v1.BackupStatus{Phase: v1.BackupSucceeded, Storage: &loc, CompletionTime: &metav1.Time{Time: at("01:00:00")},
				Placement: &v1.Placement{StorageZone: "zone-c"},
				Databases: []v1.DatabaseResult{{Name: "neo4j", Type: v1.BackupFull, Artifact: "full.backup", LowestTx: 1, HighestTx: 10}}}}
		if loc.InBucket() {
			b.Spec.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "gs://graph-backups", Project: "graph-prod", Credentials: v1.ObjectStoreCredentials{SecretName: "gcs"}}
		}
		return b
	}
	for _, tc := range []struct {
		name, version string
		seedFrom      v1.SeedFrom
		loc           v1.StorageLocation
		mode          v1.RestoreMode
		replace       bool
		bucket        bool
		reason        string
	}{
		{name: "Auto on 2025.01 from a bucket", version: "2025.01", loc: bucket, bucket: true},
		{name: "Auto (unset) on 2025.10 from a bucket", version: "2025.10", seedFrom: "", loc: bucket, bucket: true},
		{name: "Auto on 5.26, whose default providers put S3SeedProvider first", version: "5.26", seedFrom: v1.SeedFromAuto, loc: bucket},
		{name: "Auto from a volume", version: "2025.10", seedFrom: v1.SeedFromAuto, loc: volume},
		{name: "Bucket on 5.26", version: "5.26", seedFrom: v1.SeedFromBucket, loc: bucket, bucket: true},
		{name: "SeedServer on 2025.10", version: "2025.10", seedFrom: v1.SeedFromSeedServer, loc: bucket},
		{name: "Bucket from a volume", version: "2025.10", seedFrom: v1.SeedFromBucket, loc: volume, reason: v1.ReasonInvalidSpec},
		{name: "Bucket on 5.25, whose CloudSeedProvider takes no chain", version: "5.25", seedFrom: v1.SeedFromBucket, loc: bucket, reason: v1.ReasonInvalidSpec},
		{name: "a Volume restore never seeds", version: "2025.10", loc: bucket, mode: v1.RestoreVolume},
		// A replace drops the old database even when the seed then fails to start: only a seed
		// the seed Job has seen served replaces it.
		{name: "Auto with replaceExisting", version: "2025.10", loc: bucket, replace: true},
		{name: "Bucket with replaceExisting", version: "2025.10", seedFrom: v1.SeedFromBucket, loc: bucket, replace: true, reason: v1.ReasonInvalidSpec},
		// The seed URI cannot name an S3-compatible store's endpoint.
		{name: "Auto from an S3-compatible store", version: "2025.10", loc: v1.StorageLocation{URI: "s3://b", Path: "p", Endpoint: "https://minio:9000"}},
		// The manual gives two forms of an azb:// seed URI: only by the user's choice.
		{name: "Auto from an Azure container", version: "2025.10", loc: v1.StorageLocation{URI: "azb://account/container", Path: "p"}},
		{name: "Bucket from an Azure container", version: "2025.10", seedFrom: v1.SeedFromBucket, loc: v1.StorageLocation{URI: "azb://account/container", Path: "p"}, bucket: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := neo4j.ParseVersion(tc.version)
			if err != nil {
				t.Fatal(err)
			}
			mode := tc.mode
			if mode == "" {
				mode = v1.RestoreSeedFromURI
			}
			b := backup(tc.loc)
			rs := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "prod"}, Spec: v1.RestoreSpec{Database: "neo4j", Mode: mode,
				SeedFrom: tc.seedFrom, ReplaceExisting: tc.replace, Source: v1.RestoreSource{BackupName: "full"}}}
			d := decideRestore(rs, v, budget, restoreWorld{source: &b, backups: []v1.Backup{b}})
			if d.reason != tc.reason {
				t.Fatalf("reason %q (%s), want %q", d.reason, d.message, tc.reason)
			}
			if tc.reason == "" && d.plan.SeedFromBucket != tc.bucket {
				t.Errorf("seed from the bucket: %t, want %t", d.plan.SeedFromBucket, tc.bucket)
			}
		})
	}
}

// What the schedule changes on a Backup it finds as its own (marked): expected by hand.
func TestMarkedReleasesAndNamesTheSchedulesBackups(t *testing.T) {
	s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: "nightly", UID: "uid-nightly"}}
	controller := metav1.OwnerReference{APIVersion: v1.GroupVersion.String(), Kind: "BackupSchedule", Name: "nightly", UID: "uid-nightly",
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "uid-cm"}
	mine := map[string]string{v1.ScheduleUIDAnnotation: "uid-nightly", v1.ScheduleAnnotation: "nightly"}
	label := map[string]string{v1.ScheduleLabel: "nightly"}
	backup := func(owners []metav1.OwnerReference, annotations, labels map[string]string) *v1.Backup {
		return &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "b", OwnerReferences: owners, Annotations: annotations, Labels: labels}}
	}
	for name, c := range map[string]struct {
		mode        v1.BackupOwnerReference
		in          *v1.Backup
		owners      []metav1.OwnerReference
		annotations map[string]string
		labels      map[string]string
		unchanged   bool
	}{
		"an earlier version's Backup, the schedule its controller: released and annotated": {
			mode: v1.BackupOwnerNone, in: backup([]metav1.OwnerReference{controller}, nil, label),
			annotations: mine, labels: label},
		"the same with another, non-controller owner: only the schedule's reference goes": {
			mode: v1.BackupOwnerNone, in: backup([]metav1.OwnerReference{controller, other}, nil, label),
			owners: []metav1.OwnerReference{other}, annotations: mine, labels: label},
		"Schedule mode keeps its controller reference and adds the annotations": {
			mode: v1.BackupOwnerSchedule, in: backup([]metav1.OwnerReference{controller}, nil, label),
			owners: []metav1.OwnerReference{controller}, annotations: mine, labels: label},
		"handed over by the UID alone after a rename: name and label follow the schedule": {
			mode: v1.BackupOwnerNone, in: backup(nil, map[string]string{v1.ScheduleUIDAnnotation: "uid-nightly", v1.ScheduleAnnotation: "old-name"},
				map[string]string{v1.ScheduleLabel: "old-name", "team": "graph"}),
			annotations: mine, labels: map[string]string{v1.ScheduleLabel: "nightly", "team": "graph"}},
		"already marked":                         {mode: v1.BackupOwnerNone, in: backup(nil, mine, label), unchanged: true},
		"marked and controlled in Schedule mode": {mode: v1.BackupOwnerSchedule, in: backup([]metav1.OwnerReference{controller}, mine, label), unchanged: true},
	} {
		t.Run(name, func(t *testing.T) {
			s.Spec.BackupOwnerReference = c.mode
			in := c.in.DeepCopy()
			got := marked(in, s)
			if c.unchanged {
				if got != nil {
					t.Fatalf("changed an already marked Backup: %+v", got.ObjectMeta)
				}
				return
			}
			if got == nil {
				t.Fatal("nothing to change")
			}
			if !equalJSON(got.OwnerReferences, c.owners) || !equalJSON(got.Annotations, c.annotations) || !equalJSON(got.Labels, c.labels) {
				t.Errorf("got owners %v annotations %v labels %v\nwant owners %v annotations %v labels %v",
					got.OwnerReferences, got.Annotations, got.Labels, c.owners, c.annotations, c.labels)
			}
			if !equalJSON(in, c.in) {
				t.Error("marked changed its argument")
			}
		})
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// A schedule's restorable window, per database, from its Backups' records: hand-written cases of
// the rules status.restorable states (clean chains only, every location, the newest point's
// transaction).
func TestRestorableWindows(t *testing.T) {
	claim := v1.StorageLocation{ClaimName: "backups-b", Path: "graph"}
	bucket := v1.StorageLocation{URI: "s3://backups", Path: "graph"}
	b := func(name string, hour int, loc v1.StorageLocation, phase v1.BackupPhase, dbs ...v1.DatabaseResult) v1.Backup {
		return v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Status: v1.BackupStatus{
			Phase: phase, Storage: &loc, CompletionTime: &metav1.Time{Time: day.Add(time.Duration(hour) * time.Hour)}, Databases: dbs}}
	}
	full := func(db string, high int64) v1.DatabaseResult {
		return v1.DatabaseResult{Name: db, Type: v1.BackupFull, Artifact: db + "-full-" + fmtInt(high), LowestTx: 1, HighestTx: high}
	}
	diff := func(db string, low, high int64) v1.DatabaseResult {
		return v1.DatabaseResult{Name: db, Type: v1.BackupDiff, Artifact: db + "-diff-" + fmtInt(high), LowestTx: low, HighestTx: high}
	}
	failed := func(db string) v1.DatabaseResult {
		return v1.DatabaseResult{Name: db, Type: v1.BackupDiff, Error: "the backup failed"}
	}
	inconsistent := func(d v1.DatabaseResult) v1.DatabaseResult { d.Consistent = ptr.To(false); return d }
	w := func(db string, oldest, newest int, tx int64) v1.RestorableWindow {
		return v1.RestorableWindow{Database: db, OldestTime: metav1.NewTime(day.Add(time.Duration(oldest) * time.Hour)),
			NewestTime: metav1.NewTime(day.Add(time.Duration(newest) * time.Hour)), NewestTransaction: tx}
	}
	for _, tc := range []struct {
		name  string
		owned []v1.Backup
		want  []v1.RestorableWindow
	}{
		{"none", nil, nil},
		{"a FULL and two DIFFs, two databases",
			[]v1.Backup{b("f", 0, claim, v1.BackupSucceeded, full("neo4j", 10), full("movies", 5)),
				b("d1", 1, claim, v1.BackupSucceeded, diff("neo4j", 11, 20), diff("movies", 6, 8)),
				b("d2", 2, claim, v1.BackupSucceeded, diff("neo4j", 21, 30), diff("movies", 9, 9))},
			[]v1.RestorableWindow{w("movies", 0, 2, 9), w("neo4j", 0, 2, 30)}},
		{"a database that failed last night ends at the night before; the other goes on",
			[]v1.Backup{b("f", 0, claim, v1.BackupSucceeded, full("neo4j", 10), full("movies", 5)),
				b("d1", 1, claim, v1.BackupPartiallyFailed, diff("neo4j", 11, 20), failed("movies"))},
			[]v1.RestorableWindow{w("movies", 0, 0, 5), w("neo4j", 0, 1, 20)}},
		{"an inconsistent DIFF: nothing after it counts until the next FULL",
			[]v1.Backup{b("f", 0, claim, v1.BackupSucceeded, full("neo4j", 10)),
				b("d1", 1, claim, v1.BackupPartiallyFailed, inconsistent(diff("neo4j", 11, 20))),
				b("d2", 2, claim, v1.BackupSucceeded, diff("neo4j", 21, 30))},
			[]v1.RestorableWindow{w("neo4j", 0, 0, 10)}},
		{"a gap in the transactions ends the window before it",
			[]v1.Backup{b("f", 0, claim, v1.BackupSucceeded, full("neo4j", 10)),
				b("d2", 2, claim, v1.BackupSucceeded, diff("neo4j", 21, 30))},
			[]v1.RestorableWindow{w("neo4j", 0, 0, 10)}},
		{"a DIFF whose FULL is gone restores nothing",
			[]v1.Backup{b("d1", 1, claim, v1.BackupSucceeded, diff("neo4j", 11, 20))}, nil},
		{"storage moved to a bucket: from the oldest point on the claim to the newest in the bucket",
			[]v1.Backup{b("f", 0, claim, v1.BackupSucceeded, full("neo4j", 10)),
				b("f2", 5, bucket, v1.BackupSucceeded, full("neo4j", 50)),
				b("d", 6, bucket, v1.BackupSucceeded, diff("neo4j", 51, 60))},
			[]v1.RestorableWindow{w("neo4j", 0, 6, 60)}},
		{"a Backup being deleted is no point",
			[]v1.Backup{b("f", 0, claim, v1.BackupSucceeded, full("neo4j", 10)),
				func() v1.Backup {
					x := b("d1", 1, claim, v1.BackupSucceeded, diff("neo4j", 11, 20))
					x.DeletionTimestamp = &metav1.Time{Time: day}
					return x
				}()},
			[]v1.RestorableWindow{w("neo4j", 0, 0, 10)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := restorableWindows(tc.owned); !equalJSON(got, tc.want) {
				g, _ := json.Marshal(got)
				wj, _ := json.Marshal(tc.want)
				t.Errorf("got  %s\nwant %s", g, wj)
			}
		})
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
