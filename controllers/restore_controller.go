package controllers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/chain"
	"github.com/graphkeeper/neo4j-backup-operator/internal/location"
	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
)

// RestoreReconciler resolves a Restore's chain and runs it.
//
// Mode Volume is one Job: neo4j-admin restore into the target claim. Mode Verify, a drill, is
// that Job restoring into a scratch claim made for the Restore, checking the restored database
// and reporting what it measured; the claim is deleted once it has ended (kept, with the
// check's report, when the database was inconsistent). Mode SeedFromURI is a seed
// server (a Job in the storage zone serving the chain, or a dump prepared from it, behind a
// Service) and a seed Job (cypher-shell: CREATE DATABASE from that URI, then wait until it is
// online on every server); the server and Service are deleted once the seed Job has ended.
// Sources are a Backup, or a storage location: its artifacts as Backups recorded them, or, when
// no Backup describes it (Backups deleted, another cluster's backups), as an inspection Job
// lists them with neo4j-admin --inspect-path and resolves the chain.
type RestoreReconciler struct {
	Client       client.Client
	Reader       client.Reader
	Recorder     recorder.EventRecorder
	Clock        clock.PassiveClock
	Options      resources.Options
	StartTimeout time.Duration
}

// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=restores,verbs=get;list;watch
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=restores/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=restores/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=services,verbs=get;create;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;create;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;create;delete

// SetupWithManager registers the controller: Restores and the Jobs they own.
func (r *RestoreReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.StartTimeout == 0 {
		r.StartTimeout = 10 * time.Minute
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1.Restore{}).
		Owns(&batchv1.Job{}).
		Named("restore").
		Complete(r)
}

func restoreFinished(p v1.RestorePhase) bool {
	return p == v1.RestoreSucceeded || p == v1.RestoreFailed
}

