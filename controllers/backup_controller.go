package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/location"
	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/internal/retention"
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
	"github.com/graphkeeper/neo4j-backup-operator/internal/topology"
)

// BackupReconciler turns each Backup into one Job and the Job's outcome into status.
type BackupReconciler struct {
	// Client reads through the manager's cache (Backups, and our own Jobs and pods) and writes.
	Client client.Client
	// Reader reads past the cache: the Neo4j server pods, nodes, claims and volumes are not the
	// operator's and are not cached (see main.go); they are read once, when a Backup starts.
	Reader   client.Reader
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
	Options  resources.Options
	// StartTimeout is how long a Backup waits for what it needs to start (a ready server, an
	// isolated zone, its claim) before it fails.
	StartTimeout time.Duration
	// reads shares the server, node and volume reads among Backups starting in the same second.
	reads *readCache
	// writers serializes, per storage location, the passes that decide to write there (a start,
	// a prune) with the status write or Job that makes the decision visible, so that two passes
	// running together cannot both find the location free.
	writers stripes
}

// The operator's permissions, read by controller-gen into config/rbac/role.yaml.
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=backups,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=backups/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=backup.graphkeeper.dev,resources=backups/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// ArtifactsFinalizer holds a Backup with storage.deletionPolicy Delete until its artifacts are
// deleted (or found to be needed by a later backup, and kept).
const ArtifactsFinalizer = v1.ArtifactsFinalizer

// SetupWithManager registers the controller: Backups, the Jobs they own, and their prune Jobs.
func (r *BackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.StartTimeout == 0 {
		r.StartTimeout = 10 * time.Minute
	}
	if r.reads == nil {
		r.reads = newReadCache(time.Second)
	}
	pruneOwner := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		name := obj.GetAnnotations()[resources.BackupNameAnnotation]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
	})
	// A drill's verdict goes on the Backup it restored: its drills are found by their source.
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1.Restore{}, drillSourceKey, func(o client.Object) []string {
		if rs := o.(*v1.Restore); rs.Spec.Mode == v1.RestoreVerify && rs.Spec.Source.BackupName != "" {
			return []string{rs.Spec.Source.BackupName}
		}
		return nil
	}); err != nil {
		return err
	}
	drilled := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		rs, ok := obj.(*v1.Restore)
		if !ok || rs.Spec.Mode != v1.RestoreVerify || rs.Spec.Source.BackupName == "" || !restoreFinished(rs.Status.Phase) {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: rs.Namespace, Name: rs.Spec.Source.BackupName}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1.Backup{}).
		Owns(&batchv1.Job{}).
		Watches(&batchv1.Job{}, pruneOwner).
		Watches(&v1.Restore{}, drilled).
		Watches(&v1.Backup{}, handler.EnqueueRequestsFromMapFunc(r.waitingFor)).
		Named("backup").
		Complete(r)
}

// waitingFor are the Backups that wait (LocationBusy) for the location obj writes to: any change
// of obj (it ended, it is gone) has them look again at once rather than at their next poll.
func (r *BackupReconciler) waitingFor(ctx context.Context, obj client.Object) []reconcile.Request {
	b, ok := obj.(*v1.Backup)
	if !ok {
		return nil
	}
	list := &v1.BackupList{}
	if err := r.Client.List(ctx, list, client.InNamespace(b.Namespace)); err != nil {
		return nil // each waiting Backup looks again at its poll anyway
	}
	key := location.Key(b)
	var out []reconcile.Request
	for i := range list.Items {
		o := &list.Items[i]
		if o.UID != b.UID && isReason(o.Status.Conditions, v1.ReasonLocationBusy) && location.Key(o) == key {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return out
}

// deletesArtifacts: storage.deletionPolicy Delete, on a version whose artifacts are files of
// their own.
func deletesArtifacts(b *v1.Backup) bool {
	return b.Spec.Storage.DeletionPolicy == v1.DeletionDelete && ownsArtifacts(b)
}

// ownsArtifacts: b's version writes files of its own (4.4 rewrites one folder per database in
// place; there is nothing per Backup to delete).
func ownsArtifacts(b *v1.Backup) bool {
	v, err := neo4j.ParseVersion(b.Spec.Cluster.Neo4jVersion)
	return err == nil && !v.Legacy()
}

// finalize deletes the artifacts of a Backup being deleted (deletionPolicy Delete, or expired by
// a retention rule), and those it inherited, through one path: a prune Job in the storage zone.
// It keeps them, and says so, when they belong to the newest restorable or clean chain or a
// later backup of their chain still needs them (handing them to it). A prune that fails leaves
// the files in place. It writes the Backup itself (the finalizer); the status is not written
// once it is gone.
func (r *BackupReconciler) finalize(ctx context.Context, b *v1.Backup, now time.Time) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(b, ArtifactsFinalizer) {
		return ctrl.Result{}, nil
	}
	done := func(typ, reason, format string, args ...any) (ctrl.Result, error) {
		controllerutil.RemoveFinalizer(b, ArtifactsFinalizer)
		if err := r.Client.Update(ctx, b); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, failed(reasonFailedUpdate, fmt.Errorf("removing the finalizer: %w", err))
		}
		r.Recorder.Eventf(b, nil, typ, reason, "Delete", format, args...)
		return ctrl.Result{}, nil
	}
	artifacts := artifactsOf(b)
	if artifacts.Empty() || b.Status.Storage == nil {
		return done(corev1.EventTypeNormal, "NoArtifacts", "no artifacts to delete")
	}
	var res ctrl.Result
	var err error
	if rule := b.Annotations[v1.ExpiredAnnotation]; rule == "" && !deletesArtifacts(b) {
		// Deleted by hand or by a GitOps tool, and its policy (changed since) says Retain.
		return done(corev1.EventTypeNormal, "ArtifactsKept", "kept %s: storage.deletionPolicy is Retain", artifacts)
	}
	job, err := r.pruneJob(ctx, b)
	if err != nil {
		return ctrl.Result{}, err
	}
	if job == nil {
		return r.startPrune(ctx, b, artifacts, now, done)
	}
	// Once its prune Job exists the decision is not made again: a verdict reached while it
	// runs (kept, say, because another Backup went meanwhile) would not be what it does.
	switch {
	case resources.IsPruneJobFor(job, b.Name) && !resources.IsPruneJobOf(job, b):
		// An earlier Backup's of this name, left for its TTL: its verdict is not this one's.
		// Once it has ended it is deleted and this Backup decides for itself.
		if !jobEnded(job) {
			return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
		}
		if err := r.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: &job.UID}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, failed(reasonFailedDelete, fmt.Errorf("deleting an earlier Backup's prune Job %s: %w", job.Name, err))
		}
		return ctrl.Result{}, errStale
	case !resources.IsPruneJobOf(job, b):
		// Another object's Job holds the name: it is neither waited on nor deleted, and
		// nothing is pruned.
		return done(corev1.EventTypeWarning, "PruneJobConflict", "a Job named %s exists and is not this Backup's prune Job; %s left in place in %s",
			job.Name, artifacts, b.Status.Storage)
	case !jobEnded(job):
		return ctrl.Result{}, nil
	}
	// The verdict first, then the Job: deleted first, a finalizer update that conflicted
	// would leave the next pass no Job, and it would prune again. A Job left by a failed
	// delete goes by its TTL.
	if endOf(job).Type == batchv1.JobComplete {
		res, err = done(corev1.EventTypeNormal, "ArtifactsDeleted", "deleted %s", artifacts)
	} else {
		res, err = done(corev1.EventTypeWarning, "PruneFailed", "could not delete %s; they are left in place in %s (delete them by hand if they are not wanted)",
			artifacts, b.Status.Storage)
	}
	if err == nil {
		if derr := r.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: &job.UID}); client.IgnoreNotFound(derr) != nil {
			log.FromContext(ctx).Error(derr, "deleting the prune Job; its TTL removes it", "job", job.Name)
		}
	}
	return res, err
}

