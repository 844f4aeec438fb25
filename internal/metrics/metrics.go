// Package metrics defines the operator's Prometheus metrics, registered with controller-runtime's
// registry (served on the manager's metrics endpoint).
package metrics

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

var (
	// LastSuccess is when a database of a cluster was last backed up (Unix seconds), per
	// schedule ("" for on-demand Backups). Alert when time() - this exceeds the schedule's
	// interval by a margin.
	LastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_last_success_timestamp_seconds",
		Help: "Completion time of the newest backup of each database that was backed up.",
	}, []string{"namespace", "cluster", "schedule", "database"})

	// Size of the newest artifact per database.
	Size = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_size_bytes",
		Help: "Size of the newest backup artifact of each database.",
	}, []string{"namespace", "cluster", "schedule", "database"})

	// Duration of finished backups.
	Duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "neo4j_backup_duration_seconds",
		Help:    "Time from a backup Job's start to the Backup's completion.",
		Buckets: prometheus.ExponentialBuckets(10, 2, 12), // 10 s to ~5.7 h
	}, []string{"namespace", "cluster", "schedule", "phase"})

	// Backups counts finished Backups by phase.
	Backups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "neo4j_backup_backups_total",
		Help: "Finished Backups by phase (Succeeded, PartiallyFailed, Failed).",
	}, []string{"namespace", "cluster", "schedule", "phase"})

	// Failures counts failed databases and failed Backups by reason.
	Failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "neo4j_backup_failures_total",
		Help: "Backups that failed, and databases that failed within a backup, by reason.",
	}, []string{"namespace", "cluster", "schedule", "database", "reason"})

	// RestoreDuration of finished restores.
	RestoreDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "neo4j_backup_restore_duration_seconds",
		Help:    "Time from a Restore's creation to its end, by mode and phase.",
		Buckets: prometheus.ExponentialBuckets(10, 2, 12),
	}, []string{"namespace", "mode", "phase"})

	// ScheduleLastSuccess is when the newest successful Backup of a schedule completed.
	ScheduleLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_schedule_last_success_timestamp_seconds",
		Help: "Completion time of the newest successful Backup of each BackupSchedule.",
	}, []string{"namespace", "schedule"})

	// ScheduleInterval is the longest time between two slots of a schedule (over a week at
	// least), so an alert can say "no success within N intervals" for any schedule, weekdays-
	// only ones included. Absent while it is suspended.
	ScheduleInterval = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_schedule_interval_seconds",
		Help: "Longest time between two slots of each active BackupSchedule, in seconds.",
	}, []string{"namespace", "schedule"})

	// MissedSlots counts slots a schedule did not take (deadline passed, Forbid, outage).
	MissedSlots = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "neo4j_backup_schedule_missed_slots_total",
		Help: "Slots of a BackupSchedule that were not taken, by reason.",
	}, []string{"namespace", "schedule", "reason"})
)

// A schedule's restore drills (spec.verify).
var (
	// ScheduleLastVerified is when the newest drill that found its chain consistent ended.
	ScheduleLastVerified = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_schedule_last_verified_timestamp_seconds",
		Help: "End of the newest restore drill of each BackupSchedule that restored a chain and found it consistent.",
	}, []string{"namespace", "schedule"})
	// ScheduleVerified is the Verified condition: 1 True, 0 False, absent while Unknown.
	ScheduleVerified = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_schedule_verified",
		Help: "1 when the newest restore drill of each BackupSchedule verified its chain within two drill intervals, 0 when it failed or none did.",
	}, []string{"namespace", "schedule"})
	// ScheduleVerifyInterval is the longest time between two drill slots.
	ScheduleVerifyInterval = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_schedule_verify_interval_seconds",
		Help: "Longest time between two restore drill slots of each BackupSchedule, in seconds.",
	}, []string{"namespace", "schedule"})
	// DrillRestoreSeconds and DrillCheckSeconds are what the newest drill measured: the time
	// to restore the chain (its recovery time, measured) and to check it.
	DrillRestoreSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_drill_restore_duration_seconds",
		Help: "How long the newest restore drill of each BackupSchedule took to restore its chain.",
	}, []string{"namespace", "schedule"})
	DrillCheckSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_drill_check_duration_seconds",
		Help: "How long the newest restore drill of each BackupSchedule took to check the restored database's consistency.",
	}, []string{"namespace", "schedule"})
)