// Reconcile plans and starts the restore once, then follows its Job to the end. What the pass
// computed is written once (commit); its events, metrics and the seed server's removal follow
// the write.
func (r *RestoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rs := &v1.Restore{}
	if err := r.Client.Get(ctx, req.NamespacedName, rs); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if rs.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	if restoreFinished(rs.Status.Phase) {
		// The status is final: an error here goes to the backoff and the log.
		if err := dropStoppedJob(ctx, r.Client, r.Reader, rs, rs.Status.Conditions, rs.Status.JobName); err != nil {
			return ctrl.Result{}, err
		}
		// Nothing the restore started outlives it; idempotent, so a pass whose clean-up failed
		// after the final status was written is finished here.
		return ctrl.Result{}, r.cleanup(ctx, rs)
	}
	now := r.Clock.Now()
	next := rs.DeepCopy()
	var res ctrl.Result
	var err error
	if rs.Status.JobName == "" {
		res, err = r.start(ctx, next, now)
	} else {
		res, err = r.follow(ctx, next, now)
	}
	if stale(err) {
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	if err != nil {
		res = showRefused(ctx, &next.Status.Conditions, next.Generation, now, err)
	}
	next.Status.ObservedGeneration = rs.Generation
	fx := &effects{}
	r.report(ctx, rs, next, fx)
	return commit(ctx, r.Client, next, rs.Status, next.Status, fx, res)
}

// report says, once the status is written, what the pass changed: a new phase (an event, and for
// a finished Restore its duration and the clean-up of what ran beside its Job) or a new Ready
// reason. The final status is written before anything is cleaned up, so that what ended the
// restore (the seed server's report, a drill's verdict) is recorded even if the clean-up fails;
// the pass that sees it finished cleans up again.
func (r *RestoreReconciler) report(ctx context.Context, old, rs *v1.Restore, fx *effects) {
	p := rs.Status.Phase
	announce(fx, r.Recorder, rs, string(old.Status.Phase), string(p), old.Status.Conditions, rs.Status.Conditions,
		p == v1.RestoreFailed || refusedBefore(rs.Status.Conditions))
	if old.Status.Phase == p || !restoreFinished(p) {
		return
	}
	fx.later(func() {
		metrics.RestoreDuration.WithLabelValues(rs.Namespace, string(rs.Spec.Mode), string(p)).
			Observe(rs.Status.CompletionTime.Sub(rs.CreationTimestamp.Time).Seconds())
		if err := r.cleanup(ctx, rs); err != nil {
			log.FromContext(ctx).Error(err, "cleaning up after the restore; the next pass tries again")
		}
	})
}

func (r *RestoreReconciler) fail(rs *v1.Restore, now time.Time, reason, msg string) {
	rs.Status.Phase = v1.RestoreFailed
	if rs.Status.CompletionTime == nil {
		rs.Status.CompletionTime = &metav1.Time{Time: now}
	}
	status.Set(&rs.Status.Conditions, rs.Generation, status.Failed, reason, msg, metav1.NewTime(now))
}

// wait keeps the Restore Pending with reason, and fails it after StartTimeout.
func (r *RestoreReconciler) wait(rs *v1.Restore, now time.Time, reason, msg string) ctrl.Result {
	if now.Sub(rs.CreationTimestamp.Time) >= r.StartTimeout {
		r.fail(rs, now, reason, fmt.Sprintf("%s (gave up after %s)", msg, r.StartTimeout))
		return ctrl.Result{}
	}
	rs.Status.Phase = v1.RestorePending
	status.Set(&rs.Status.Conditions, rs.Generation, status.Progressing, reason, msg, metav1.NewTime(now))
	return ctrl.Result{RequeueAfter: 15 * time.Second}
}

func (r *RestoreReconciler) start(ctx context.Context, rs *v1.Restore, now time.Time) (ctrl.Result, error) {
	version, err := neo4j.ParseVersion(rs.Spec.Cluster.Neo4jVersion)
	if err != nil {
		r.fail(rs, now, v1.ReasonInvalidSpec, "spec.cluster.neo4jVersion: "+err.Error())
		return ctrl.Result{}, nil
	}
	budget, ferr := rs.Spec.Memory.Budget(field.NewPath("spec", "memory"))
	if ferr != nil {
		r.fail(rs, now, v1.ReasonInvalidSpec, ferr.Error())
		return ctrl.Result{}, nil
	}
	res, err := r.launch(ctx, rs, version, budget, now)
	if err != nil && !stale(err) {
		// A refused call (RBAC, a quota, an admission webhook) is a reason to wait like the
		// others: shown on the Restore, and bounded by StartTimeout.
		reason, msg := refused(err)
		log.FromContext(ctx).Error(err, "starting the restore", "reason", reason)
		return r.wait(rs, now, reason, msg), nil
	}
	return res, err
}

// launch reads the source, decides the chain, and creates what the mode runs.
func (r *RestoreReconciler) launch(ctx context.Context, rs *v1.Restore, version neo4j.Version, budget v1.MemoryBudget, now time.Time) (ctrl.Result, error) {
	w, err := r.look(ctx, rs)
	if err != nil {
		return ctrl.Result{}, err
	}
	d := decideRestore(rs, version, budget, w)
	if d.plan != nil {
		// A prune of the location deletes files: nothing is read there until it has ended.
		if job, err := locationJob(ctx, r.Client, rs.Namespace, d.plan.Location, func(j *batchv1.Job) bool {
			return j.Labels[resources.LabelComponent] == resources.RolePrune
		}); err != nil {
			return ctrl.Result{}, err
		} else if job != "" {
			rs.Status.Phase = v1.RestorePending
			status.Set(&rs.Status.Conditions, rs.Generation, status.Progressing, v1.ReasonLocationBusy, fmt.Sprintf(
				"waiting for Job %s, which deletes artifacts in %s: nothing is read there until it has ended", job, d.plan.Location), metav1.NewTime(now))
			return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
		}
	}
	if d.inspect {
		// No Backup describes the location: an inspection Job lists it.
		if d, err = r.inspected(ctx, rs, d); err != nil {
			return ctrl.Result{}, err
		}
	}
	switch d.reason {
	case "":
	case v1.ReasonBackupNotFound, v1.ReasonInspecting:
		// Bounded like any wait: an inspection pod that cannot start fails the Restore after
		// StartTimeout instead of leaving it Pending for ever.
		return r.wait(rs, now, d.reason, d.message), nil
	case reasonSourceRunning:
		// The Backup is still being taken: wait for it, however long it runs.
		rs.Status.Phase = v1.RestorePending
		status.Set(&rs.Status.Conditions, rs.Generation, status.Progressing, v1.ReasonSourceNotReady, d.message, metav1.NewTime(now))
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	default:
		r.fail(rs, now, d.reason, d.message)
		return ctrl.Result{}, nil
	}
	if d.untilTx > 0 {
		rs.Status.RestoredUntilTx = d.untilTx
	}
	plan := d.plan
	job, res, err := r.modeJob(ctx, rs, *plan, now)
	if err != nil || job == nil {
		return res, err
	}
	created, ours, err := createOrAdopt(ctx, r.Client, r.Reader, job, rs)
	switch {
	case err != nil:
		return ctrl.Result{}, err
	case !ours:
		r.fail(rs, now, v1.ReasonJobConflict, fmt.Sprintf("a Job named %s exists and does not belong to this Restore", job.Name))
		return ctrl.Result{}, nil
	case created:
		r.Recorder.Eventf(rs, job, corev1.EventTypeNormal, "JobCreated", "Create", "created Job %s restoring %s", job.Name, chainText(*plan))
	}
	rs.Status.JobName = job.Name
	rs.Status.Phase = v1.RestorePending
	rs.Status.Chain = plan.Chain
	rs.Status.ChainLength = 0
	if n := plan.ChainLength; n > len(plan.Chain) {
		rs.Status.ChainLength = int32(n)
	}
	rs.Status.StartTime = &metav1.Time{Time: now}
	status.Set(&rs.Status.Conditions, rs.Generation, status.Progressing, v1.ReasonPending,
		fmt.Sprintf("Job %s created; restoring %d artifact(s)", job.Name, max(len(plan.Chain), plan.ChainLength)), metav1.NewTime(now))
	return ctrl.Result{}, nil
}

// chainText names the chain plan restores, for an event.
func chainText(plan resources.RestorePlan) string {
	if n := plan.ChainLength; n > len(plan.Chain) {
		return fmt.Sprintf("%d artifacts, %s … %s", n, plan.Chain[0], plan.Chain[len(plan.Chain)-1])
	}
	return status.Files("artifact", plan.Chain)
}

// modeJob builds the Job the mode runs: the restore Job, or for SeedFromURI the seed Job, once
// the seed server and its Service are there (unless the servers seed straight from the bucket).
// A nil Job means the Restore waits or failed (res).
func (r *RestoreReconciler) modeJob(ctx context.Context, rs *v1.Restore, plan resources.RestorePlan, now time.Time) (*batchv1.Job, ctrl.Result, error) {
	var job *batchv1.Job
	var err error
	switch rs.Spec.Mode {
	case v1.RestoreSeedFromURI:
		servers, serr := r.servers(ctx, rs)
		if serr != nil {
			return nil, ctrl.Result{}, failed(reasonFailedList, serr)
		}
		if len(servers) == 0 {
			return nil, r.wait(rs, now, v1.ReasonNoServer, "no running server pod matches spec.cluster.serverSelector"), nil
		}
		if !plan.SeedFromBucket {
			if done, err := r.startSeedServer(ctx, rs, now, plan); err != nil || done {
				return nil, ctrl.Result{}, err
			}
		}
		job, err = resources.SeedJob(rs, resources.SeedPlan{RestorePlan: plan, Servers: servers}, r.Options)
		rs.Status.SeedURI = resources.SeedURI(rs, plan)
	case v1.RestoreVerify:
		if rs.Spec.Scratch == nil {
			// Admission refuses it; an object that reached the API server some other way is
			// refused here, never dereferenced.
			r.fail(rs, now, v1.ReasonInvalidSpec, "spec.scratch: mode Verify needs the claim (storageClassName, size) the drill restores into")
			return nil, ctrl.Result{}, nil
		}
		if done, err := r.createScratch(ctx, rs, now); err != nil || done {
			return nil, ctrl.Result{}, err
		}
		job, err = resources.RestoreJob(rs, plan, r.Options)
	default:
		job, err = resources.RestoreJob(rs, plan, r.Options)
	}
	if err != nil {
		r.fail(rs, now, v1.ReasonInvalidSpec, err.Error())
		return nil, ctrl.Result{}, nil
	}
	return job, ctrl.Result{}, nil
}

// createScratch creates the drill's scratch claim; done means the Restore failed (a claim of
// that name exists and is not the Restore's: it is never restored into).
func (r *RestoreReconciler) createScratch(ctx context.Context, rs *v1.Restore, now time.Time) (done bool, err error) {
	claim := resources.ScratchClaim(rs)
	created, ours, err := createOrAdopt(ctx, r.Client, r.Reader, claim, rs)
	switch {
	case err != nil:
		return false, err
	case !ours:
		r.fail(rs, now, v1.ReasonClaimConflict, fmt.Sprintf("a claim named %s exists and does not belong to this Restore: the drill restores only into a scratch claim of its own", claim.Name))
		return true, nil
	case created:
		r.Recorder.Eventf(rs, claim, corev1.EventTypeNormal, "ScratchClaimCreated", "Create", "created scratch claim %s (%s) for the drill",
			claim.Name, rs.Spec.Scratch.Size.String())
	}
	rs.Status.ScratchClaim = claim.Name
	return false, nil
}

// startSeedServer creates the seed server's Job and Service; done means the Restore failed
// (a foreign object holds the name).
func (r *RestoreReconciler) startSeedServer(ctx context.Context, rs *v1.Restore, now time.Time, plan resources.RestorePlan) (done bool, err error) {
	server, err := resources.SeedServerJob(rs, plan, r.Options)
	if err != nil {
		r.fail(rs, now, v1.ReasonInvalidSpec, err.Error())
		return true, nil
	}
	for _, obj := range []client.Object{resources.SeedNetworkPolicy(rs), server, resources.SeedService(rs)} {
		created, ours, err := createOrAdopt(ctx, r.Client, r.Reader, obj, rs)
		switch {
		case err != nil:
			return false, err
		case !ours:
			r.fail(rs, now, v1.ReasonJobConflict, fmt.Sprintf("%s exists and does not belong to this Restore", obj.GetName()))
			return true, nil
		case created:
			r.Recorder.Eventf(rs, obj, corev1.EventTypeNormal, "SeedServerCreated", "Create", "created %s serving %s",
				obj.GetName(), chainText(plan))
		}
	}
	return false, nil
}

// servers are the Bolt addresses of the cluster's running server pods, ready ones first.
func (r *RestoreReconciler) servers(ctx context.Context, rs *v1.Restore) ([]string, error) {
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Cluster.ServerSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.cluster.serverSelector: %w", err)
	}
	pods := &corev1.PodList{}
	if err := r.Reader.List(ctx, pods, client.InNamespace(rs.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("listing server pods: %w", err)
	}
	port := rs.Spec.Cluster.BoltPort
	if port == 0 {
		port = 7687
	}
	var ready, others []string
	for _, p := range pods.Items {
		host := podHost(&p)
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || host == "" {
			continue
		}
		addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
		if podReady(&p) {
			ready = append(ready, addr)
		} else {
			others = append(others, addr)
		}
	}
	return append(ready, others...), nil
}

// restoreWorld is what a Restore's plan reads, past the cache (which files make a chain is
// decided on what the API server holds now; a Backup that finished a moment ago must not look
// unfinished): its source Backup, when it names one, and the namespace's Backups.
type restoreWorld struct {
	// source is spec.source.backupName's Backup; nil when none is named or it does not exist.
	source  *v1.Backup
	backups []v1.Backup
}

func (r *RestoreReconciler) look(ctx context.Context, rs *v1.Restore) (restoreWorld, error) {
	var w restoreWorld
	if name := rs.Spec.Source.BackupName; name != "" {
		b := &v1.Backup{}
		if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: name}, b); err == nil {
			w.source = b
		} else if !apierrors.IsNotFound(err) {
			return w, failed(reasonFailedGet, fmt.Errorf("reading Backup %s: %w", name, err))
		}
	}
	list := &v1.BackupList{}
	if err := r.Reader.List(ctx, list, client.InNamespace(rs.Namespace)); err != nil {
		return w, failed(reasonFailedList, fmt.Errorf("listing Backups: %w", err))
	}
	w.backups = list.Items
	return w, nil
}