// startPrune decides, for a Backup being deleted that has no prune Job yet, whether its
// artifacts go: kept when a chain still needs them, waiting while a backup writes to the
// location, else a prune Job is created.
func (r *BackupReconciler) startPrune(ctx context.Context, b *v1.Backup, artifacts resources.Prune, now time.Time,
	done func(typ, reason, format string, args ...any) (ctrl.Result, error)) (ctrl.Result, error) {
	if keep, why, heirs, err := r.protected(ctx, b); err != nil {
		return ctrl.Result{}, failed(reasonFailedList, fmt.Errorf("listing the Backups that may need these artifacts: %w", err))
	} else if keep {
		// Kept for a later link: handed to it first, so that they go when it goes, whatever
		// the order the Backups are deleted in, instead of staying with no Backup to delete them.
		for heir, files := range heirs {
			if err := r.bequeath(ctx, b.Namespace, heir, files); err != nil {
				return ctrl.Result{}, err
			}
		}
		return done(corev1.EventTypeNormal, "ArtifactsKept", "kept %s: %s", artifacts, why)
	}
	h, err := r.writer(ctx, b)
	if err == nil && h == nil {
		h, err = r.restoring(ctx, b)
	}
	if err != nil {
		return ctrl.Result{}, err
	} else if h != nil {
		status.Set(&b.Status.Conditions, b.Generation, status.Progressing, v1.ReasonLocationBusy, busy(b, h), metav1.NewTime(now))
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	}
	job := resources.PruneJob(b, artifacts, r.Options)
	if err := r.Client.Create(ctx, job); apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, errStale // made meanwhile, or someone else's: the next pass reads it
	} else if err != nil {
		return ctrl.Result{}, failed(reasonFailedCreate, fmt.Errorf("creating prune Job %s: %w", job.Name, err))
	}
	r.Recorder.Eventf(b, job, corev1.EventTypeNormal, "PruneStarted", "Delete", "deleting %s from %s", artifacts, b.Status.Storage)
	return ctrl.Result{}, nil
}

// pruneJob is the Job named as b's prune Job, ours or not, or nil when there is none. The cache
// holds only Jobs with our labels: one it lacks is read live (a foreign Job of the name would
// otherwise look absent for ever, and be "created" on every pass).
func (r *BackupReconciler) pruneJob(ctx context.Context, b *v1.Backup) (*batchv1.Job, error) {
	key := client.ObjectKey{Namespace: b.Namespace, Name: resources.PruneJobName(b.Name)}
	for _, reader := range []client.Reader{r.Client, r.Reader} {
		job := &batchv1.Job{}
		if err := reader.Get(ctx, key, job); err == nil {
			return job, nil
		} else if !apierrors.IsNotFound(err) {
			return nil, failed(reasonFailedGet, fmt.Errorf("reading prune Job %s: %w", key.Name, err))
		}
	}
	return nil, nil
}

// protected reads, past the cache, the Backups that share b's location (a decision to delete
// data is made on what the API server holds now) and applies keepDecision.
func (r *BackupReconciler) protected(ctx context.Context, b *v1.Backup) (keep bool, why string, heirs map[string]map[string][]location.Link, err error) {
	list := &v1.BackupList{}
	if err := r.Reader.List(ctx, list, client.InNamespace(b.Namespace)); err != nil {
		return false, "", nil, err
	}
	keep, why, heirs = keepDecision(b, list.Items)
	return keep, why, heirs, nil
}

// keepDecision applies retention.Protected to each database of b, over the links of that
// database's chains in the same place as location.Links reads them (chains are per database: a
// FULL of one does not end another's, and two schedules may share a path): the databases it
// backed up, those only its manifest lists (as one), and those it holds inherited links of. b's
// files are kept when any of them is protected. heirs are, per database, the next link of its
// chain and what to hand to it when kept.
func keepDecision(b *v1.Backup, all []v1.Backup) (keep bool, why string, heirs map[string]map[string][]location.Link) {
	inherited := location.Inherited(b)
	heirs = map[string]map[string][]location.Link{}
	own := map[string]location.Link{}
	for _, d := range b.Status.Databases {
		if d.Artifact != "" {
			own[d.Name] = location.ArtifactLink(b, d)
		}
	}
	if m := b.Status.Manifest; m.Truncated() && m.File != "" {
		// The databases the report left out, as one: their chains are read from the Backups
		// as wholes, which only ever keeps more than theirs would.
		own[location.ManifestsKey(b.Spec.Databases)] = location.BackupLinkOf(b)
	}
	dbs := slices.Sorted(maps.Keys(own))
	for db := range inherited {
		if _, ok := own[db]; !ok {
			dbs = append(dbs, db)
		}
	}
	say := func(db, w string) string {
		if request, ok := location.ManifestsRequest(db); ok {
			return fmt.Sprintf("the databases of %s its manifests list: %s", strings.Join(request, ", "), w)
		}
		return db + ": " + w
	}
	for _, db := range dbs {
		links := location.Links(all, *b.Status.Storage, db, b)
		items := make([]retention.Backup, 0, len(links))
		var others []retention.Backup
		for _, l := range links {
			it := retention.Backup{Name: l.ID(), Time: l.Time, Full: l.Full, Restorable: true, Clean: l.Clean}
			items = append(items, it)
			if l.ID() != b.Name {
				// An inherited file goes with b: b itself is not a later link that still needs it.
				others = append(others, it)
			}
		}
		if k, w := retention.Protected(b.Name, items); k && !keep {
			keep, why = true, say(db, w)
		}
		for _, in := range inherited[db] {
			if k, w := retention.Protected(in.ID(), others); k && !keep {
				keep, why = true, say(db, fmt.Sprintf("%s, which it holds for an earlier link, %s", in.File, w))
			}
		}
		if heir := retention.Heir(b.Name, items); heir != "" && !strings.HasPrefix(heir, "inherited ") {
			var handed []location.Link
			if mine, ok := own[db]; ok {
				handed = append(handed, mine)
			}
			if handed = append(handed, inherited[db]...); len(handed) == 0 {
				continue
			}
			if heirs[heir] == nil {
				heirs[heir] = map[string][]location.Link{}
			}
			heirs[heir][db] = handed
		}
	}
	return keep, why, heirs
}

// artifactsOf is what b's prune deletes: its own artifacts and those it inherited, and what its
// manifest (and those it inherited) lists.
func artifactsOf(b *v1.Backup) resources.Prune {
	var out resources.Prune
	for _, d := range b.Status.Databases {
		if d.Artifact != "" {
			out.Artifacts = append(out.Artifacts, d.Artifact)
		}
	}
	if m := b.Status.Manifest; m != nil && m.File != "" {
		out.Manifests = append(out.Manifests, resources.Manifest{File: m.File, Digest: m.Digest})
	}
	inherited := location.Inherited(b)
	for _, db := range slices.Sorted(maps.Keys(inherited)) {
		for _, in := range inherited[db] {
			if _, ok := location.ManifestsRequest(db); ok {
				out.Manifests = append(out.Manifests, resources.Manifest{File: in.File, Digest: in.Digest})
			} else {
				out.Artifacts = append(out.Artifacts, in.File)
			}
		}
	}
	return out
}

