package controllers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
)

// The Job mechanics the Backup and Restore controllers share: create-or-adopt, a lookup that
// does not trust a lagging cache with "gone", and the agent's termination message.

var errNoTerminated = errors.New("no terminated container found")

// createOrAdopt creates obj (a Job, a Service); when one of its name exists, it is carried on
// from if owner controls it (an earlier pass created it and lost its status write), and
// reported as foreign (false) otherwise. created tells whether this call made it.
func createOrAdopt(ctx context.Context, c client.Client, reader client.Reader, obj client.Object, owner metav1.Object) (created, ours bool, err error) {
	kind := reflect.TypeOf(obj).Elem().Name() // Job, Service
	err = c.Create(ctx, obj)
	if err == nil {
		return true, true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return false, false, failed(reasonFailedCreate, fmt.Errorf("creating %s %s: %w", kind, obj.GetName(), err))
	}
	existing := obj.DeepCopyObject().(client.Object)
	// Past the cache: an object that is not ours is not in it.
	if err := reader.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return false, false, failed(reasonFailedGet, fmt.Errorf("reading existing %s %s: %w", kind, obj.GetName(), err))
	}
	return false, metav1.IsControlledBy(existing, owner), nil
}

// outsideCache tells whether job lacks the label the manager's cache selects Jobs by
// (CachedByLabel): its labels were rewritten, and the cache will never hold it.
func outsideCache(job *batchv1.Job) bool {
	return job.Labels[resources.LabelManagedBy] != resources.ManagedBy
}

// getJob reads a Job through the cache; when the cache does not have it, the API server is
// asked before it is called gone (a Job created a moment ago may not be cached yet). found false
// with a nil error means it is gone; wait true means it exists but is not cached yet. A Job
// whose labels no longer select it into the cache is found from the live read.
func getJob(ctx context.Context, c client.Client, reader client.Reader, key client.ObjectKey, job *batchv1.Job, owner metav1.Object) (found, wait bool, err error) {
	err = c.Get(ctx, key, job)
	if err == nil {
		return true, false, nil
	}
	if !apierrors.IsNotFound(err) {
		return false, false, err
	}
	if err := reader.Get(ctx, key, job); err == nil {
		if outsideCache(job) {
			// Its labels were rewritten (a policy engine, a hand edit): the cache, which holds
			// only Jobs with our label, will never have it. Follow it from this live read
			// instead of waiting for the cache for ever, if it is still owner's: a Job of
			// someone else's that took the name is not ours to follow (ours is gone).
			return metav1.IsControlledBy(job, owner), false, nil
		}
		return false, true, nil
	} else if !apierrors.IsNotFound(err) {
		return false, false, err
	}
	return false, false, nil
}

// endOf is the Job's terminal condition, if it has one.
func endOf(job *batchv1.Job) *batchv1.JobCondition {
	var ended *batchv1.JobCondition
	for i, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			ended = &job.Status.Conditions[i]
		}
	}
	return ended
}

func jobEnded(job *batchv1.Job) bool { return endOf(job) != nil }

// lastTermination is how container ended last in the Job's pods (its termination message is
// the agent's report): the newest terminated state, read through the cache and, when the cache
// has none yet, from the API server.
func lastTermination(ctx context.Context, readers []client.Reader, job *batchv1.Job, container string) (*corev1.ContainerStateTerminated, error) {
	for _, reader := range readers {
		pods := &corev1.PodList{}
		if err := reader.List(ctx, pods, client.InNamespace(job.Namespace), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
			return nil, err
		}
		var newest *corev1.ContainerStateTerminated
		for _, p := range pods.Items {
			if !metav1.IsControlledBy(&p, job) {
				// A pod of an earlier Job of the same name (deleted, replaced) still carries
				// the job-name label: its report is not this Job's.
				continue
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == container && cs.State.Terminated != nil &&
					(newest == nil || cs.State.Terminated.FinishedAt.After(newest.FinishedAt.Time)) {
					newest = cs.State.Terminated
				}
			}
		}
		if newest != nil {
			return newest, nil
		}
	}
	return nil, errNoTerminated
}