// drillGauges are the drill series of a schedule, dropped together.
var drillGauges = []*prometheus.GaugeVec{ScheduleLastVerified, ScheduleVerified, ScheduleVerifyInterval, DrillRestoreSeconds, DrillCheckSeconds}

// ForgetDrills drops a schedule's drill series (spec.verify removed, or the schedule gone).
func ForgetDrills(namespace, schedule string) {
	for _, g := range drillGauges {
		g.DeleteLabelValues(namespace, schedule)
	}
}

// all is every collector the operator exports.
// The backup volume of each schedule, after the newest backup that read it.
var (
	StorageCapacity = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_storage_capacity_bytes",
		Help: "Capacity of the backup volume of each BackupSchedule.",
	}, []string{"namespace", "schedule"})
	StorageAvailable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_storage_available_bytes",
		Help: "Bytes a backup can still write on the backup volume of each BackupSchedule.",
	}, []string{"namespace", "schedule"})
	// StorageNextFullFits is 1 when the next FULL, estimated as the size of the newest one,
	// fits in what is available, else 0 (the schedule's StorageSpace condition).
	StorageNextFullFits = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_storage_next_full_fits",
		Help: "1 when the next FULL backup of each BackupSchedule is expected to fit on its volume, else 0.",
	}, []string{"namespace", "schedule"})
)

// RecordSpace exports a schedule's backup volume.
func RecordSpace(namespace, schedule string, capacity, available int64, fits bool) {
	StorageCapacity.WithLabelValues(namespace, schedule).Set(float64(capacity))
	StorageAvailable.WithLabelValues(namespace, schedule).Set(float64(available))
	v := 0.0
	if fits {
		v = 1
	}
	StorageNextFullFits.WithLabelValues(namespace, schedule).Set(v)
}

// What a schedule's Backups restore, and how its newest Backup ended.
var (
	// RestorableOldest, RestorableNewest and RestorableNewestTx are status.restorable: per
	// database, the oldest and newest points its schedule's clean chains restore it to.
	RestorableOldest = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_restorable_oldest_timestamp_seconds",
		Help: "Oldest point each database can be restored to from the clean chains of its BackupSchedule's Backups.",
	}, windowLabels)
	RestorableNewest = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_restorable_newest_timestamp_seconds",
		Help: "Newest point each database can be restored to from the clean chains of its BackupSchedule's Backups.",
	}, windowLabels)
	RestorableNewestTx = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_restorable_newest_transaction",
		Help: "Last transaction of the newest clean chain of each database of a BackupSchedule.",
	}, windowLabels)
	// ScheduleLastBackup is 1 for the phase and reason of a schedule's newest finished Backup
	// (its LastBackupSucceeded condition), one series per schedule; absent before one finished.
	ScheduleLastBackup = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "neo4j_backup_schedule_last_backup_result",
		Help: "1 for the phase and reason of the newest finished Backup of each BackupSchedule.",
	}, []string{"namespace", "schedule", "phase", "reason"})
)

var windowLabels = []string{"namespace", "cluster", "schedule", "database"}

var windowGauges = []*prometheus.GaugeVec{RestorableOldest, RestorableNewest, RestorableNewestTx}

// exported is what RecordWindows and RecordLastBackup last set per schedule, so that a database
// or result that is gone is deleted, and nothing else is (a scrape in between sees no gap).
var exported = struct {
	sync.Mutex
	windows map[[2]string]map[[2]string]bool // cluster, database
	last    map[[2]string][2]string          // phase, reason
}{windows: map[[2]string]map[[2]string]bool{}, last: map[[2]string][2]string{}}