// bequeath adds files, per database, to the inherited artifacts of Backup heir (optimistic: a
// Conflict has the pass look again; a heir gone meanwhile is a changed world too).
func (r *BackupReconciler) bequeath(ctx context.Context, namespace, heir string, files map[string][]location.Link) error {
	h := &v1.Backup{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: heir}, h); apierrors.IsNotFound(err) || (err == nil && h.DeletionTimestamp != nil) {
		// Gone or going meanwhile: it may already have decided what it prunes. The next pass
		// decides again without it.
		return errStale
	} else if err != nil {
		return failed(reasonFailedGet, fmt.Errorf("reading Backup %s: %w", heir, err))
	}
	inherited := location.Inherited(h)
	changed := false
	for db, fs := range files {
		for _, f := range fs {
			if !slices.ContainsFunc(inherited[db], func(in location.Link) bool { return in.File == f.File }) {
				inherited[db] = append(inherited[db], f)
				changed = true
			}
		}
	}
	if !changed {
		return nil
	}
	v, _ := json.Marshal(inherited)
	patch := client.MergeFromWithOptions(h.DeepCopy(), client.MergeFromWithOptimisticLock{})
	metav1.SetMetaDataAnnotation(&h.ObjectMeta, location.InheritedAnnotation, string(v))
	if err := r.Client.Patch(ctx, h, patch); apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return errStale
	} else if err != nil {
		return failed(reasonFailedUpdate, fmt.Errorf("handing artifacts to Backup %s: %w", heir, err))
	}
	return nil
}

