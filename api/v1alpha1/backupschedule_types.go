package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CronSchedule is a standard 5-field cron expression (minute hour
// day-of-month month day-of-week, names such as MON or JAN allowed) or a
// descriptor: @yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly. The admission check below accepts exactly the fields
// robfig/cron's standard parser accepts within their ranges; what it
// cannot see (a range whose start is after its end) is reported by the
// controller as Ready=False, reason InvalidSpec.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:XValidation:rule="!self.matches('^(CRON_)?TZ=')",message="put the time zone in spec.timeZone, not in the schedule"
// +kubebuilder:validation:XValidation:rule="!self.startsWith('@every')",message="@every is not supported: slots must fall on fixed clock times so each is taken exactly once; use a cron expression such as '*/30 * * * *'"
// +kubebuilder:validation:XValidation:rule="self.matches('^(CRON_)?TZ=') || self.startsWith('@every') || self.matches('(?i)^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([*]|[0-5]?[0-9](-[0-5]?[0-9])?)(/[1-9][0-9]*)?(,([*]|[0-5]?[0-9](-[0-5]?[0-9])?)(/[1-9][0-9]*)?)* +([*]|(1?[0-9]|2[0-3])(-(1?[0-9]|2[0-3]))?)(/[1-9][0-9]*)?(,([*]|(1?[0-9]|2[0-3])(-(1?[0-9]|2[0-3]))?)(/[1-9][0-9]*)?)* +([?]|([*]|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[1-9][0-9]*)?(,([*]|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[1-9][0-9]*)?)*) +([*]|(0?[1-9]|1[0-2]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(-(0?[1-9]|1[0-2]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))?)(/[1-9][0-9]*)?(,([*]|(0?[1-9]|1[0-2]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(-(0?[1-9]|1[0-2]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))?)(/[1-9][0-9]*)?)* +([?]|([*]|([0-6]|sun|mon|tue|wed|thu|fri|sat)(-([0-6]|sun|mon|tue|wed|thu|fri|sat))?)(/[1-9][0-9]*)?(,([*]|([0-6]|sun|mon|tue|wed|thu|fri|sat)(-([0-6]|sun|mon|tue|wed|thu|fri|sat))?)(/[1-9][0-9]*)?)*))$')",message="must be a 5-field cron expression 'minute hour day-of-month month day-of-week' with values in range (minute 0-59, hour 0-23, day 1-31, month 1-12 or JAN-DEC, weekday 0-6 or SUN-SAT), e.g. '0 2 * * *', or one of @yearly, @monthly, @weekly, @daily, @hourly"
type CronSchedule string

// ConcurrencyPolicy says what to do when a slot comes while a backup of
// the schedule runs.
// +kubebuilder:validation:Enum=Forbid;Allow;Replace
type ConcurrencyPolicy string

const (
	// ConcurrencyForbid skips the slot (recorded in status and an event).
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyAllow runs both.
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
	// ConcurrencyReplace stops the running backup and starts the new one.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// RetentionSpec says which successful backups to keep. A backup is kept
// when any rule keeps it. Whatever the rules say, the operator never
// deletes a FULL that a kept DIFF depends on, never the newest restorable
// chain, and a failed backup never makes a good one expire.
// +kubebuilder:validation:XValidation:rule="has(self.keepLast) || has(self.keepDaily) || has(self.keepWeekly) || has(self.keepMonthly) || has(self.maxAge)",message="set at least one of keepLast, keepDaily, keepWeekly, keepMonthly, maxAge; leave retention out to keep every backup"
type RetentionSpec struct {
	// keepLast keeps the newest N successful backups.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	KeepLast *int32 `json:"keepLast,omitempty"`
	// keepDaily keeps the newest backup of each of the last N days that have
	// one.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	KeepDaily *int32 `json:"keepDaily,omitempty"`
	// keepWeekly keeps the newest backup of each of the last N ISO weeks that
	// have one.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	KeepWeekly *int32 `json:"keepWeekly,omitempty"`
	// keepMonthly keeps the newest backup of each of the last N months that
	// have one.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	KeepMonthly *int32 `json:"keepMonthly,omitempty"`
	// maxAge keeps backups younger than this: a number and a unit, s, m, h, d
	// (24h) or w (7d), possibly several, e.g. "30d", "12h", "1w3d". With other
	// rules, a backup is kept if any keeps it.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+[smhdw])+$') && !self.matches('^(0+[smhdw])+$')",message="must be a positive duration of numbers with units s, m, h, d or w, e.g. 30d, 12h, 1w3d"
	// +optional
	MaxAge string `json:"maxAge,omitempty"`
}

// VerifySpec schedules restore drills: at each of its slots the schedule creates a Restore of
// mode Verify that restores a kept chain into a scratch claim, checks the restored database's
// consistency, records how long both took, and discards it. Nothing running is touched.
type VerifySpec struct {
	// schedule of the drills, e.g. "0 4 * * 0" or "@weekly", read in
	// spec.timeZone. Default "@weekly". A drill slot follows the schedule's
	// rules: startingDeadlineSeconds, suspend, and one catch-up drill at most;
	// a slot that comes while a drill runs is skipped (Forbid).
	// +kubebuilder:default="@weekly"
	// +optional
	Schedule CronSchedule `json:"schedule,omitempty"`

	// database to restore and check: one of the databases the template backs
	// up. Default "neo4j".
	// +kubebuilder:default=neo4j
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z][-a-z0-9.]{1,61}[a-z0-9]$')",message="must be a Neo4j database name in lowercase: 3 to 63 letters, digits, '.' or '-', starting with a letter and not ending with '.' or '-' (no globs)"
	// +optional
	Database string `json:"database,omitempty"`

	// olderChain also drills, at each slot, one older kept Backup picked at
	// random (the same pick for the same slot), so chains retention keeps for
	// months are proven as well as the newest. Neo4j 5.x and later: 4.4 keeps
	// only its newest backup. The newest of these drills failing turns
	// Verified False too, until one passes.
	// +kubebuilder:default=false
	// +optional
	OlderChain bool `json:"olderChain,omitempty"`

	// scratch is the claim each drill restores into, created per drill and
	// deleted when it has ended (kept with the report when the check found
	// inconsistencies). Use a class with volumeBindingMode
	// WaitForFirstConsumer: the drill runs in the backup's zone. Size it for
	// the restored database (with backups in a bucket, plus the chain, which
	// is downloaded there first). A drill's pod has the template's memory budget;
	// its page cache bounds the consistency check.
	Scratch ClaimTemplate `json:"scratch"`

	// historyLimit is how many finished drills (Restores, with their Jobs)
	// are kept. Default 3. A drill that found inconsistencies is kept
	// besides, with its scratch claim and the check's report, until it is
	// deleted by hand.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	HistoryLimit *int32 `json:"historyLimit,omitempty"`
}

// BackupScheduleSpec takes Backups on a cron schedule.
// +kubebuilder:validation:XValidation:rule="!has(self.verify) || !has(self.template.databases) || self.template.databases.exists(d, d == self.verify.database || d.contains('*') || d.contains('?'))",message="verify.database must be one of the databases template.databases backs up",fieldPath=".verify.database"
// +kubebuilder:validation:XValidation:rule="!has(self.fullBackupSchedule) || !has(self.template.type) || self.template.type == 'AUTO'",message="template.type must be AUTO (or unset) when fullBackupSchedule decides which slots take FULL and which DIFF",fieldPath=".template.type"
type BackupScheduleSpec struct {
	// schedule of backups, e.g. "0 2 * * *" (every night at 02:00 in timeZone)
	// or "@hourly".
	Schedule CronSchedule `json:"schedule"`

	// timeZone the schedule is read in: an IANA name such as "Europe/Berlin".
	// Default UTC. Daylight-saving transitions follow the zone: a slot in a
	// skipped hour is not taken, a slot in a repeated hour is taken once. The
	// operator carries its own copy of the IANA database, so a name means the
	// same wherever it runs; "Local" (the machine's zone) is refused.
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="Local is the operator machine's zone, which differs between machines: name the zone, e.g. Europe/Berlin"
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z][-A-Za-z0-9_+]*(/[-A-Za-z0-9_+]+)*$') && (self == 'UTC' || timestamp('2000-06-15T12:00:00Z').getFullYear(self) == 2000)",message="must be an IANA time zone name such as UTC or Europe/Berlin"
	// +optional
	TimeZone string `json:"timeZone,omitempty"`

	// suspend stops new slots from being taken; running backups finish. Slots
	// passed while suspended are not taken afterwards.
	// +kubebuilder:default=false
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// backupOwnerReference says whether the schedule owns its Backups.
	// None (default): the Backups carry no owner reference, so deleting or
	// renaming the schedule (a Git rename, an Application prune) leaves every
	// Backup, and the records of what is in storage, in place; the schedule
	// still finds, retains and prunes them by its UID
	// (backup.graphkeeper.dev/schedule-uid), and releases those it owns (made
	// by an earlier version, or in Schedule mode). Schedule: the schedule is
	// the controller of the Backups it makes, and deleting it garbage-collects
	// them (with deletionPolicy: Delete, their artifacts too).
	// +kubebuilder:validation:Enum=None;Schedule
	// +kubebuilder:default=None
	// +optional
	BackupOwnerReference BackupOwnerReference `json:"backupOwnerReference,omitempty"`

	// concurrencyPolicy when a slot comes while a backup of this schedule
	// runs: Forbid (default: skip the slot and record it), Allow, or Replace
	// (stop the running one).
	// +kubebuilder:default=Forbid
	// +optional
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// startingDeadlineSeconds: a slot missed by more than this (operator down,
	// API server unreachable) is skipped and recorded, never replayed. However
	// long an outage, at most one catch-up backup runs: the most recent missed
	// slot within the deadline. Default: no deadline (one catch-up backup for
	// the most recent missed slot).
	// +kubebuilder:validation:Minimum=1
	// +optional
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`

	// fullBackupSchedule, when set, is a cron schedule whose slots take FULL
	// backups; every other slot of schedule takes a DIFF. A chain always
	// starts with a FULL: the first backup of a schedule, or the first after
	// its chain's FULL was lost, is FULL whatever the slot. Its slots should
	// also be slots of schedule (e.g. schedule "0 2 * * *" with
	// fullBackupSchedule "0 2 * * 0" for a weekly FULL and nightly DIFFs).
	// +optional
	FullBackupSchedule CronSchedule `json:"fullBackupSchedule,omitempty"`

	// retention says which successful backups (and their artifacts) to keep.
	// Unset: keep all.
	// +optional
	Retention *RetentionSpec `json:"retention,omitempty"`

	// successfulBackupsHistoryLimit is how many finished Jobs (and their pods,
	// for logs) of successful backups are kept. The Backup objects themselves
	// follow retention.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	SuccessfulBackupsHistoryLimit *int32 `json:"successfulBackupsHistoryLimit,omitempty"`

	// failedBackupsHistoryLimit is how many failed Backups (which hold no
	// restorable data) are kept, with their Jobs and pods.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	FailedBackupsHistoryLimit *int32 `json:"failedBackupsHistoryLimit,omitempty"`

	// template is the spec of every Backup the schedule creates. Its type is
	// decided per slot when fullBackupSchedule is set.
	Template BackupSpec `json:"template"`

	// verify schedules restore drills of this schedule's backups: the proof
	// that they restore, with the measured restore time, in
	// status.verification and the Verified condition. Unset: no drills.
	// +optional
	Verify *VerifySpec `json:"verify,omitempty"`
}

// ScheduleVerification is what the schedule's restore drills found.
type ScheduleVerification struct {
	// lastDrill is the newest drill (a Restore of mode Verify) that finished.
	// +optional
	LastDrill string `json:"lastDrill,omitempty"`
	// backup is the Backup whose chain it restored (the chain's last link).
	// +optional
	Backup string `json:"backup,omitempty"`
	// backupTime is when that Backup completed: the restored database is
	// the chain's state then.
	// +optional
	BackupTime *metav1.Time `json:"backupTime,omitempty"`
	// restoredUntilTx is the last transaction the drill restored.
	// +optional
	RestoredUntilTx int64 `json:"restoredUntilTx,omitempty"`
	// restoreDuration is how long the restore took: the measured time to
	// restore this chain.
	// +optional
	RestoreDuration *metav1.Duration `json:"restoreDuration,omitempty"`
	// checkDuration is how long the consistency check took.
	// +optional
	CheckDuration *metav1.Duration `json:"checkDuration,omitempty"`
	// result is Consistent, or why the drill failed: Inconsistent (the
	// check's report is on the drill's scratch claim), or the Restore's
	// reason.
	// +optional
	Result string `json:"result,omitempty"`
	// time is when the drill finished.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
	// lastVerifiedBackup is the newest Backup a drill restored and found
	// consistent; lastVerifiedTime is when that drill finished.
	// +optional
	LastVerifiedBackup string `json:"lastVerifiedBackup,omitempty"`
	// +optional
	LastVerifiedTime *metav1.Time `json:"lastVerifiedTime,omitempty"`
	// active lists the drills that have not finished.
	// +listType=atomic
	// +optional
	Active []string `json:"active,omitempty"`
	// lastScheduleTime is the newest drill slot taken; nextScheduleTime the
	// next one.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// lastMissedTime is the newest drill slot skipped, missedSlots how many
	// were.
	// +optional
	LastMissedTime *metav1.Time `json:"lastMissedTime,omitempty"`
	// +optional
	MissedSlots int64 `json:"missedSlots,omitempty"`
	// since is when the operator first saw spec.verify: with no drill
	// verified since, the Verified condition turns False two drill intervals
	// later.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// older is the newest finished drill of an older chain (olderChain).
	// +optional
	Older *DrillOutcome `json:"older,omitempty"`
}

// DrillOutcome is how one drill ended.
type DrillOutcome struct {
	// drill is the Restore.
	Drill string `json:"drill"`
	// backup is the Backup whose chain it restored.
	Backup string `json:"backup"`
	// result is Consistent, or why the drill failed.
	Result string `json:"result"`
	// time is when it finished.
	Time metav1.Time `json:"time"`
}

// BackupScheduleStatus is what the operator observed of a schedule.
type BackupScheduleStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready, Scheduled, LastBackupSucceeded, StorageSpace, and
	// Verified with spec.verify.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// lastScheduleTime is the slot of the newest Backup the schedule created.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// nextScheduleTime is the next slot.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// lastSuccessfulBackup is the name of the newest successful Backup.
	// +optional
	LastSuccessfulBackup string `json:"lastSuccessfulBackup,omitempty"`
	// lastSuccessfulTime is when it completed.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`
	// storageZone is the zone the schedule's backups are stored in.
	// +optional
	StorageZone string `json:"storageZone,omitempty"`
	// space is the backup volume's capacity and available bytes after the newest backup that
	// read them; the StorageSpace condition says whether the next FULL fits.
	// +optional
	Space *StorageSpace `json:"space,omitempty"`
	// active lists the Backups of this schedule that have not finished.
	// +listType=atomic
	// +optional
	Active []corev1.ObjectReference `json:"active,omitempty"`
	// missedSlots counts slots skipped (deadline passed, Forbid, suspended
	// catch-up).
	// +optional
	MissedSlots int64 `json:"missedSlots,omitempty"`
	// lastMissedTime is the newest skipped slot.
	// +optional
	LastMissedTime *metav1.Time `json:"lastMissedTime,omitempty"`
	// lastTrigger is the value of the backup.graphkeeper.dev/trigger annotation that was last
	// acted on: setting the annotation to any other value takes one backup now.
	// +optional
	LastTrigger string `json:"lastTrigger,omitempty"`
	// verification is what the restore drills (spec.verify) found; the
	// Verified condition sums it up.
	// +optional
	Verification *ScheduleVerification `json:"verification,omitempty"`
	// restorable is, per database, the span of points its Backups can restore it to
	// cleanly, as their records say: absent for a database no clean chain restores.
	// +listType=map
	// +listMapKey=database
	// +optional
	Restorable []RestorableWindow `json:"restorable,omitempty"`
}