// restoreDecision is what decideRestore makes of a Restore and its world.
type restoreDecision struct {
	// plan is what to restore; with inspect, the location and bounds, without a chain yet.
	plan *resources.RestorePlan
	// reason and message: a refusal, or a reason to wait (BackupNotFound, sourceRunning).
	reason, message string
	// inspect: no Backup records artifacts of the database in the location; an inspection
	// Job lists them.
	inspect bool
	// why says, with inspect, why the Backups' records are not enough.
	why string
	// untilTx is status.restoredUntilTx, when it is known before the restore runs.
	untilTx int64
}

// decideRestore finds the source's artifacts and resolves the chain, from the Restore and its
// world alone.
func decideRestore(rs *v1.Restore, version neo4j.Version, budget v1.MemoryBudget, w restoreWorld) restoreDecision {
	refuse := func(reason, format string, args ...any) restoreDecision {
		return restoreDecision{reason: reason, message: fmt.Sprintf(format, args...)}
	}
	db := rs.Spec.Database
	loc := v1.StorageLocation{}
	var access *v1.ObjectStoreSpec // a bucket's: how the pods reach it
	zone := ""
	target := chain.Target{}
	var endTx int64 // the last transaction of the source Backup's artifact
	unlisted := ""  // the source Backup's manifest, when its report left the database out
	if name := rs.Spec.Source.BackupName; name != "" {
		b := w.source
		if b == nil {
			return refuse(v1.ReasonBackupNotFound, "Backup %s does not exist in %s", name, rs.Namespace)
		}
		var mine *v1.DatabaseResult
		for i, d := range b.Status.Databases {
			if d.Name == db {
				mine = &b.Status.Databases[i]
			}
		}
		m := b.Status.Manifest
		switch {
		case !b.Status.Phase.Finished():
			return refuse(reasonSourceRunning, "Backup %s is %s; the restore starts when it has finished", name, orUnknown(string(b.Status.Phase)))
		case b.Status.Phase == v1.BackupFailed:
			return refuse(v1.ReasonSourceNotReady, "Backup %s failed: it holds nothing to restore", name)
		case b.Status.Storage == nil:
			return refuse(v1.ReasonSourceNotReady, "Backup %s did not back up database %s", name, db)
		case mine == nil && m.Truncated() && (m.File != "" || version.Legacy()):
			// Left out of its report: its manifest on the volume says which artifact it is
			// (4.4: the database's folder).
			unlisted = m.File + "@" + m.Digest
		case mine == nil || mine.Artifact == "":
			return refuse(v1.ReasonSourceNotReady, "Backup %s did not back up database %s", name, db)
		}
		loc, access = *b.Status.Storage, b.Spec.Storage.ObjectStore
		if b.Status.Placement != nil {
			zone = b.Status.Placement.StorageZone
		}
		if rs.Spec.RestoreUntil == "" && unlisted == "" {
			target.EndAt, endTx = mine.Artifact, mine.HighestTx
		}
	} else {
		loc, access = location.OfSource(rs.Spec.Source.Storage), rs.Spec.Source.Storage.ObjectStore
	}
	if loc.InBucket() {
		// Admission sees these only for a source.storage bucket; a named Backup's bucket is
		// known here.
		switch {
		case !version.AtLeast(5, 25):
			return refuse(v1.ReasonInvalidSpec, "spec.cluster.neo4jVersion: %s is in the bucket folder %s, which a restore reads with neo4j-admin backup inspect, new in 5.25; this Restore says %s", sourceName(rs), loc, version)
		case access == nil:
			return refuse(v1.ReasonInvalidSpec, "%s is in the bucket folder %s, but its spec says nothing of how to reach it", sourceName(rs), loc)
		case access.Credentials.WorkloadIdentity && rs.Spec.ServiceAccountName == "":
			return refuse(v1.ReasonInvalidSpec, "spec.serviceAccountName: %s is reached by workload identity: name the ServiceAccount the cloud identity is bound to, as the Backup does", sourceName(rs))
		}
	}
	until, err := chain.ParseUntil(rs.Spec.RestoreUntil)
	if err != nil {
		return refuse(v1.ReasonInvalidSpec, "spec.restoreUntil: %v", err)
	}
	target.UntilTx, target.Until = until.UntilTx, until.Until
	fromBucket, why := seedsFromBucket(rs, version, loc, rs.Spec.RestoreUntil != "")
	if why != "" {
		return refuse(v1.ReasonInvalidSpec, "spec.seedFrom: %s", why)
	}

	arts, recordedZone, newest, incomplete := recorded(w.backups, loc, db)
	switch {
	case loc.InBucket():
		zone = "" // a bucket is read from every zone: the pods are not pinned
	case zone == "":
		zone = recordedZone
	}
	d := restoreDecision{plan: &resources.RestorePlan{Location: loc, Access: access, Zone: zone, Memory: budget,
		UntilTx: target.UntilTx, UntilTime: target.Until, SeedFromBucket: fromBucket}}
	switch {
	case !version.Legacy() && (unlisted != "" || (incomplete != "" && (target.EndAt == "" || endTx > 0))):
		// (A named Backup's artifact with no transaction range could not be found among the
		// files: its chain is the one the records hold.)
		// Some of the location's records are in manifests only: the files decide.
		d.inspect, d.why = true, fmt.Sprintf("Backup %s's report left %s out", incomplete, db)
		switch {
		case unlisted != "":
			d.why = fmt.Sprintf("Backup %s's report left %s out", rs.Spec.Source.BackupName, db)
			if rs.Spec.RestoreUntil == "" {
				d.plan.Manifest = unlisted // the chain ends at its artifact
			}
		case target.EndAt != "":
			d.plan.UntilTx = endTx
		}
		return d
	case len(arts) == 0 && rs.Spec.Source.BackupName != "" && !(version.Legacy() && unlisted != ""):
		return refuse(v1.ReasonNotCovered, "no Backup records artifacts of %s in %s", db, loc)
	case version.Legacy() && rs.Spec.Source.BackupName != "" && rs.Spec.Source.BackupName != newest:
		// 4.4 keeps one folder per database, rewritten by every backup: what can be restored
		// is its newest state, and only that.
		return refuse(v1.ReasonNotCovered, "Neo4j 4.4 keeps one backup folder per database, rewritten by each backup: it now holds Backup %s, not %s",
			newest, rs.Spec.Source.BackupName)
	case version.Legacy():
		// The location holds one folder per database; the agent finds it or says so.
		d.plan.Chain = []string{db}
		return d
	case len(arts) == 0:
		d.inspect, d.why = true, fmt.Sprintf("no Backup records artifacts of %s in %s", db, loc)
		return d
	}
	c, err := chain.Resolve(arts, target)
	switch {
	case (errors.Is(err, chain.ErrGap) || errors.Is(err, chain.ErrNoFull)) && (target.EndAt == "" || endTx > 0):
		// The Backups' records have a hole, but the files may not: the Backup of a link can be
		// gone (deleted under deletionPolicy Retain) while its artifact is still there. The
		// files decide: an inspection lists them and resolves the chain (ending at the source
		// Backup's last transaction), and says ChainBroken if they have the hole too.
		if target.EndAt != "" {
			d.plan.UntilTx = endTx
		}
		d.inspect, d.why = true, "the Backups' records of "+db+" do not form a chain ("+err.Error()+")"
		return d
	case errors.Is(err, chain.ErrGap), errors.Is(err, chain.ErrNoFull):
		return refuse(v1.ReasonChainBroken, "%s", err.Error())
	case err != nil:
		return refuse(v1.ReasonNotCovered, "%s", err.Error())
	}
	d.plan.Chain, d.plan.ChainHighTx = c.Files(), c.HighTx
	switch {
	case target.Until != nil:
		// Known only once restored: the agent reports it.
	case target.UntilTx > 0:
		d.untilTx = target.UntilTx
	default:
		d.untilTx = c.HighTx
	}
	return d
}

