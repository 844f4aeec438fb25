package v1alpha1

// Condition types. Ready summarises every kind (kstatus reads it, with observedGeneration);
// the others explain one aspect.
const (
	// ConditionReady is True when the object is where its user wants it: a Backup or Restore
	// that succeeded, a schedule that is scheduling. False with a reason otherwise.
	ConditionReady = "Ready"
	// ConditionScheduled (BackupSchedule) is True while slots are being taken.
	ConditionScheduled = "Scheduled"
	// ConditionLastBackupSucceeded (BackupSchedule) tells how the newest finished Backup ended.
	ConditionLastBackupSucceeded = "LastBackupSucceeded"
)

// Condition reasons shared by the kinds. CamelCase, as metav1.Condition requires.
const (
	// ReasonInvalidSpec: the spec passed admission but the operator cannot act on it (a cron
	// range the CRD's check cannot see, an unknown time zone, a memory budget over its limit on
	// an object that skipped admission). Fix the spec; nothing is retried until then.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonNoIsolatedZone: no zone satisfies storage.zone.policy and allowSameZone is false.
	ReasonNoIsolatedZone = "NoIsolatedZone"
	// ReasonTargetExists: a Restore's target database exists and replaceExisting is false.
	ReasonTargetExists = "TargetExists"
)