// RestorableWindow is the span of points a database can be restored to from a schedule's
// Backups: the chains (a FULL, then DIFFs with no gap in their transactions) whose every backup
// was taken without error and not found inconsistent.
type RestorableWindow struct {
	// database is the database's name.
	Database string `json:"database"`
	// oldestTime is the oldest point a restore reaches: when the oldest FULL that starts such
	// a chain was taken.
	OldestTime metav1.Time `json:"oldestTime"`
	// newestTime is the newest point: when the newest backup that ends such a chain was taken
	// (restoreUntil this time, or leave restoreUntil out, to restore it).
	NewestTime metav1.Time `json:"newestTime"`
	// newestTransaction is the last transaction that chain holds.
	// +optional
	NewestTransaction int64 `json:"newestTransaction,omitempty"`
}

// TriggerAnnotation on a BackupSchedule takes one backup now whenever its value changes, e.g.
// kubectl annotate nbs nightly backup.graphkeeper.dev/trigger="$(date +%s)" --overwrite.
const TriggerAnnotation = "backup.graphkeeper.dev/trigger"

// SlotAnnotation on a Backup made by a schedule holds its slot (RFC 3339, UTC).
const SlotAnnotation = "backup.graphkeeper.dev/slot"

// ExpiredAnnotation on a Backup names the retention rule that deletes it: a retention rule is an
// explicit deletion rule, so its artifacts go with it whatever storage.deletionPolicy says
// (which governs a Backup deleted by hand or by a GitOps tool).
const ExpiredAnnotation = "backup.graphkeeper.dev/expired"

