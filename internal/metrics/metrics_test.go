package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