// Reconcile moves one Backup along: plan and create its Job, then follow the Job to its end.
// What the pass computed is written once (commit); its events and metrics follow the write.
func (r *BackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &v1.Backup{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if deletesArtifacts(b) && !controllerutil.ContainsFinalizer(b, ArtifactsFinalizer) && !b.Status.Phase.Finished() && b.DeletionTimestamp == nil {
		// Before anything is written: the artifacts must never outlive a deleted Backup
		// whose policy says Delete, nor be deleted without the checks in finalize.
		controllerutil.AddFinalizer(b, ArtifactsFinalizer)
		return ctrl.Result{}, r.Client.Update(ctx, b)
	}
	now := r.Clock.Now()
	next := b.DeepCopy()
	var res ctrl.Result
	var err error
	switch {
	case b.DeletionTimestamp != nil:
		defer r.writers.lock(location.Key(b))()
		// Read again past the cache, under the lock: the files another Backup's finalizer
		// handed to this one a moment ago must be in what it prunes.
		if err := r.Reader.Get(ctx, req.NamespacedName, next); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		b = next.DeepCopy()
		res, err = r.finalize(ctx, next, now)
		if err == nil && !controllerutil.ContainsFinalizer(next, ArtifactsFinalizer) {
			return res, nil // done: it removed its finalizer, and the Backup is gone
		}
	case b.Status.Phase.Finished():
		// A finished Backup's status is final but for the drills that restore it: an error
		// here goes to the backoff and the log.
		r.recordMetrics(b, false)
		if err := dropStoppedJob(ctx, r.Client, r.Reader, b, b.Status.Conditions, b.Status.JobName); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.dropStaging(ctx, b); err != nil {
			return ctrl.Result{}, err
		}
		v, err := r.drilled(ctx, b)
		if err != nil {
			return ctrl.Result{}, err
		}
		next.Status.Verification = v
		return commit(ctx, r.Client, next, b.Status, next.Status, &effects{}, ctrl.Result{})
	case b.Status.JobName == "":
		// Held until the status that records the Job is written (commit, below).
		defer r.writers.lock(location.Key(b))()
		res, err = r.start(ctx, next, now)
	default:
		res, err = r.follow(ctx, next, now)
	}
	if stale(err) {
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	if err != nil {
		res = showRefused(ctx, &next.Status.Conditions, next.Generation, now, err)
	}
	next.Status.ObservedGeneration = next.Generation
	fx := &effects{}
	r.report(ctx, b, next, fx)
	return commit(ctx, r.Client, next, b.Status, next.Status, fx, res)
}

// dropStaging deletes the Job of a finished backup into a bucket, once its status is final: its
// pods' staging volumes (ephemeral, as large as the database) go with the pods, which a finished
// Job keeps until it is deleted, and a schedule keeps several. Its report is in the status.
func (r *BackupReconciler) dropStaging(ctx context.Context, b *v1.Backup) error {
	if b.Status.Storage == nil || !b.Status.Storage.InBucket() || b.Status.JobName == "" || keepsEvidence(b) {
		return nil
	}
	return deleteFinishedJob(ctx, r.Client, b)
}

// keepsEvidence tells whether b's pod holds what nothing else does, so its Job (and the pod's
// staging volume and log) stays until the Backup goes: the databases its report left out when no
// manifest could be written (only the pod's log lists them), or an inconsistency report the agent
// could not upload (only on the staging volume).
func keepsEvidence(b *v1.Backup) bool {
	if m := b.Status.Manifest; m.Truncated() && m.File == "" {
		return true
	}
	for _, d := range b.Status.Databases {
		if d.ConsistencyCheck == result.CheckFailed && d.ConsistencyReport == "" {
			return true
		}
	}
	return false
}

// drillSourceKey indexes drills (Restores of mode Verify) by the Backup they restore.
const drillSourceKey = ".spec.source.backupName"

// drilled is the newest verdict of a drill that restored the chain ending at b: the newest
// finished drill of it with a verdict, or what b's status holds when that is newer (its drill
// deleted by a schedule's history limit, or by hand).
func (r *BackupReconciler) drilled(ctx context.Context, b *v1.Backup) (*v1.BackupVerification, error) {
	list := &v1.RestoreList{}
	if err := r.Client.List(ctx, list, client.InNamespace(b.Namespace), client.MatchingFields{drillSourceKey: b.Name}); err != nil {
		return nil, fmt.Errorf("listing the drills of Backup %s: %w", b.Name, err)
	}
	v := b.Status.Verification
	for i := range list.Items {
		rs := &list.Items[i]
		if rs.Spec.Mode != v1.RestoreVerify || !restoreFinished(rs.Status.Phase) || rs.Status.Verification == nil ||
			rs.Status.CompletionTime == nil || rs.CreationTimestamp.Before(&b.CreationTimestamp) || rs.Spec.RestoreUntil != "" {
			// (A drill older than b drilled an earlier Backup of the name; one up to a point
			// restored only part of b's chain.)
			continue
		}
		if v == nil || rs.Status.CompletionTime.After(v.Time.Time) {
			v = &v1.BackupVerification{Restore: rs.Name, Database: rs.Spec.Database, Time: *rs.Status.CompletionTime,
				Consistent: rs.Status.Phase == v1.RestoreSucceeded && rs.Status.Verification.Consistent}
		}
	}
	return v, nil
}

// start plans the backup and creates its Job. What blocks it (no ready server, no isolated zone,
// no claim, a call the API server refuses) keeps it Pending with the reason, until StartTimeout.
func (r *BackupReconciler) start(ctx context.Context, b *v1.Backup, now time.Time) (ctrl.Result, error) {
	budget, ferr := b.Spec.Memory.Budget(field.NewPath("spec", "memory"))
	if ferr == nil {
		if _, verr := neo4j.ParseVersion(b.Spec.Cluster.Neo4jVersion); verr != nil {
			ferr = field.Invalid(field.NewPath("spec", "cluster", "neo4jVersion"), b.Spec.Cluster.Neo4jVersion, verr.Error())
		}
	}
	if ferr != nil {
		r.fail(b, now, v1.ReasonInvalidSpec, ferr.Error())
		return ctrl.Result{}, nil
	}
	res, err := r.launch(ctx, b, budget, now)
	if err != nil && !stale(err) {
		// A refused call (RBAC, a quota, an admission webhook) is a reason to wait like the
		// others: shown on the Backup, and bounded, so that it cannot hold a Forbid schedule.
		reason, msg := refused(err)
		log.FromContext(ctx).Error(err, "starting the backup", "reason", reason)
		return r.wait(b, now, reason, msg), nil
	}
	return res, err
}

// launch reads what the start needs, decides, prepares the claim and creates the Job.
func (r *BackupReconciler) launch(ctx context.Context, b *v1.Backup, budget v1.MemoryBudget, now time.Time) (ctrl.Result, error) {
	if o, err := r.sharedWith(ctx, b); err != nil {
		return ctrl.Result{}, err
	} else if o != nil {
		r.fail(b, now, v1.ReasonLocationShared, fmt.Sprintf("the bucket folder %s holds the backups of Backup %s/%s: one namespace's backups to a folder; give this one its own storage.path (the default, <namespace>/<cluster>, is)",
			location.Of(b), o.Namespace, o.Name))
		return ctrl.Result{}, nil
	}
	if h, err := r.writer(ctx, b); err != nil {
		return ctrl.Result{}, err
	} else if h != nil {
		// However long it runs: a start timeout would fail every backup queued behind a long one.
		b.Status.Phase = v1.BackupPending
		status.Set(&b.Status.Conditions, b.Generation, status.Progressing, v1.ReasonLocationBusy, busy(b, h), metav1.NewTime(now))
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	}
	w, err := r.look(ctx, b)
	if err != nil {
		return ctrl.Result{}, err
	}
	d := decideStart(b, budget, w)
	if d.placement != nil {
		b.Status.Placement = d.placement
	}
	switch {
	case d.refusal != nil && d.refusal.Reason == v1.ReasonClaimDeleting:
		// Waiting cannot help: the claim and what is written on it are going.
		r.fail(b, now, d.refusal.Reason, d.refusal.Message)
		return ctrl.Result{}, nil
	case d.refusal != nil:
		return r.wait(b, now, d.refusal.Reason, d.refusal.Message), nil
	}
	if err := r.prepareClaim(ctx, b, w, d.claim); err != nil {
		return ctrl.Result{}, err
	}
	job, err := resources.BackupJob(b, *d.plan, r.Options)
	if err != nil {
		r.fail(b, now, v1.ReasonInvalidSpec, err.Error())
		return ctrl.Result{}, nil
	}
	// Look, then create, then adopt: one Job per Backup, whoever created it.
	if _, ours, err := createOrAdopt(ctx, r.Client, r.Reader, job, b); err != nil {
		return ctrl.Result{}, err
	} else if !ours {
		r.fail(b, now, v1.ReasonJobConflict, fmt.Sprintf("a Job named %s exists and does not belong to this Backup", job.Name))
		return ctrl.Result{}, nil
	}
	// No event of its own for the Job: the transition to Pending records one with this message
	// (one write fewer per backup; a thousand schedules fire together).
	b.Status.JobName = job.Name
	b.Status.Phase = v1.BackupPending
	b.Status.Storage = &d.plan.Location
	where := "in zone " + d.plan.StorageZone
	if d.plan.Location.InBucket() {
		where = "to " + d.plan.Location.String()
	}
	status.Set(&b.Status.Conditions, b.Generation, status.Progressing, v1.ReasonPending,
		fmt.Sprintf("created Job %s %s, members in order: %s; waiting for its pod to start", job.Name, where, memberNames(d.plan.Members)),
		metav1.NewTime(now))
	return ctrl.Result{}, nil
}

// holder is what holds a location against a Backup: another Backup (location.Writer), or a pod
// that still writes there.
type holder struct{ name, what string }

// writer is what holds b's storage location. The Backups are asked of the cache first and, when
// it shows none, of the API server, so that a status written a moment ago (a backup that just
// started) is not missed: the decision to write rests on what the API server holds. Then the
// pods: one whose Backup was deleted while it ran (Replace, by hand) writes until it is gone.
func (r *BackupReconciler) writer(ctx context.Context, b *v1.Backup) (*holder, error) {
	loc := location.Of(b)
	for _, reader := range []client.Reader{r.Client, r.Reader} {
		list := &v1.BackupList{}
		if err := reader.List(ctx, list, client.InNamespace(b.Namespace)); err != nil {
			return nil, failed(reasonFailedList, fmt.Errorf("listing the Backups of the location: %w", err))
		}
		if w := location.Writer(b, list.Items); w != nil {
			return &holder{name: "Backup " + w.Name, what: location.What(w)}, nil
		}
	}
	// The Jobs and pods of the location: a prune's (from its Job's creation, before its pod
	// exists) and a backup's whose Backup was deleted while it ran. A prune waits for backups
	// only: prunes of one location may run together, each deleting its own Backup's files. For a
	// bucket folder, those of every namespace (sharedWith refuses a folder two namespaces use,
	// but a pod may outlive its Backup).
	sel := client.MatchingLabels{resources.LabelLocation: resources.LocationLabel(loc)}
	writes := func(o metav1.Object) bool {
		labels := o.GetLabels()
		role := labels[resources.LabelComponent]
		own := o.GetNamespace() == b.Namespace && labels[resources.LabelBackup] == resources.LabelValue(b.Name)
		return !own && // b's own is no reason to wait
			(role == resources.RoleBackup || (role == resources.RolePrune && b.DeletionTimestamp == nil))
	}
	var role string
	name, err := locationJob(ctx, r.Client, b.Namespace, loc, func(j *batchv1.Job) bool {
		role = j.Labels[resources.LabelComponent]
		return j.DeletionTimestamp == nil && writes(j)
	})
	if err != nil {
		return nil, err
	} else if name != "" {
		return &holder{name: "Job " + name, what: "its " + role + " runs"}, nil
	}
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, append(scope(loc, b.Namespace), sel)...); err != nil {
		return nil, failed(reasonFailedList, fmt.Errorf("listing the pods of the location: %w", err))
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && writes(p) {
			name := p.Name
			if p.Namespace != b.Namespace {
				name = p.Namespace + "/" + name // a bucket folder's writer elsewhere
			}
			return &holder{name: "pod " + name, what: "a " + p.Labels[resources.LabelComponent] + " pod still runs there"}, nil
		}
	}
	return nil, nil
}

// sharedWith is a Backup of another namespace that writes, or wrote, b's bucket folder, or nil:
// the folder is no namespace's, but a chain is: retention, deletion and restores read the
// Backups of one namespace, so a DIFF of one namespace's on another's FULL would lose its
// chain when the other's retention deletes it. Asked of the cache, which holds every namespace
// the operator watches.
func (r *BackupReconciler) sharedWith(ctx context.Context, b *v1.Backup) (*v1.Backup, error) {
	loc := location.Of(b)
	if !loc.InBucket() {
		return nil, nil
	}
	list := &v1.BackupList{}
	if err := r.Client.List(ctx, list); err != nil {
		return nil, failed(reasonFailedList, fmt.Errorf("listing the Backups of the bucket folder: %w", err))
	}
	for i := range list.Items {
		o := &list.Items[i]
		if o.Namespace == b.Namespace || location.Of(o) != loc {
			continue
		}
		switch {
		case o.Status.JobName != "":
			return o, nil // it wrote there, or writes
		case !o.Status.Phase.Finished() && o.DeletionTimestamp == nil && o.CreationTimestamp.Before(&b.CreationTimestamp):
			return o, nil // it will, first
		}
		// One that ended without writing (refused, as this check refuses) holds nothing: else
		// any namespace could stop another's backups by naming its folder.
	}
	return nil, nil
}

// restoring is a Restore that has not finished and reads b's location: a prune waits for it, so
// that no file goes from under a restore (one that restores b itself, say, as retention expires
// it). Read past the cache.
func (r *BackupReconciler) restoring(ctx context.Context, b *v1.Backup) (*holder, error) {
	loc := location.Of(b)
	list := &v1.RestoreList{}
	if err := r.Reader.List(ctx, list, client.InNamespace(b.Namespace)); err != nil {
		return nil, failed(reasonFailedList, fmt.Errorf("listing the Restores of the location: %w", err))
	}
	if loc.InBucket() {
		// Restores of other namespaces may read the bucket folder too: those the cache holds.
		others := &v1.RestoreList{}
		if err := r.Client.List(ctx, others); err != nil {
			return nil, failed(reasonFailedList, fmt.Errorf("listing the Restores of the location: %w", err))
		}
		for _, rs := range others.Items {
			if rs.Namespace != b.Namespace {
				list.Items = append(list.Items, rs)
			}
		}
	}
	for _, rs := range list.Items {
		if rs.Status.Phase == v1.RestoreSucceeded || rs.Status.Phase == v1.RestoreFailed || rs.DeletionTimestamp != nil {
			continue
		}
		var from v1.StorageLocation
		switch src := rs.Spec.Source; {
		case src.Storage != nil:
			from = location.OfSource(src.Storage)
		case src.BackupName == b.Name && rs.Namespace == b.Namespace:
			from = loc
		case src.BackupName != "":
			o := &v1.Backup{}
			if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: src.BackupName}, o); err != nil {
				if apierrors.IsNotFound(err) {
					continue
				}
				return nil, failed(reasonFailedGet, fmt.Errorf("reading Backup %s: %w", src.BackupName, err))
			}
			from = location.Of(o)
		}
		if from == loc {
			name := rs.Name
			if rs.Namespace != b.Namespace {
				name = rs.Namespace + "/" + name // a bucket folder's reader elsewhere
			}
			return &holder{name: "Restore " + name, what: "it reads the artifacts there"}, nil
		}
	}
	return nil, nil
}

