package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

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
	Duration.WithLabelValues("prod", "graph", "hourly", "Succeeded").Observe(3)
	MissedSlots.WithLabelValues("prod", "hourly", "Outage").Inc()
	RecordSuccess("prod", "graph", "other", "neo4j", at, 100)

	ForgetSchedule("prod", "hourly")
	for name, c := range map[string]prometheus.Collector{"last success": LastSuccess, "size": Size, "failures": Failures,
		"backups": Backups, "duration": Duration, "missed slots": MissedSlots} {
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