// seedsFromBucket tells whether a SeedFromURI restore's servers fetch the seed from the bucket
// at loc themselves (CloudSeedProvider) rather than from a seed server, or why the spec's
// seedFrom cannot be. CloudSeedProvider "supports using differential backup files as seeds"
// from 5.26 (5.26.2 clustering/databases.adoc:530), but the 5.26 default provider list is
// "S3SeedProvider,CloudSeedProvider" (5.26.2 configuration-settings.adoc:2236), and "the first
// matching provider will be used" (:2230): so Auto seeds from the bucket only from 2025.01, whose
// default is CloudSeedProvider (2025.01.0 :2045), as is seedRestoreUntil (2025.10.1
// seed-from-uri.adoc:285). Auto keeps the seed server where seeding from the bucket could go
// wrong unseen: nothing can check the servers' access to the bucket before the statement runs,
// so a replace (CREATE OR REPLACE, which drops the old database whether or not the seed then
// starts) goes through a seed server, which the seed Job sees serving first; and the seed URI
// cannot carry an S3-compatible store's endpoint, which the servers would have to be
// configured with themselves.
func seedsFromBucket(rs *v1.Restore, version neo4j.Version, loc v1.StorageLocation, until bool) (bool, string) {
	if rs.Spec.Mode != v1.RestoreSeedFromURI {
		return false, ""
	}
	switch rs.Spec.SeedFrom {
	case v1.SeedFromSeedServer:
		return false, ""
	case v1.SeedFromBucket:
		switch {
		case !loc.InBucket():
			return false, fmt.Sprintf("Bucket: %s is on a volume, not in a bucket", loc)
		case !version.AtLeast(5, 26):
			return false, fmt.Sprintf("Bucket: CloudSeedProvider seeds from a backup chain from 5.26; this Restore says %s", version)
		case until && !version.AtLeast(2025, 1):
			return false, fmt.Sprintf("Bucket: restoreUntil needs seedRestoreUntil, new in 2025.01; this Restore says %s (seedFrom: SeedServer prepares the seed up to that point)", version)
		case rs.Spec.ReplaceExisting:
			return false, "Bucket: with replaceExisting the existing database would be replaced before anything shows whether the servers can read the bucket; use seedFrom: SeedServer, or drop the database first"
		}
		return true, ""
	}
	// Nor for Azure, where the manual gives two forms of a seed URI (docs/neo4j-contract.md).
	return loc.InBucket() && !strings.HasPrefix(loc.URI, "azb://") && loc.Endpoint == "" && !rs.Spec.ReplaceExisting && version.AtLeast(2025, 1), ""
}