func busy(b *v1.Backup, h *holder) string {
	loc := location.Of(b)
	return fmt.Sprintf("waiting for %s, which writes to %s (%s): one backup or prune writes to a location at a time",
		h.name, loc, h.what)
}

// wait records why the Backup cannot start and retries, failing it after StartTimeout.
func (r *BackupReconciler) wait(b *v1.Backup, now time.Time, reason, msg string) ctrl.Result {
	if waited := now.Sub(b.CreationTimestamp.Time); waited >= r.StartTimeout {
		r.fail(b, now, reason, fmt.Sprintf("%s (gave up after %s)", msg, r.StartTimeout))
		return ctrl.Result{}
	}
	b.Status.Phase = v1.BackupPending
	status.Set(&b.Status.Conditions, b.Generation, status.Progressing, reason, msg, metav1.NewTime(now))
	return ctrl.Result{RequeueAfter: 15 * time.Second}
}

// backupWorld is what a Backup's start reads: the cluster's servers, the zones with a ready node
// the backup pod can run on, and the claim with the zone of its volume.
type backupWorld struct {
	servers   []topology.Server
	nodeZones []string
	claimName string
	// claim is nil when it does not exist.
	claim     *corev1.PersistentVolumeClaim
	boundZone string
}

// look reads the backupWorld past the cache: none of it is the operator's, and a decision to
// mount a claim is made on what the API server holds now.
func (r *BackupReconciler) look(ctx context.Context, b *v1.Backup) (backupWorld, error) {
	loc := resources.Location(b)
	w := backupWorld{claimName: loc.ClaimName}
	var err error
	if w.servers, err = r.sharedServers(ctx, b); err != nil {
		return w, failed(reasonFailedList, err)
	}
	if loc.InBucket() {
		// Pods reach a bucket from every zone, and there is no claim.
		return w, nil
	}
	nodes, err := r.reads.get("nodes", func() (any, error) { return r.readyNodes(ctx) })
	if err != nil {
		return w, failed(reasonFailedList, err)
	}
	w.nodeZones = topology.PodZones(nodes.([]topology.Node), b.Spec.NodeSelector, b.Spec.Tolerations)
	claim := &corev1.PersistentVolumeClaim{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: w.claimName}, claim); apierrors.IsNotFound(err) {
		return w, nil
	} else if err != nil {
		return w, failed(reasonFailedGet, fmt.Errorf("reading claim %s: %w", w.claimName, err))
	}
	w.claim = claim
	if claim.Spec.VolumeName != "" {
		zone, err := r.reads.get("pv/"+claim.Spec.VolumeName, func() (any, error) { return r.volumeZone(ctx, claim.Spec.VolumeName) })
		if err != nil {
			return w, failed(reasonFailedGet, err)
		}
		w.boundZone = zone.(string)
	}
	return w, nil
}

// claimStep is what the start does to the claim before the Job mounts it.
type claimStep int

const (
	claimAsIs claimStep = iota
	// claimCreate: it does not exist; it is made from storage.persistentVolumeClaim.template,
	// owned by nobody: the newest chain on it is never deleted with its volume.
	claimCreate
	// claimDisown: Backups own it (an earlier version made it so under deletionPolicy Delete);
	// those references are dropped.
	claimDisown
)

// backupStart is what decideStart makes of a Backup and its world.
type backupStart struct {
	// plan is nil when the start is refused.
	plan      *resources.BackupPlan
	placement *v1.Placement
	// refusal is a reason not to start (yet), not an error.
	refusal *topology.Refusal
	claim   claimStep
}

