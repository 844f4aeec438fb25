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
	// ConditionStorageSpace (BackupSchedule) is False (reason LowSpace) when the next FULL,
	// estimated as the size of the last one, would not fit in what is left on the volume.
	ConditionStorageSpace = "StorageSpace"
	// ConditionVerified on a schedule with spec.verify: True when the newest drill restored a
	// chain and found it consistent within two drill intervals; False, with the reason, when
	// the newest drill failed or none verified a chain within two intervals.
	ConditionVerified = "Verified"
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

	// ReasonPending: the Job exists; its pod has not started.
	ReasonPending = "Pending"
	// ReasonRunning: the backup pod runs.
	ReasonRunning = "Running"
	// ReasonSucceeded: every database was backed up, consistent or not checked.
	ReasonSucceeded = "Succeeded"
	// ReasonPartiallyFailed: some databases were backed up, others failed or were found
	// inconsistent (their entries in status.databases say which and why).
	ReasonPartiallyFailed = "PartiallyFailed"
	// ReasonBackupFailed: no database was backed up; the message has the agent's report.
	ReasonBackupFailed = "BackupFailed"
	// ReasonNoSourceMember: no ready server matches source.policy.
	ReasonNoSourceMember = "NoSourceMember"
	// ReasonClaimNotFound: storage.persistentVolumeClaim.claimName does not exist (yet).
	ReasonClaimNotFound = "ClaimNotFound"
	// ReasonClaimConflict: the claim the template names exists but was not made by the operator.
	ReasonClaimConflict = "ClaimConflict"
	// ReasonLocationBusy: another Backup writes to the storage location (a backup, or the prune
	// of a Backup being deleted); this one waits for it, however long it runs.
	ReasonLocationBusy = "LocationBusy"
	// ReasonLocationShared: the Backup's bucket folder holds another namespace's Backups.
	ReasonLocationShared = "LocationShared"
	// ReasonLowSpace / ReasonEnoughSpace: the StorageSpace condition's reasons.
	ReasonLowSpace    = "LowSpace"
	ReasonEnoughSpace = "EnoughSpace"
	// ReasonClaimDeleting: the backup claim is being deleted; a backup written there would go
	// with it.
	ReasonClaimDeleting = "ClaimDeleting"
	// ReasonJobConflict: a Job of the Backup's name exists and is not the Backup's.
	ReasonJobConflict = "JobConflict"
	// ReasonJobDeleted: the Backup's Job was deleted before it finished.
	ReasonJobDeleted = "JobDeleted"
	// ReasonInvalidReport: the backup pod ended without a report the operator can read.
	ReasonInvalidReport = "InvalidReport"
	// ReasonSuspended: spec.suspend is true; no slot is taken.
	ReasonSuspended = "Suspended"
	// ReasonScheduled: the schedule is taking its slots.
	ReasonScheduled = "Scheduled"
	// ReasonNoBackupYet: no Backup of the schedule has finished.
	ReasonNoBackupYet = "NoBackupYet"
	// ReasonNotStarted: the pod did not start within the start timeout (unschedulable, image
	// not pulled); its Job was deleted.
	ReasonNotStarted = "NotStarted"
	// ReasonRestarting: the pod stopped before it finished (its node was lost, it was
	// evicted or preempted, or it failed and the Job tries again) and no new pod of the Job
	// runs yet. The Job keeps trying until the start timeout.
	ReasonRestarting = "Restarting"
	// ReasonNodeLost: the node the pod ran on is gone or not ready, and no new pod of the Job
	// ran within the start timeout; the Job was deleted.
	ReasonNodeLost = "NodeLost"
	// ReasonBackupNotFound: source.backupName names no Backup (yet).
	ReasonBackupNotFound = "BackupNotFound"
	// ReasonSourceNotReady: the source Backup has not finished, or did not back up the database.
	ReasonSourceNotReady = "SourceNotReady"
	// ReasonChainBroken: the chain has a gap in its transactions or lost its FULL.
	ReasonChainBroken = "ChainBroken"
	// ReasonNotCovered: no chain reaches restoreUntil.
	ReasonNotCovered = "NotCovered"
	// ReasonInspecting: a Job is listing the artifacts of a storage location no Backup
	// describes, to resolve the chain.
	ReasonInspecting = "Inspecting"
	// ReasonNoServer: no running server pod matches spec.cluster.serverSelector, so a
	// SeedFromURI restore has no cluster to create the database in.
	ReasonNoServer = "NoServer"
	// ReasonOOMKilled: the kernel killed the pod's neo4j-admin container for using more memory
	// than its limit; the message names the budget (heap, page cache, overhead, limit) and what
	// to raise.
	ReasonOOMKilled = "OOMKilled"
	// ReasonRestoreFailed: neo4j-admin could not restore; the message has its words.
	ReasonRestoreFailed = "RestoreFailed"
	// ReasonSeedFromBucketFailed: a SeedFromURI restore seeded straight from the bucket did not
	// start on a server. The servers fetch the seed themselves: each needs read access to the
	// bucket and CloudSeedProvider in dbms.databases.seed_from_uri_providers.
	ReasonSeedFromBucketFailed = "SeedFromBucketFailed"
	// ReasonInconsistent: a drill restored the chain and the consistency check found
	// inconsistencies; the message names the database and the check's report.
	ReasonInconsistent = "Inconsistent"
	// ReasonCheckFailed: a drill restored the chain but the consistency check did not run to
	// a verdict.
	ReasonCheckFailed = "CheckFailed"
	// ReasonVerified (Verified True): the newest drill found its chain consistent.
	ReasonVerified = "Verified"
	// ReasonDrillFailed (Verified False): the newest drill failed before a verdict; the
	// message has the drill's reason.
	ReasonDrillFailed = "DrillFailed"
	// ReasonUnverified (Verified False): no drill verified a chain within two drill intervals.
	ReasonUnverified = "Unverified"
	// ReasonNoDrillYet (Verified Unknown): no drill has finished yet, and two drill intervals
	// have not passed since spec.verify was set.
	ReasonNoDrillYet = "NoDrillYet"
	// ReasonTimedOut: a condition that blocked the Backup from starting (no source member, no
	// isolated zone, a missing claim) lasted longer than the operator waits, or a SeedFromURI
	// restore's database was not online on every server within the seed Job's time.
	ReasonTimedOut = "TimedOut"
)