// sourceName names a Restore's source in a message.
func sourceName(rs *v1.Restore) string {
	if n := rs.Spec.Source.BackupName; n != "" {
		return "Backup " + n
	}
	return "the source"
}

// recorded are the artifacts of database db in loc as the Backups recorded them (location.Links:
// their own, and those they hold for deleted Backups when their transaction ranges are known),
// with the storage zone they were written in and the Backup that wrote the newest (or may have:
// one whose report left databases out); incomplete names a Backup there whose report left
// databases out, db among them for all the status says.
func recorded(backups []v1.Backup, loc v1.StorageLocation, db string) (arts []chain.Artifact, zone, newest, incomplete string) {
	var newestAt time.Time
	for _, l := range location.Links(backups, loc, db, nil) {
		if !l.Inherited && (newest == "" || l.Time.After(newestAt)) {
			// A Backup that may hold db counts: with 4.4 it may have rewritten the folder.
			newest, newestAt = l.Backup, l.Time
		}
		switch {
		case l.Possible:
			if incomplete == "" {
				incomplete = l.Backup
			}
			continue
		case l.Inherited && l.HighTx == 0:
			// Handed over by an earlier version, without its range: the files decide (a
			// gap in the records sends the restore to an inspection).
			continue
		}
		arts = append(arts, chain.Artifact{File: l.File, Backup: l.Backup, Time: l.Time, Full: l.Full, LowTx: l.LowTx, HighTx: l.HighTx, Clean: l.Clean})
		if zone == "" {
			zone = l.Zone
		}
	}
	return arts, zone, newest, incomplete
}