// ranOn is the node of the Job's newest pod that was scheduled: a pod that ran and ended between
// two passes was never seen running, and its node is known only from it. "" when none was.
func ranOn(ctx context.Context, reader client.Reader, job *batchv1.Job) (string, error) {
	pods := &corev1.PodList{}
	if err := reader.List(ctx, pods, client.InNamespace(job.Namespace), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		return "", err
	}
	node := ""
	var newest metav1.Time
	for _, p := range pods.Items {
		if metav1.IsControlledBy(&p, job) && p.Spec.NodeName != "" && (node == "" || newest.Before(&p.CreationTimestamp)) {
			node, newest = p.Spec.NodeName, p.CreationTimestamp
		}
	}
	return node, nil
}

// oomKilled tells whether the kernel killed the container for memory: the kubelet's reason for
// a memory-cgroup kill. No report is left then (the agent died with the JVM).
func oomKilled(term *corev1.ContainerStateTerminated) bool {
	return term != nil && term.Reason == "OOMKilled"
}

// progress is where a Job that has not ended stands, read from its pods in the cache.
type progress struct {
	// running is a ready pod of the Job.
	running *corev1.Pod
	// waiting is, when none is ready, the newest pod that has not ended: not scheduled, not
	// started, no longer ready, or being deleted. Nil when the Job has no such pod.
	waiting *corev1.Pod
	// since is when the Job last moved: its creation, a pod's creation, or the newest change
	// of a pod's condition (no longer ready, disrupted, failed).
	since time.Time
	// undecided: nothing can be judged now. A pod succeeded and the Job has not ended yet, or
	// the Job waits out its backoff before the next try.
	undecided bool
	// lagging: the cache has not seen the pods the Job's status counts yet.
	lagging bool
}

// jobProgress reads the pods of a Job that has not ended.
func jobProgress(ctx context.Context, c client.Reader, job *batchv1.Job) (progress, error) {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(job.Namespace), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		return progress{}, fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
	}
	p := progress{since: job.CreationTimestamp.Time}
	succeeded := job.Status.Succeeded > 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !metav1.IsControlledBy(pod, job) {
			continue
		}
		if pod.CreationTimestamp.After(p.since) {
			p.since = pod.CreationTimestamp.Time
		}
		for _, c := range pod.Status.Conditions {
			if c.LastTransitionTime.After(p.since) {
				p.since = c.LastTransitionTime.Time
			}
		}
		// A pod being deleted still counts as waiting: on an unreachable node it stays so
		// until the node is back or gone, and a Job with a pod failure policy makes no
		// replacement until then.
		switch {
		case pod.Status.Phase == corev1.PodSucceeded:
			succeeded = true
		case pod.Status.Phase == corev1.PodFailed:
		case pod.DeletionTimestamp == nil && podReady(pod):
			p.running = pod
		case p.waiting == nil || pod.CreationTimestamp.After(p.waiting.CreationTimestamp.Time):
			p.waiting = pod
		}
	}
	if p.running != nil {
		p.waiting = nil
		return p, nil
	}
	p.lagging = ptr.Deref(job.Status.Ready, 0) > 0 || (p.waiting == nil && job.Status.Active > 0)
	p.undecided = succeeded || (p.waiting == nil && job.Status.Failed > 0)
	return p, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// whyNotRunning says what holds a pod back, from its conditions and container states.
func whyNotRunning(p *corev1.Pod) string {
	if p == nil {
		return "no pod of the Job exists; see the Job's events"
	}
	if p.DeletionTimestamp != nil {
		return fmt.Sprintf("pod %s on node %s is being deleted since %s", p.Name, p.Spec.NodeName, p.DeletionTimestamp.UTC().Format(time.RFC3339))
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return result.Clean(fmt.Sprintf("pod %s: %s: %s", p.Name, c.Reason, c.Message), 300)
		}
	}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil {
			return result.Clean(fmt.Sprintf("pod %s, container %s: %s: %s", p.Name, cs.Name, w.Reason, w.Message), 300)
		}
	}
	if p.Spec.NodeName == "" {
		return "pod " + p.Name + " is not scheduled yet"
	}
	return fmt.Sprintf("pod %s is %s on node %s, not ready", p.Name, p.Status.Phase, p.Spec.NodeName)
}