// DrillAnnotation on a drill Restore a schedule made says which chain it drills: "newest", or
// "older" (spec.verify.olderChain).
const DrillAnnotation = "backup.graphkeeper.dev/drill"

// ScheduleLabel on a Backup names the BackupSchedule that made it.
const ScheduleLabel = "backup.graphkeeper.dev/schedule"

// ScheduleUIDAnnotation on a Backup holds the UID of the BackupSchedule that made it: with
// backupOwnerReference None the schedule knows its Backups by it (a label value is cut at 63
// characters, and a foreign Backup may carry the same label).
const ScheduleUIDAnnotation = "backup.graphkeeper.dev/schedule-uid"

// ScheduleAnnotation on a Backup holds the full name of the BackupSchedule that made it (the
// label of the same key holds it cut to a label value).
const ScheduleAnnotation = ScheduleLabel

// ScheduleOf is the name of the BackupSchedule that made b: its controller, or the one named in
// its annotations when it made b without owning it. "" for a Backup no schedule made.
func ScheduleOf(b *Backup) string {
	if ref := metav1.GetControllerOf(b); ref != nil && ref.Kind == "BackupSchedule" {
		return ref.Name
	}
	if metav1.GetControllerOf(b) == nil && b.Annotations[ScheduleUIDAnnotation] != "" {
		return b.Annotations[ScheduleAnnotation]
	}
	return ""
}