// reasonSourceRunning is decideRestore's word for "the source Backup has not finished": wait, not fail.
const reasonSourceRunning = "sourceRunning"

func orUnknown(s string) string {
	if s == "" {
		return "not started"
	}
	return s
}

// follow moves the Restore along with its Job (followJob) and, once the Job ended, concludes
// from the agent's report.
func (r *RestoreReconciler) follow(ctx context.Context, rs *v1.Restore, now time.Time) (ctrl.Result, error) {
	job, ended, res, err := followJob(ctx, r.Client, r.Reader, rs, rs.Status.JobName, "restore", runner{
		conds: &rs.Status.Conditions, generation: rs.Generation,
		running: rs.Status.Phase == v1.RestoreRunning, node: &rs.Status.Node,
		run:  func() { rs.Status.Phase = v1.RestoreRunning },
		fail: func(reason, msg string) { r.fail(rs, now, reason, msg) },
	}, r.StartTimeout, now)
	if err != nil || restoreFinished(rs.Status.Phase) {
		return res, err
	}
	if ended == nil {
		// A seed straight from the bucket (status.seedURI names it there) has no seed server.
		if rs.Spec.Mode == v1.RestoreSeedFromURI && job != nil && !neo4j.CloudPath(rs.Status.SeedURI) {
			if err := r.seedServerFailed(ctx, rs, now); err != nil {
				return ctrl.Result{}, err
			}
		}
		return res, nil
	}
	rs.Status.CompletionTime = &ended.LastTransitionTime
	var rep result.Restore
	container := resources.ContainerRestore
	if rs.Spec.Mode == v1.RestoreSeedFromURI {
		container = resources.ContainerSeed
	}
	term, repErr := lastTermination(ctx, []client.Reader{r.Client, r.Reader}, job, container)
	if repErr == nil {
		rep, repErr = result.DecodeRestore([]byte(term.Message))
	}
	budget, budgetErr := rs.Spec.Memory.Budget(field.NewPath("spec", "memory"))
	drill := rs.Spec.Mode == v1.RestoreVerify
	if drill && repErr == nil && rep.Consistent != nil {
		rs.Status.Verification = verification(rs, rep)
	}
	switch {
	case ended.Type == batchv1.JobFailed && oomKilled(term) && budgetErr == nil:
		r.fail(rs, now, v1.ReasonOOMKilled, budget.OOMKilled("restore"))
	case drill && ended.Type == batchv1.JobComplete && repErr == nil && rep.Error == "" && rs.Status.Verification == nil:
		r.fail(rs, now, v1.ReasonInvalidReport, fmt.Sprintf("Job %s completed without the drill's verdict: was it run by an agent without --check?", job.Name))
	case drill && ended.Type == batchv1.JobComplete && repErr == nil && !rs.Status.Verification.Consistent:
		// The agent ends an inconsistent check with exit 3; a report that says so anyway wins.
		r.fail(rs, now, v1.ReasonInconsistent, fmt.Sprintf("Job %s completed, but its report says database %s is not consistent", job.Name, rs.Spec.Database))
	case ended.Type == batchv1.JobComplete && repErr == nil && rep.Error == "":
		rs.Status.Phase = v1.RestoreSucceeded
		target := rs.Spec.TargetDatabase
		if target == "" {
			target = rs.Spec.Database
		}
		msg := fmt.Sprintf("restored %s as %s from %s", rs.Spec.Database, target, chainText(resources.RestorePlan{Chain: rs.Status.Chain, ChainLength: int(rs.Status.ChainLength)}))
		switch rs.Spec.Mode {
		case v1.RestoreSeedFromURI:
			msg += "; online on every server"
		case v1.RestoreVerify:
			msg = fmt.Sprintf("restored %s from %s into scratch claim %s and checked it: consistent (restore %s, check %s)", rs.Spec.Database,
				chainText(resources.RestorePlan{Chain: rs.Status.Chain, ChainLength: int(rs.Status.ChainLength)}), rs.Status.ScratchClaim,
				durationText(rs.Status.Verification.RestoreDuration), durationText(rs.Status.Verification.CheckDuration))
		}
		status.Set(&rs.Status.Conditions, rs.Generation, status.Done, v1.ReasonSucceeded, msg, metav1.NewTime(now))
	case repErr == nil && rep.Reason != "" && rs.Status.Verification != nil && rs.Status.Verification.Report != "":
		r.fail(rs, now, rep.Reason, fmt.Sprintf("%s (on scratch claim %s, kept until this Restore is deleted)", rep.Error, rs.Status.ScratchClaim))
	case repErr == nil && rep.Reason != "":
		r.fail(rs, now, rep.Reason, rep.Error)
	case repErr == nil:
		r.fail(rs, now, v1.ReasonRestoreFailed, fmt.Sprintf("Job %s: %s: %s", job.Name, ended.Reason, rep.Error))
	default:
		r.fail(rs, now, v1.ReasonInvalidReport, fmt.Sprintf("Job %s ended (%s) without a report the operator can read: %v", job.Name, ended.Type, repErr))
	}
	return ctrl.Result{}, nil
}