// nodeLoss tells what became of the node a pod ran on: lost when it is gone or not ready
// (the pod's work died with it), else a note when it is cordoned (drained), else nothing.
func nodeLoss(ctx context.Context, reader client.Reader, name string) (what string, lost bool, err error) {
	if name == "" {
		return "", false, nil
	}
	node := &corev1.Node{}
	if err := reader.Get(ctx, client.ObjectKey{Name: name}, node); apierrors.IsNotFound(err) {
		return "node " + name + " is gone", true, nil
	} else if err != nil {
		return "", false, fmt.Errorf("reading node %s: %w", name, err)
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
			return result.Clean(fmt.Sprintf("node %s is not ready since %s (%s)", name, c.LastTransitionTime.UTC().Format(time.RFC3339), c.Reason), 200), true, nil
		}
	}
	if node.Spec.Unschedulable {
		return "node " + name + " is cordoned", false, nil
	}
	return "", false, nil
}

// verdict is what a pass makes of a Job that has not ended.
type verdict struct {
	// runningOn is the node a ready pod of the Job runs on.
	runningOn string
	// restarting says, when the pod that ran stopped and no other runs yet, why and until when
	// the Job may try.
	restarting string
	// failReason and failMessage: no pod ran for the start timeout. Written to status first;
	// the pass that sees the object failed deletes the Job (dropStoppedJob).
	failReason, failMessage string
	requeue                 time.Duration
}

// judge decides on a Job that has not ended, whose object (a Backup or a Restore) saw a pod of it
// running (ran) on node. When no pod has run for startTimeout (the first never started, or the
// one that ran stopped: its node was lost, it was evicted, and the Job's next pod cannot start)
// it says why the object fails (and the pass that sees it failed deletes the Job, see
// dropStoppedJob): a pod that cannot run must not hold a
// Forbid schedule, or a Restore, for ever. Only the kubelet and the Job controller retry pods;
// the operator never starts a second one beside them.
func judge(ctx context.Context, c client.Client, reader client.Reader, job *batchv1.Job, what string, ran bool, node string, startTimeout time.Duration, now time.Time) (verdict, error) {
	p, err := jobProgress(ctx, c, job)
	switch {
	case err != nil:
		return verdict{}, err
	case p.running != nil:
		v := verdict{runningOn: p.running.Spec.NodeName}
		if outsideCache(job) {
			// Labels rewritten: no watch event says when it ends.
			v.requeue = 30 * time.Second
		}
		return v, nil
	case p.lagging:
		// The Job counts pods the cache does not show (yet, or ever, if their labels were
		// rewritten): never judged from that view, since a running backup or restore would be
		// cut off. Looked at again, less often once it has lasted.
		if now.Sub(p.since) > startTimeout {
			return verdict{requeue: 30 * time.Second}, nil
		}
		return verdict{requeue: 2 * time.Second}, nil
	case p.undecided, ran && p.waiting == nil:
		// After a pod that ran, the Job controller makes the next one once the old is gone;
		// between the two, the cache may show neither. It says when it cannot (FailedCreate
		// events), and spec.activeDeadlineSeconds bounds that.
		return verdict{requeue: 30 * time.Second}, nil
	}
	lost, isLost := "", false
	if ran {
		if lost, isLost, err = nodeLoss(ctx, reader, node); err != nil {
			return verdict{}, err
		}
	}
	why := whyNotRunning(p.waiting)
	if waited := now.Sub(p.since); waited < startTimeout {
		v := verdict{requeue: min(startTimeout-waited, 30*time.Second)}
		if ran {
			stopped := fmt.Sprintf("the %s pod stopped on node %s", what, node)
			if lost != "" {
				stopped += " (" + lost + ")"
			}
			v.restarting = fmt.Sprintf("%s; Job %s has no pod running: %s; it fails if none runs by %s",
				stopped, job.Name, why, p.since.Add(startTimeout).UTC().Format(time.RFC3339))
		}
		return v, nil
	}
	// The Job is not deleted here: the verdict is written to status first, and the pass that
	// sees the object Failed deletes it (dropStoppedJob). Deleted first, a status write that
	// conflicted would leave the next pass a Job gone for no recorded reason (JobDeleted).
	switch {
	case isLost:
		return verdict{failReason: v1.ReasonNodeLost, failMessage: fmt.Sprintf(
			"%s, where the %s pod ran, and no pod of Job %s ran for %s since (%s); the Job is deleted", lost, what, job.Name, startTimeout, why)}, nil
	case ran:
		return verdict{failReason: v1.ReasonNotStarted, failMessage: fmt.Sprintf(
			"the %s pod stopped and no pod of Job %s ran for %s since (%s); the Job is deleted", what, job.Name, startTimeout, why)}, nil
	default:
		return verdict{failReason: v1.ReasonNotStarted, failMessage: fmt.Sprintf(
			"the %s pod did not start within %s (%s); Job %s is deleted", what, startTimeout, why, job.Name)}, nil
	}
}

