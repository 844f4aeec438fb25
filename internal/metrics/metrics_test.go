package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

func window(db string, newest time.Time, tx int64) v1.RestorableWindow {
	return v1.RestorableWindow{Database: db, OldestTime: metav1.NewTime(newest.Add(-72 * time.Hour)), NewestTime: metav1.NewTime(newest), NewestTransaction: tx}
}

// A schedule's windows are its databases' now: a database it no longer restores (dropped, or
// its chains all pruned) has no series left to alert on, and the others keep theirs.
func TestRecordWindowsExportsEachDatabaseAndDropsTheGoneOnes(t *testing.T) {
	at := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	RecordWindows("prod", "graph", "nightly", []v1.RestorableWindow{window("neo4j", at, 120), window("movies", at.Add(time.Hour), 7)})
	RecordWindows("prod", "graph", "weekly", []v1.RestorableWindow{window("neo4j", at, 100)})
	if got := testutil.ToFloat64(RestorableNewest.WithLabelValues("prod", "graph", "nightly", "movies")); got != float64(at.Add(time.Hour).Unix()) {
		t.Errorf("newest = %v", got)
	}
	if got := testutil.ToFloat64(RestorableOldest.WithLabelValues("prod", "graph", "nightly", "neo4j")); got != float64(at.Add(-72*time.Hour).Unix()) {
		t.Errorf("oldest = %v", got)
	}
	if got := testutil.ToFloat64(RestorableNewestTx.WithLabelValues("prod", "graph", "nightly", "neo4j")); got != 120 {
		t.Errorf("transaction = %v", got)
	}
	RecordWindows("prod", "graph", "nightly", []v1.RestorableWindow{window("neo4j", at.Add(24*time.Hour), 130)})
	for _, g := range windowGauges {
		if n := series(t, g, "nightly"); n != 1 {
			t.Errorf("%d series of nightly, want neo4j's alone", n)
		}
		if n := series(t, g, "weekly"); n != 1 {
			t.Errorf("another schedule's series changed: %d", n)
		}
	}
	RecordWindows("prod", "graph", "nightly", nil)
	if n := series(t, RestorableNewest, "nightly"); n != 0 {
		t.Errorf("%d series left of a schedule that restores nothing", n)
	}
}

// One series per schedule: the newest finished Backup's phase and reason.
func TestRecordLastBackupKeepsOneSeries(t *testing.T) {
	RecordLastBackup("prod", "daily", "Succeeded", "Completed")
	RecordLastBackup("prod", "daily", "Failed", "BackupFailed")
	if n := series(t, ScheduleLastBackup, "daily"); n != 1 {
		t.Fatalf("%d series, want 1", n)
	}
	if got := testutil.ToFloat64(ScheduleLastBackup.WithLabelValues("prod", "daily", "Failed", "BackupFailed")); got != 1 {
		t.Errorf("value %v", got)
	}
	RecordLastBackup("prod", "daily", "", "")
	if n := series(t, ScheduleLastBackup, "daily"); n != 0 {
		t.Errorf("%d series after none", n)
	}
}

func TestRecordSuccessKeepsTheNewest(t *testing.T) {
	newer := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	older := newer.Add(-24 * time.Hour)
	RecordSuccess("prod", "graph", "nightly", "neo4j", newer, 300)
	RecordSuccess("prod", "graph", "nightly", "neo4j", older, 100) // reconciled later, e.g. at start
	if got := testutil.ToFloat64(LastSuccess.WithLabelValues("prod", "graph", "nightly", "neo4j")); got != float64(newer.Unix()) {
		t.Errorf("last success = %v, want %v", got, newer.Unix())
	}
	if got := testutil.ToFloat64(Size.WithLabelValues("prod", "graph", "nightly", "neo4j")); got != 300 {
		t.Errorf("size = %v, want 300", got)
	}
}

func TestForgetScheduleDropsEverySeriesOfIt(t *testing.T) {
	at := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	for _, db := range []string{"neo4j", "movies"} {
		RecordSuccess("prod", "graph", "hourly", db, at, 100)
		Failures.WithLabelValues("prod", "graph", "hourly", db, "BackupFailed").Inc()
	}
	Backups.WithLabelValues("prod", "graph", "hourly", "Succeeded").Inc()
	RecordWindows("prod", "graph", "hourly", []v1.RestorableWindow{window("neo4j", at, 9)})
	RecordLastBackup("prod", "hourly", "Succeeded", "Completed")
	Duration.WithLabelValues("prod", "graph", "hourly", "Succeeded").Observe(3)
	MissedSlots.WithLabelValues("prod", "hourly", "Outage").Inc()
	RecordSuccess("prod", "graph", "other", "neo4j", at, 100)

	ForgetSchedule("prod", "hourly")
	for name, c := range map[string]prometheus.Collector{"last success": LastSuccess, "size": Size, "failures": Failures,
		"backups": Backups, "duration": Duration, "missed slots": MissedSlots, "restorable oldest": RestorableOldest,
		"restorable newest": RestorableNewest, "restorable transaction": RestorableNewestTx, "last backup": ScheduleLastBackup} {
		if n := series(t, c, "hourly"); n != 0 {
			t.Errorf("%s: %d series of the deleted schedule left", name, n)
		}
	}
	if n := series(t, LastSuccess, "other"); n != 1 {
		t.Errorf("another schedule's series went too: %d left", n)
	}
}

// series counts c's series whose schedule label is schedule.
func series(t *testing.T, c prometheus.Collector, schedule string) int {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		for _, l := range pb.GetLabel() {
			if l.GetName() == "schedule" && l.GetValue() == schedule {
				n++
			}
		}
	}
	return n
}

func TestFamiliesNameEachMetricWithItsLabels(t *testing.T) {
	fams, err := Families()
	if err != nil {
		t.Fatal(err)
	}
	if got := fams["neo4j_backup_restorable_newest_timestamp_seconds"]; strings.Join(got, ",") != "namespace,cluster,schedule,database" {
		t.Errorf("labels %v", got)
	}
	if got := fams["neo4j_backup_duration_seconds"]; strings.Join(got, ",") != "namespace,cluster,schedule,phase" {
		t.Errorf("labels %v", got)
	}
	if len(fams) != len(all) {
		t.Errorf("%d families of %d collectors", len(fams), len(all))
	}
}