// BackupOwnerReference is whether a schedule's Backups carry it as their controller.
type BackupOwnerReference string

const (
	// BackupOwnerNone: no owner reference; the schedule's deletion leaves its Backups.
	BackupOwnerNone BackupOwnerReference = "None"
	// BackupOwnerSchedule: the schedule controls its Backups; its deletion deletes them.
	BackupOwnerSchedule BackupOwnerReference = "Schedule"
)

// BackupSchedule takes Backups of a Neo4j cluster on a cron schedule, full
// and incremental, and keeps them by a retention rule that never breaks a
// restorable chain.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=nbs,categories=neo4j-backup
// +kubebuilder:metadata:annotations={"helm.sh/resource-policy=keep","kustomize.toolkit.fluxcd.io/prune=disabled","argocd.argoproj.io/sync-options=Prune=false"}
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Last Result",type=string,JSONPath=`.status.conditions[?(@.type=="LastBackupSucceeded")].reason`
// +kubebuilder:printcolumn:name="Last Success",type=date,JSONPath=`.status.lastSuccessfulTime`
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextScheduleTime`
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.status.storageZone`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Verified",type=string,JSONPath=`.status.conditions[?(@.type=="Verified")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Full",type=string,JSONPath=`.spec.fullBackupSchedule`,priority=1
// +kubebuilder:printcolumn:name="Last Backup",type=string,JSONPath=`.status.lastSuccessfulBackup`,priority=1
type BackupSchedule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BackupScheduleSpec `json:"spec"`
	// status is what the operator observed of the BackupSchedule. Until the operator
	// writes it, the API server fills in observedGeneration 0, so kstatus
	// (as Flux computes health) reads a new object as InProgress, not Current.
	// +kubebuilder:default={observedGeneration: 0}
	// +optional
	Status BackupScheduleStatus `json:"status,omitempty"`
}

// BackupScheduleList is a list of BackupSchedules.
// +kubebuilder:object:root=true
type BackupScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupSchedule `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BackupSchedule{}, &BackupScheduleList{})
}