// deleteFinishedJob deletes the Job (and, in the background, its pods) of Backup b, whose status
// is final, if the cache still holds it and it is b's: with its UID as a precondition, so a Job
// of the same name made since is not touched.
func deleteFinishedJob(ctx context.Context, c client.Client, b *v1.Backup) error {
	job := &batchv1.Job{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Status.JobName}, job); err != nil {
		return client.IgnoreNotFound(err)
	}
	if job.DeletionTimestamp != nil || !metav1.IsControlledBy(job, b) {
		return nil
	}
	err := c.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &job.UID})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return failed(reasonFailedDelete, fmt.Errorf("deleting Job %s: %w", job.Name, err))
	}
	return nil
}

// dropStoppedJob deletes the Job of an object the start timeout failed (reason NotStarted or
// NodeLost), once that verdict is in its status: read live, only if it is owner's and has not
// ended, and with its UID as a precondition, so a Job of the same name made since is not touched.
func dropStoppedJob(ctx context.Context, c client.Client, reader client.Reader, owner client.Object, conds []metav1.Condition, jobName string) error {
	if jobName == "" || !(isReason(conds, v1.ReasonNotStarted) || isReason(conds, v1.ReasonNodeLost)) {
		return nil
	}
	job := &batchv1.Job{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: owner.GetNamespace(), Name: jobName}, job); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(job, owner) || jobEnded(job) || job.DeletionTimestamp != nil {
		return nil
	}
	err := c.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &job.UID})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting Job %s: %w", jobName, err)
	}
	return nil
}

// isReason tells whether the Ready condition has reason (a pod running again after Restarting).
func isReason(conds []metav1.Condition, reason string) bool {
	c := meta.FindStatusCondition(conds, v1.ConditionReady)
	return c != nil && c.Reason == reason
}

// reasonChanged records, once, that an object in the same phase has a new Ready reason: a
// Warning while it waits or restarts, Normal when its Job is created, its pod runs again, or a
// Restore inspects.
func reasonChanged(rec recorder.EventRecorder, obj runtime.Object, ready *metav1.Condition) {
	typ, action := corev1.EventTypeWarning, "Wait"
	switch ready.Reason {
	case v1.ReasonRunning:
		typ, action = corev1.EventTypeNormal, "Run"
	case v1.ReasonInspecting, v1.ReasonPending:
		typ = corev1.EventTypeNormal
	}
	rec.Eventf(obj, nil, typ, ready.Reason, action, "%s", ready.Message)
}

// runner is the status of an object that runs a Job (a Backup, a Restore), as followJob moves it.
type runner struct {
	conds      *[]metav1.Condition
	generation int64
	// running: its phase is Running, on node.
	running bool
	node    *string
	// run moves its phase to Running; fail ends it Failed.
	run  func()
	fail func(reason, msg string)
}