// verification is what a drill's report says of the restored database.
func verification(rs *v1.Restore, rep result.Restore) *v1.RestoreVerification {
	v := &v1.RestoreVerification{Consistent: *rep.Consistent}
	if rep.RestoreTime > 0 {
		v.RestoreDuration = &metav1.Duration{Duration: rep.RestoreTime}
	}
	if rep.CheckTime > 0 {
		v.CheckDuration = &metav1.Duration{Duration: rep.CheckTime}
	}
	if rep.Report != "" {
		v.Report = rs.Status.ScratchClaim + ":" + rep.Report
	}
	return v
}

func durationText(d *metav1.Duration) string {
	if d == nil {
		return "unmeasured"
	}
	return d.Round(time.Millisecond).String()
}

// seedServerFailed fails the Restore when its seed server ended before the seed Job did (the
// chain could not be prepared, or the server kept crashing): the seed Job would only wait for a
// URI nobody serves. The seed Job is deleted with it.
func (r *RestoreReconciler) seedServerFailed(ctx context.Context, rs *v1.Restore, now time.Time) error {
	server := &batchv1.Job{}
	found, wait, err := getJob(ctx, r.Client, r.Reader, client.ObjectKey{Namespace: rs.Namespace, Name: resources.SeedServerName(rs.Name)}, server, rs)
	if err == nil && !found && !wait {
		// Started before the upgrade that named it <restore>-seed-server.
		found, wait, err = getJob(ctx, r.Client, r.Reader, client.ObjectKey{Namespace: rs.Namespace, Name: resources.LegacySeedServerName(rs.Name)}, server, rs)
	}
	switch {
	case err != nil:
		return failed(reasonFailedGet, fmt.Errorf("reading the seed server Job: %w", err))
	case wait:
		return nil
	case !found:
		r.fail(rs, now, v1.ReasonJobDeleted, fmt.Sprintf("the seed server Job %s was deleted before the restore finished", resources.SeedServerName(rs.Name)))
	default:
		ended := endOf(server)
		if ended == nil {
			return nil
		}
		term, repErr := lastTermination(ctx, []client.Reader{r.Client, r.Reader}, server, resources.ContainerSeedServer)
		var rep result.Restore
		if repErr == nil {
			rep, repErr = result.DecodeRestore([]byte(term.Message))
		}
		budget, budgetErr := rs.Spec.Memory.Budget(field.NewPath("spec", "memory"))
		switch {
		case oomKilled(term) && budgetErr == nil:
			r.fail(rs, now, v1.ReasonOOMKilled, budget.OOMKilled("seed server"))
		case repErr == nil && rep.Reason != "":
			r.fail(rs, now, rep.Reason, "seed server: "+rep.Error)
		case repErr == nil && rep.Error != "":
			r.fail(rs, now, v1.ReasonRestoreFailed, "seed server: "+rep.Error)
		default:
			r.fail(rs, now, v1.ReasonRestoreFailed, fmt.Sprintf("the seed server Job %s ended (%s: %s) before the database was created", server.Name, ended.Type, ended.Reason))
		}
	}
	// The seed Job, waiting for a URI nobody serves, is deleted by cleanupSeed once this
	// status is written.
	return nil
}

// cleanup removes, once the Restore has finished, what it ran beside its Job: the seed server
// (SeedFromURI), the scratch claim (Verify). Idempotent.
func (r *RestoreReconciler) cleanup(ctx context.Context, rs *v1.Restore) error {
	switch rs.Spec.Mode {
	case v1.RestoreSeedFromURI:
		return r.cleanupSeed(ctx, rs)
	case v1.RestoreVerify:
		return r.dropScratch(ctx, rs)
	}
	return nil
}

// dropScratch deletes a finished drill's scratch claim, when it is the Restore's, unless the
// check found inconsistencies: the claim then holds the report status.verification names, and
// goes with the Restore (its owner), and so does the Job, for its logs. Every pod that mounted
// the claim holds it, finished pods too (Kubernetes' pvc-protection), so the drill's Job goes
// first, with its pods: what it found is in the status.
func (r *RestoreReconciler) dropScratch(ctx context.Context, rs *v1.Restore) error {
	if v := rs.Status.Verification; v != nil && v.Report != "" {
		return nil
	}
	if rs.Status.JobName != "" {
		job := &batchv1.Job{}
		err := r.Reader.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: rs.Status.JobName}, job)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("reading the drill's Job: %w", err)
		case metav1.IsControlledBy(job, rs) && job.DeletionTimestamp == nil:
			err = r.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: ptr.To(job.UID)})
			if client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting the drill's Job %s: %w", job.Name, err)
			}
		}
	}
	claim := &corev1.PersistentVolumeClaim{}
	err := r.Reader.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: resources.ScratchClaimName(rs.Name)}, claim)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading the scratch claim: %w", err)
	case !metav1.IsControlledBy(claim, rs) || claim.DeletionTimestamp != nil:
		return nil
	}
	err = r.Client.Delete(ctx, claim, client.Preconditions{UID: ptr.To(claim.UID)})
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting the scratch claim %s: %w", claim.Name, err)
	}
	if err == nil {
		r.Recorder.Eventf(rs, claim, corev1.EventTypeNormal, "ScratchClaimDeleted", "Delete", "deleted scratch claim %s: the drill has ended", claim.Name)
	}
	return nil
}