// RecordWindows exports a schedule's status.restorable, and drops the databases it no longer has.
func RecordWindows(namespace, cluster, schedule string, windows []v1.RestorableWindow) {
	key := [2]string{namespace, schedule}
	now := map[[2]string]bool{}
	for _, w := range windows {
		labels := []string{namespace, cluster, schedule, w.Database}
		RestorableOldest.WithLabelValues(labels...).Set(float64(w.OldestTime.Unix()))
		RestorableNewest.WithLabelValues(labels...).Set(float64(w.NewestTime.Unix()))
		RestorableNewestTx.WithLabelValues(labels...).Set(float64(w.NewestTransaction))
		now[[2]string{cluster, w.Database}] = true
	}
	exported.Lock()
	defer exported.Unlock()
	for was := range exported.windows[key] {
		if !now[was] {
			for _, g := range windowGauges {
				g.DeleteLabelValues(namespace, was[0], schedule, was[1])
			}
		}
	}
	exported.windows[key] = now
}

// RecordLastBackup exports how a schedule's newest finished Backup ended; phase "" drops it.
func RecordLastBackup(namespace, schedule, phase, reason string) {
	key := [2]string{namespace, schedule}
	exported.Lock()
	defer exported.Unlock()
	if was, ok := exported.last[key]; ok && was != [2]string{phase, reason} {
		ScheduleLastBackup.DeleteLabelValues(namespace, schedule, was[0], was[1])
		delete(exported.last, key)
	}
	if phase != "" {
		ScheduleLastBackup.WithLabelValues(namespace, schedule, phase, reason).Set(1)
		exported.last[key] = [2]string{phase, reason}
	}
}

var all = []prometheus.Collector{LastSuccess, Size, Duration, Backups, Failures, ScheduleLastSuccess, ScheduleInterval, MissedSlots, RestoreDuration,
	StorageCapacity, StorageAvailable, StorageNextFullFits,
	ScheduleLastVerified, ScheduleVerified, ScheduleVerifyInterval, DrillRestoreSeconds, DrillCheckSeconds,
	RestorableOldest, RestorableNewest, RestorableNewestTx, ScheduleLastBackup}

func init() {
	metrics.Registry.MustRegister(all...)
}

var (
	mu     sync.Mutex
	newest = map[[4]string]time.Time{}
)

// RecordSuccess sets the last-success time and size of a database, unless a newer backup was
// recorded already: every Backup is reconciled again when the operator starts, oldest and newest
// in any order, and the gauges must end at the newest.
func RecordSuccess(namespace, cluster, schedule, database string, at time.Time, size int64) {
	key := [4]string{namespace, cluster, schedule, database}
	mu.Lock()
	defer mu.Unlock()
	if prev, ok := newest[key]; ok && !at.After(prev) {
		return
	}
	newest[key] = at
	LastSuccess.WithLabelValues(key[:]...).Set(float64(at.Unix()))
	Size.WithLabelValues(key[:]...).Set(float64(size))
}

// ForgetSchedule drops every series of a deleted schedule, per database and per phase
// included: nothing alerts on, or keeps in memory, a schedule nobody has any more.
func ForgetSchedule(namespace, schedule string) {
	for _, g := range []*prometheus.GaugeVec{ScheduleLastSuccess, ScheduleInterval, StorageCapacity, StorageAvailable, StorageNextFullFits} {
		g.DeleteLabelValues(namespace, schedule)
	}
	ForgetDrills(namespace, schedule)
	match := prometheus.Labels{"namespace": namespace, "schedule": schedule}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{LastSuccess, Size, Duration, Backups, Failures, MissedSlots,
		RestorableOldest, RestorableNewest, RestorableNewestTx, ScheduleLastBackup} {
		v.DeletePartialMatch(match)
	}
	exported.Lock()
	delete(exported.windows, [2]string{namespace, schedule})
	delete(exported.last, [2]string{namespace, schedule})
	exported.Unlock()
	mu.Lock()
	defer mu.Unlock()
	for key := range newest {
		if key[0] == namespace && key[2] == schedule {
			delete(newest, key)
		}
	}
}

// Families returns the metric families the operator exports, by name, with their labels (so that
// alert rules and dashboards can be checked against them). client_golang has no accessor for a
// Desc's parts; its String form carries them as fqName: "..." and variableLabels: {a,b}.
func Families() (map[string][]string, error) {
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	out := map[string][]string{}
	for _, c := range all {
		ch := make(chan *prometheus.Desc, 1)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := desc.FindStringSubmatch(d.String())
			if m == nil {
				return nil, fmt.Errorf("cannot read %s", d)
			}
			out[m[1]] = strings.Split(m[2], ",")
		}
	}
	return out, nil
}