// decideStart chooses the members, the storage zone, and what to do with the claim, from the
// Backup and its world alone.
func decideStart(b *v1.Backup, budget v1.MemoryBudget, w backupWorld) backupStart {
	refuse := func(reason, format string, args ...any) backupStart {
		return backupStart{refusal: &topology.Refusal{Reason: reason, Message: fmt.Sprintf(format, args...)}}
	}
	cands := topology.Candidates(w.servers, b.Spec.Source.Policy)
	if len(cands) == 0 {
		return refuse(v1.ReasonNoSourceMember, "no ready server matches source.policy %s among %d server pod(s) selected by cluster.serverSelector", b.Spec.Source.Policy, len(w.servers))
	}
	bucket := b.Spec.Storage.ObjectStore
	var template *v1.ClaimTemplate
	if c := b.Spec.Storage.PersistentVolumeClaim; c != nil {
		template = c.Template
	}
	switch {
	case bucket != nil:
	case w.claim == nil && template == nil:
		return refuse(v1.ReasonClaimNotFound, "storage.persistentVolumeClaim.claimName %s does not exist in %s", w.claimName, b.Namespace)
	case w.claim == nil:
	case w.claim.DeletionTimestamp != nil:
		// Mounted now, it would be deleted under the backup (or the pod would wait for a
		// claim that is going): refused at once, not after the start timeout.
		return refuse(v1.ReasonClaimDeleting, "claim %s is being deleted (since %s): a backup written there would be lost with it", w.claimName, w.claim.DeletionTimestamp.UTC().Format(time.RFC3339))
	case template != nil && w.claim.Labels[resources.LabelManagedBy] != resources.ManagedBy:
		return refuse(v1.ReasonClaimConflict, "claim %s exists but was not created by the operator; name it in storage.persistentVolumeClaim.claimName to use it", w.claimName)
	}

	in := topology.ZoneInput{
		Zone: b.Spec.Storage.Zone, Servers: w.servers, SourceZone: cands[0].Zone, NodeZones: w.nodeZones, BoundZone: w.boundZone,
	}
	var placement topology.Placement
	var refusal *topology.Refusal
	switch {
	case bucket != nil && bucket.Zone == "":
		// A regional bucket keeps its objects in several zones: cross-zone by nature, whatever
		// the policy would pick.
		placement.ClusterZones, _ = topology.ClusterZones(w.servers)
		placement.CrossZone = true
	case bucket != nil:
		in.BoundZone, in.Bucket = bucket.Zone, true
		placement, refusal = topology.StorageZone(in)
	default:
		placement, refusal = topology.StorageZone(in)
	}
	d := backupStart{refusal: refusal, placement: &v1.Placement{ClusterZones: placement.ClusterZones, StorageZone: placement.StorageZone, CrossZone: placement.CrossZone}}
	loc := resources.Location(b)
	if bucket != nil {
		d.placement.Bucket, d.placement.Region = loc.URI, bucket.Region
	}
	if refusal != nil {
		return d
	}
	if placement.StorageZone != "" && b.Spec.Storage.Zone.Policy == v1.ZoneAvoidSourceZone && !b.Spec.Storage.Zone.AllowSameZone {
		// The storage zone avoids the first candidate's zone; never fall back to a member
		// that lives in the storage zone itself.
		if cands = topology.Without(cands, placement.StorageZone); len(cands) == 0 {
			d.refusal = &topology.Refusal{Reason: v1.ReasonNoSourceMember, Message: fmt.Sprintf("every ready server runs in the storage zone %s", placement.StorageZone)}
			return d
		}
	}
	switch {
	case bucket != nil:
	case w.claim == nil:
		d.claim = claimCreate
	case len(backupOwners(w.claim)) > 0:
		// Made by an earlier version under deletionPolicy Delete, owned by its Backups: the
		// garbage collector would delete it, and the chains the finalizers kept, with the last
		// of them. It is disowned; the claim outlives its Backups.
		d.claim = claimDisown
	}
	d.plan = &resources.BackupPlan{Members: cands, StorageZone: placement.StorageZone, Location: loc, Memory: budget}
	return d
}

// prepareClaim creates the claim, or disowns it, as decideStart said.
func (r *BackupReconciler) prepareClaim(ctx context.Context, b *v1.Backup, w backupWorld, step claimStep) error {
	switch step {
	case claimCreate:
		claim := resources.BackupClaim(b)
		if err := r.Client.Create(ctx, claim); err != nil && !apierrors.IsAlreadyExists(err) {
			return failed(reasonFailedCreate, fmt.Errorf("creating claim %s: %w", claim.Name, err))
		} else if err == nil {
			r.Recorder.Eventf(b, claim, corev1.EventTypeNormal, "ClaimCreated", "Create",
				"created claim %s (%s) for the backups of cluster %s", claim.Name, b.Spec.Storage.PersistentVolumeClaim.Template.Size.String(), b.Spec.Cluster.Name)
		}
	case claimDisown:
		claim := w.claim.DeepCopy()
		patch := client.MergeFromWithOptions(w.claim, client.MergeFromWithOptimisticLock{})
		var keep []metav1.OwnerReference
		for _, o := range claim.OwnerReferences {
			if !isBackupRef(o) {
				keep = append(keep, o)
			}
		}
		claim.OwnerReferences = keep
		if err := r.Client.Patch(ctx, claim, patch); apierrors.IsConflict(err) {
			return errStale
		} else if err != nil {
			return failed(reasonFailedUpdate, fmt.Errorf("dropping the Backups' owner references from claim %s: %w", claim.Name, err))
		}
		r.Recorder.Eventf(b, claim, corev1.EventTypeNormal, "ClaimDisowned", "Update",
			"claim %s is no longer deleted with its Backups: the newest chain on it outlives them", claim.Name)
	}
	return nil
}

func isBackupRef(o metav1.OwnerReference) bool {
	return o.Kind == "Backup" && o.APIVersion == v1.GroupVersion.String()
}

// backupOwners are the owner references of obj to Backups.
func backupOwners(obj metav1.Object) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, o := range obj.GetOwnerReferences() {
		if isBackupRef(o) {
			out = append(out, o)
		}
	}
	return out
}

// sharedServers is servers, read once per second per namespace and selectors however many
// Backups start at once (each gets its own copy).
func (r *BackupReconciler) sharedServers(ctx context.Context, b *v1.Backup) ([]topology.Server, error) {
	// JSON, not FormatLabelSelector: that writes "<none>" both for a missing selector (matches
	// nothing) and an empty one (matches everything).
	sel, _ := json.Marshal([]*metav1.LabelSelector{b.Spec.Cluster.ServerSelector, b.Spec.Cluster.ReadReplicaSelector})
	key := "servers/" + b.Namespace + "/" + string(sel)
	v, err := r.reads.get(key, func() (any, error) { return r.servers(ctx, b) })
	if err != nil {
		return nil, err
	}
	return append([]topology.Server(nil), v.([]topology.Server)...), nil
}

// servers reads the cluster's server pods and their nodes' zones.
func (r *BackupReconciler) servers(ctx context.Context, b *v1.Backup) ([]topology.Server, error) {
	sel, err := metav1.LabelSelectorAsSelector(b.Spec.Cluster.ServerSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.cluster.serverSelector: %w", err)
	}
	var replicas labels.Selector = labels.Nothing()
	if b.Spec.Cluster.ReadReplicaSelector != nil {
		if replicas, err = metav1.LabelSelectorAsSelector(b.Spec.Cluster.ReadReplicaSelector); err != nil {
			return nil, fmt.Errorf("spec.cluster.readReplicaSelector: %w", err)
		}
	}
	pods := &corev1.PodList{}
	if err := r.Reader.List(ctx, pods, client.InNamespace(b.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("listing server pods: %w", err)
	}
	nodes := map[string]string{}
	out := make([]topology.Server, 0, len(pods.Items))
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		s := topology.Server{Name: p.Name, Node: p.Spec.NodeName, ReadReplica: replicas.Matches(labels.Set(p.Labels)), Host: podHost(&p)}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				s.Ready = true
			}
		}
		if s.Node != "" {
			zone, ok := nodes[s.Node]
			if !ok {
				node := &corev1.Node{}
				if err := r.Reader.Get(ctx, client.ObjectKey{Name: s.Node}, node); err != nil && !apierrors.IsNotFound(err) {
					return nil, fmt.Errorf("reading node %s: %w", s.Node, err)
				}
				zone = node.Labels[corev1.LabelTopologyZone]
				nodes[s.Node] = zone
			}
			s.Zone = zone
		}
		out = append(out, s)
	}
	return out, nil
}