// followJob follows owner's Job name until it ends, moving r along: Failed (JobDeleted) when the
// Job is gone or being deleted before it ended; while it runs, Running on the node of a ready
// pod, Restarting when the pod that ran stopped, Failed when none runs for startTimeout (judge).
// It returns the Job and its terminal condition once it ended (nil before, with res saying
// when to look again); the object's controller reads the report.
func followJob(ctx context.Context, c client.Client, reader client.Reader, owner metav1.Object, name, what string,
	r runner, startTimeout time.Duration, now time.Time) (job *batchv1.Job, ended *batchv1.JobCondition, res ctrl.Result, err error) {
	job = &batchv1.Job{}
	found, wait, err := getJob(ctx, c, reader, client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}, job, owner)
	switch {
	case err != nil:
		return nil, nil, ctrl.Result{}, failed(reasonFailedGet, fmt.Errorf("reading Job %s: %w", name, err))
	case wait:
		return nil, nil, ctrl.Result{RequeueAfter: conflictRetry}, nil
	case !found:
		r.fail(v1.ReasonJobDeleted, fmt.Sprintf("Job %s was deleted before it finished", name))
		return nil, nil, ctrl.Result{}, nil
	}
	if ended = endOf(job); ended != nil {
		if *r.node == "" {
			// Never seen running: it ran and ended between two passes.
			if *r.node, err = ranOn(ctx, c, job); err != nil {
				return nil, nil, ctrl.Result{}, failed(reasonFailedList, fmt.Errorf("listing the pods of Job %s: %w", job.Name, err))
			}
		}
		return job, ended, ctrl.Result{}, nil
	}
	if job.DeletionTimestamp != nil {
		r.fail(v1.ReasonJobDeleted, fmt.Sprintf("Job %s was deleted before it finished", job.Name))
		return job, nil, ctrl.Result{}, nil
	}
	v, err := judge(ctx, c, reader, job, what, r.running, *r.node, startTimeout, now)
	if err != nil {
		return nil, nil, ctrl.Result{}, err
	}
	t := metav1.NewTime(now)
	switch {
	case v.failReason != "":
		r.fail(v.failReason, v.failMessage)
	case v.runningOn != "" && (!r.running || *r.node != v.runningOn || !isReason(*r.conds, v1.ReasonRunning)):
		r.run()
		*r.node = v.runningOn
		status.Set(r.conds, r.generation, status.Progressing, v1.ReasonRunning, fmt.Sprintf("Job %s is running on node %s", job.Name, v.runningOn), t)
	case v.restarting != "":
		status.Set(r.conds, r.generation, status.Progressing, v1.ReasonRestarting, v.restarting, t)
	case refusedBefore(*r.conds):
		// The pass got through again after a refused call: say what the object waits for.
		status.Set(r.conds, r.generation, status.Progressing, v1.ReasonPending, fmt.Sprintf("Job %s has no pod running yet", job.Name), t)
	}
	return job, nil, ctrl.Result{RequeueAfter: v.requeue}, nil
}

// scope is where the cache lists the objects that use loc: a claim's namespace; for a bucket
// folder, which is no namespace's, every namespace the cache holds (the operator's reach). Not
// for the API server, where permissions may stop at the namespace (watchNamespaces' Roles).
func scope(loc v1.StorageLocation, namespace string) []client.ListOption {
	if loc.InBucket() {
		return nil
	}
	return []client.ListOption{client.InNamespace(namespace)}
}

// locationJob is the first Job of the storage location loc (its LabelLocation) that has not
// ended and that counts, or "": what writes there, for the one-writer rule.
func locationJob(ctx context.Context, c client.Reader, namespace string, loc v1.StorageLocation, counts func(*batchv1.Job) bool) (string, error) {
	jobs := &batchv1.JobList{}
	if err := c.List(ctx, jobs, append(scope(loc, namespace), client.MatchingLabels{resources.LabelLocation: resources.LocationLabel(loc)})...); err != nil {
		return "", failed(reasonFailedList, fmt.Errorf("listing the Jobs of the location: %w", err))
	}
	for i := range jobs.Items {
		if j := &jobs.Items[i]; !jobEnded(j) && counts(j) {
			if j.Namespace != namespace {
				return j.Namespace + "/" + j.Name, nil // a bucket folder's writer elsewhere
			}
			return j.Name, nil
		}
	}
	return "", nil
}