// cleanupSeed deletes the seed server's Job (and its pods), Service and NetworkPolicy, and the seed Job if it
// is still running (the seed server failed first), when they are this Restore's: an object of
// that name someone else owns is never touched. A seed Job that ended is kept, like every
// restore Job, for its logs.
func (r *RestoreReconciler) cleanupSeed(ctx context.Context, rs *v1.Restore) error {
	name := resources.SeedServerName(rs.Name)
	objs := []struct {
		obj  client.Object
		name string
	}{{&batchv1.Job{}, name}, {&corev1.Service{}, name}, {&networkingv1.NetworkPolicy{}, name}}
	// And under the name they had before the upgrade that named them <restore>-seed-server.
	if legacy := resources.LegacySeedServerName(rs.Name); legacy != name {
		objs = append(objs, []struct {
			obj  client.Object
			name string
		}{{&batchv1.Job{}, legacy}, {&corev1.Service{}, legacy}, {&networkingv1.NetworkPolicy{}, legacy}}...)
	}
	if rs.Status.JobName != "" {
		objs = append(objs, struct {
			obj  client.Object
			name string
		}{&batchv1.Job{}, rs.Status.JobName})
	}
	for _, o := range objs {
		obj := o.obj
		err := r.Reader.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: o.name}, obj)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", o.name, err)
		}
		if !metav1.IsControlledBy(obj, rs) || obj.GetDeletionTimestamp() != nil {
			continue
		}
		if job, ok := obj.(*batchv1.Job); ok && o.name == rs.Status.JobName && endOf(job) != nil {
			continue // the seed Job ended: kept
		}
		err = r.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: ptr.To(obj.GetUID())})
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %s: %w", o.name, err)
		}
	}
	return nil
}

// inspected resolves the chain of a storage location no Backup describes with an inspection
// Job, created on the first pass; until it has ended the reason is Inspecting.
func (r *RestoreReconciler) inspected(ctx context.Context, rs *v1.Restore, d restoreDecision) (restoreDecision, error) {
	plan := d.plan
	says := func(reason, format string, args ...any) (restoreDecision, error) {
		return restoreDecision{reason: reason, message: fmt.Sprintf(format, args...)}, nil
	}
	where := plan.Location.String()
	job := &batchv1.Job{}
	found, wait, err := getJob(ctx, r.Client, r.Reader, client.ObjectKey{Namespace: rs.Namespace, Name: resources.InspectJobName(rs.Name)}, job, rs)
	switch {
	case err != nil:
		return d, err
	case wait:
		return says(v1.ReasonInspecting, "inspecting %s", where)
	case !found:
		job, err = resources.InspectJob(rs, *plan, r.Options)
		if err != nil {
			return says(v1.ReasonInvalidSpec, "%s", err.Error())
		}
		created, ours, err := createOrAdopt(ctx, r.Client, r.Reader, job, rs)
		switch {
		case err != nil:
			return d, err
		case !ours:
			return says(v1.ReasonJobConflict, "a Job named %s exists and does not belong to this Restore", job.Name)
		case created:
			r.Recorder.Eventf(rs, job, corev1.EventTypeNormal, "JobCreated", "Create", "created Job %s inspecting %s", job.Name, where)
		}
		return says(v1.ReasonInspecting, "%s: Job %s is listing the artifacts in %s", d.why, job.Name, where)
	case !metav1.IsControlledBy(job, rs):
		return says(v1.ReasonJobConflict, "a Job named %s exists and does not belong to this Restore", job.Name)
	}
	ended := endOf(job)
	if ended == nil {
		return says(v1.ReasonInspecting, "Job %s is listing the artifacts in %s", job.Name, where)
	}
	term, repErr := lastTermination(ctx, []client.Reader{r.Client, r.Reader}, job, resources.ContainerInspect)
	var rep result.Restore
	if repErr == nil {
		rep, repErr = result.DecodeRestore([]byte(term.Message))
	}
	switch {
	case repErr != nil:
		return says(v1.ReasonInvalidReport, "inspection Job %s ended (%s) without a report the operator can read: %v", job.Name, ended.Type, repErr)
	case rep.Reason != "":
		return says(rep.Reason, "in %s: %s", where, rep.Error)
	case ended.Type != batchv1.JobComplete || len(rep.Chain) == 0:
		return says(v1.ReasonRestoreFailed, "inspection Job %s ended (%s, %s) without a chain: %s", job.Name, ended.Type, ended.Reason, rep.Error)
	}
	plan.Chain, plan.ChainHighTx, plan.ChainLength = rep.Chain, rep.ChainHighTx, rep.ChainLength
	if plan.UntilTime == nil {
		d.untilTx = rep.UntilTx
	}
	d.inspect = false
	return d, nil
}