// podHost is how the backup pod reaches a server: its stable DNS name when it has one (a
// StatefulSet pod behind a headless Service), else its IP.
func podHost(p *corev1.Pod) string {
	if p.Spec.Hostname != "" && p.Spec.Subdomain != "" {
		return fmt.Sprintf("%s.%s.%s.svc", p.Spec.Hostname, p.Spec.Subdomain, p.Namespace)
	}
	return p.Status.PodIP
}

// readyNodes are the ready, schedulable nodes, for PodZones.
func (r *BackupReconciler) readyNodes(ctx context.Context) ([]topology.Node, error) {
	nodes := &corev1.NodeList{}
	if err := r.Reader.List(ctx, nodes); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	var out []topology.Node
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable {
			continue
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				out = append(out, topology.Node{Labels: n.Labels, Taints: n.Spec.Taints})
			}
		}
	}
	return out, nil
}

// volumeZone reads the zone of a bound volume: its zone label, else its node affinity.
func (r *BackupReconciler) volumeZone(ctx context.Context, name string) (string, error) {
	pv := &corev1.PersistentVolume{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: name}, pv); err != nil {
		return "", fmt.Errorf("reading volume %s: %w", name, err)
	}
	if z := pv.Labels[corev1.LabelTopologyZone]; z != "" {
		return z, nil
	}
	if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
		for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
			for _, e := range term.MatchExpressions {
				if e.Key == corev1.LabelTopologyZone && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
					return e.Values[0], nil
				}
			}
		}
	}
	return "", nil
}

// follow moves the Backup along with its Job (followJob) and, once the Job ended, concludes from
// its pod's report.
func (r *BackupReconciler) follow(ctx context.Context, b *v1.Backup, now time.Time) (ctrl.Result, error) {
	if b.Status.Placement == nil {
		b.Status.Placement = &v1.Placement{}
	}
	job, ended, res, err := followJob(ctx, r.Client, r.Reader, b, b.Status.JobName, "backup", runner{
		conds: &b.Status.Conditions, generation: b.Generation,
		running: b.Status.Phase == v1.BackupRunning, node: &b.Status.Placement.Node,
		run:  func() { b.Status.Phase = v1.BackupRunning },
		fail: func(reason, msg string) { r.fail(b, now, reason, msg) },
	}, r.StartTimeout, now)
	if job != nil && job.Status.StartTime != nil {
		b.Status.StartTime = job.Status.StartTime
	}
	if err != nil || ended == nil {
		return res, err
	}

	var rep result.Backup
	term, repErr := lastTermination(ctx, []client.Reader{r.Client, r.Reader}, job, resources.ContainerBackup)
	if repErr == nil {
		rep, repErr = result.Decode([]byte(term.Message))
	}
	// The Job controller's time of the end, not this pass's: a reconcile may come late.
	completed := ended.LastTransitionTime
	if completed.IsZero() {
		completed = metav1.NewTime(now)
	}
	b.Status.CompletionTime = &completed
	if repErr == nil {
		applyReport(b, rep)
	}
	budget, budgetErr := b.Spec.Memory.Budget(field.NewPath("spec", "memory"))
	switch {
	case ended.Type == batchv1.JobComplete && repErr != nil:
		r.fail(b, now, v1.ReasonInvalidReport, "the backup pod completed without a report the operator can read: "+repErr.Error())
	case ended.Type == batchv1.JobFailed && oomKilled(term) && budgetErr == nil:
		msg := budget.OOMKilled("backup")
		if repErr == nil {
			// The agent outlived the JVM the kernel killed and reported.
			msg += ". " + summary(rep)
		}
		r.fail(b, now, v1.ReasonOOMKilled, msg)
	case ended.Type == batchv1.JobFailed:
		msg := fmt.Sprintf("Job %s failed (%s: %s)", job.Name, ended.Reason, result.Clean(ended.Message, 300))
		if repErr == nil && backedUpAny(rep) {
			// The deadline or a retry limit cut the run short after some databases were
			// written: those artifacts exist and later backups chain on them.
			b.Status.Phase = v1.BackupPartiallyFailed
			status.Set(&b.Status.Conditions, b.Generation, status.Failed, v1.ReasonPartiallyFailed, msg+": "+summary(rep), metav1.NewTime(now))
			break
		}
		if repErr == nil {
			msg += ": " + summary(rep)
		}
		r.fail(b, now, v1.ReasonBackupFailed, msg)
	default:
		r.conclude(b, rep, now)
		if oomKilled(term) && budgetErr == nil && b.Status.Phase != v1.BackupSucceeded {
			// Some databases were written before the kernel killed a JVM: why the others
			// failed is the memory.
			status.Set(&b.Status.Conditions, b.Generation, status.Failed, v1.ReasonOOMKilled, budget.OOMKilled("backup")+". "+summary(rep), metav1.NewTime(now))
		}
	}
	return ctrl.Result{}, nil
}

// applyReport copies the report into status: databases, the member it was read from, sizes.
func applyReport(b *v1.Backup, rep result.Backup) {
	b.Status.Databases = nil
	var total int64
	types := map[string]bool{}
	for _, d := range rep.Databases {
		b.Status.Databases = append(b.Status.Databases, v1.DatabaseResult{
			Name: d.Name, Type: v1.BackupType(d.Type), Artifact: d.Artifact, SizeBytes: d.Size,
			LowestTx: d.LowTx, HighestTx: d.HighTx, Consistent: d.Consistent, Error: d.Error,
			ConsistencyCheck: d.Check, ConsistencyReport: d.Report,
		})
		if d.BackedUp() {
			total += d.Size
			types[d.Type] = true
			if b.Status.Placement == nil {
				b.Status.Placement = &v1.Placement{}
			}
			b.Status.Placement.SourceMember, b.Status.Placement.SourceZone = d.Member, d.Zone
		}
	}
	// Databases are keyed by name in status; a glob's failure entry may repeat a name.
	sort.SliceStable(b.Status.Databases, func(i, j int) bool { return b.Status.Databases[i].Name < b.Status.Databases[j].Name })
	dedup := b.Status.Databases[:0]
	for i, d := range b.Status.Databases {
		if i > 0 && d.Name == dedup[len(dedup)-1].Name {
			continue
		}
		dedup = append(dedup, d)
	}
	b.Status.Databases = dedup
	if m := rep.Manifest; m != nil || rep.Truncated > 0 {
		b.Status.Manifest = &v1.BackupManifest{Unlisted: int32(rep.Truncated)}
		if m != nil {
			b.Status.Manifest.File, b.Status.Manifest.Digest = m.File, m.Digest
			b.Status.Manifest.Databases, b.Status.Manifest.Full = int32(m.Databases), int32(m.Full)
		}
	}
	if m := rep.Manifest; m != nil && rep.Truncated > 0 {
		// The report lists some of the databases; the manifest sums up all of them.
		total, types = m.Bytes, map[string]bool{}
		if m.Full > 0 {
			types[string(v1.BackupFull)] = true
		}
		if m.BackedUp > m.Full {
			types[string(v1.BackupDiff)] = true
		}
	}
	if total > 0 {
		b.Status.Size = resource.NewQuantity(total, resource.BinarySI)
	}
	if sp := rep.Space; sp != nil {
		b.Status.Space = &v1.StorageSpace{Capacity: *resource.NewQuantity(sp.Capacity, resource.BinarySI), Available: *resource.NewQuantity(sp.Free, resource.BinarySI)}
	}
	switch len(types) {
	case 0:
	case 1:
		for t := range types {
			b.Status.Type = t
		}
	default:
		b.Status.Type = "MIXED"
	}
}

// conclude sets the final phase of a completed Job from its report.
func (r *BackupReconciler) conclude(b *v1.Backup, rep result.Backup, now time.Time) {
	var clean, bad []string
	for _, d := range rep.Databases {
		if d.Clean() {
			clean = append(clean, d.Name)
		} else {
			bad = append(bad, d.Name)
		}
	}
	if m := rep.Manifest; m != nil && rep.Truncated > 0 {
		// Beyond the report, the manifest's sums say how the others went.
		clean, bad = make([]string, m.Clean), make([]string, m.Databases-m.Clean)
	}
	t := metav1.NewTime(now)
	switch {
	case !backedUpAny(rep):
		// Failed means what it says: nothing was written. Any artifact, even an inconsistent
		// one, makes the Backup PartiallyFailed, so retention and pruning see it as the chain
		// member it is on disk.
		r.fail(b, now, v1.ReasonBackupFailed, summary(rep))
	case len(clean) == 0 || len(bad) > 0 || (rep.Truncated > 0 && rep.Manifest == nil):
		b.Status.Phase = v1.BackupPartiallyFailed
		status.Set(&b.Status.Conditions, b.Generation, status.Failed, v1.ReasonPartiallyFailed, summary(rep), t)
	default:
		b.Status.Phase = v1.BackupSucceeded
		status.Set(&b.Status.Conditions, b.Generation, status.Done, v1.ReasonSucceeded, summary(rep), t)
	}
}

func backedUpAny(rep result.Backup) bool {
	if rep.Manifest != nil && rep.Manifest.BackedUp > 0 {
		return true
	}
	for _, d := range rep.Databases {
		if d.BackedUp() {
			return true
		}
	}
	return false
}

// summary says in one line what the report holds; every text in it was cleaned by Decode.
func summary(rep result.Backup) string {
	var ok, failed []string
	for _, d := range rep.Databases {
		switch {
		case d.Clean():
			ok = append(ok, fmt.Sprintf("%s (%s)", d.Name, d.Type))
		case d.BackedUp():
			failed = append(failed, fmt.Sprintf("%s: %s", d.Name, d.Error))
		default:
			failed = append(failed, fmt.Sprintf("%s: %s", d.Name, d.Error))
		}
	}
	var parts []string
	if len(ok) > 0 {
		parts = append(parts, "backed up "+strings.Join(ok, ", "))
	}
	if len(failed) > 0 {
		parts = append(parts, "problems: "+strings.Join(failed, "; "))
	}
	switch m := rep.Manifest; {
	case rep.Truncated > 0 && m != nil:
		parts = append(parts, fmt.Sprintf("%d more database(s) in manifest %s (%d of %d databases clean in all)", rep.Truncated, m.File, m.Clean, m.Databases))
	case rep.Truncated > 0:
		parts = append(parts, fmt.Sprintf("%d more database(s) not in the report, and no manifest was kept; see the pod's log", rep.Truncated))
	}
	if rep.Error != "" {
		parts = append(parts, rep.Error)
	}
	return result.Clean(strings.Join(parts, "; "), 1000)
}

// fail ends the Backup as Failed with reason.
func (r *BackupReconciler) fail(b *v1.Backup, now time.Time, reason, msg string) {
	b.Status.Phase = v1.BackupFailed
	if b.Status.CompletionTime == nil {
		b.Status.CompletionTime = &metav1.Time{Time: now}
	}
	status.Set(&b.Status.Conditions, b.Generation, status.Failed, reason, msg, metav1.NewTime(now))
}

// report says, once the status is written, what the pass changed: a new phase (an event, a log
// line, and for a finished Backup its metrics) or a new Ready reason.
func (r *BackupReconciler) report(ctx context.Context, old, b *v1.Backup, fx *effects) {
	p := b.Status.Phase
	warn := p == v1.BackupFailed || p == v1.BackupPartiallyFailed || (p == v1.BackupPending && reasonOf(b) != v1.ReasonPending)
	announce(fx, r.Recorder, b, string(old.Status.Phase), string(p), old.Status.Conditions, b.Status.Conditions, warn)
	if old.Status.Phase == p {
		return
	}
	fx.later(func() {
		log.FromContext(ctx).Info("backup phase", "phase", p, "job", b.Status.JobName)
		if p.Finished() {
			r.recordMetrics(b, true)
		}
	})
}

func condition(b *v1.Backup, typ string) *metav1.Condition {
	for i := range b.Status.Conditions {
		if b.Status.Conditions[i].Type == typ {
			return &b.Status.Conditions[i]
		}
	}
	return nil
}

func reasonOf(b *v1.Backup) string {
	if c := condition(b, v1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}

// recordMetrics updates the metrics of a finished Backup; counters only on the transition.
func (r *BackupReconciler) recordMetrics(b *v1.Backup, transition bool) {
	// The schedule's own name, as its series carry it (the label may be shortened).
	ns, cluster, sched := b.Namespace, b.Spec.Cluster.Name, v1.ScheduleOf(b)
	if b.Status.CompletionTime != nil {
		for _, d := range b.Status.Databases {
			// Only a clean database is a success: an inconsistent one must not silence a
			// staleness alert.
			if d.Artifact != "" && d.Error == "" && (d.Consistent == nil || *d.Consistent) {
				metrics.RecordSuccess(ns, cluster, sched, d.Name, b.Status.CompletionTime.Time, d.SizeBytes)
			}
		}
	}
	if !transition {
		return
	}
	phase := string(b.Status.Phase)
	metrics.Backups.WithLabelValues(ns, cluster, sched, phase).Inc()
	if b.Status.StartTime != nil && b.Status.CompletionTime != nil {
		metrics.Duration.WithLabelValues(ns, cluster, sched, phase).Observe(b.Status.CompletionTime.Sub(b.Status.StartTime.Time).Seconds())
	}
	if b.Status.Phase == v1.BackupFailed {
		metrics.Failures.WithLabelValues(ns, cluster, sched, "", reasonOf(b)).Inc()
	}
	for _, d := range b.Status.Databases {
		switch {
		case d.Artifact == "":
			metrics.Failures.WithLabelValues(ns, cluster, sched, d.Name, "BackupFailed").Inc()
		case d.Consistent != nil && !*d.Consistent:
			metrics.Failures.WithLabelValues(ns, cluster, sched, d.Name, "Inconsistent").Inc()
		case d.Error != "":
			metrics.Failures.WithLabelValues(ns, cluster, sched, d.Name, "CheckFailed").Inc()
		}
	}
}

func memberNames(ms []topology.Server) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}
