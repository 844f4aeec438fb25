package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
)

// What every reconcile pass of the three controllers shares: one status writer, the effects
// that wait for it, and the way a refused API call is shown on the object.

// effects are what a pass tells the world about the status it computed (events, counters): run
// only once that status is written, so a pass whose write conflicts and is done again reports
// nothing twice.
type effects struct{ pending []func() }

func (e *effects) later(f func()) { e.pending = append(e.pending, f) }

func (e *effects) run() {
	for _, f := range e.pending {
		f()
	}
	e.pending = nil
}

// commit is the one status writer: it writes next's status, when the pass changed it, once,
// and then runs the pass's effects. A Conflict drops them with the write (the next pass, on a
// fresh read, computes and reports them again) and looks again at once.
func commit(ctx context.Context, c client.Client, next client.Object, before, after any, fx *effects, res ctrl.Result) (ctrl.Result, error) {
	if !equality.Semantic.DeepEqual(before, after) {
		if err := c.Status().Update(ctx, next); err != nil {
			if apierrors.IsConflict(err) {
				log.FromContext(ctx).V(1).Info("status write conflicted; looking again")
				return ctrl.Result{RequeueAfter: conflictRetry}, nil
			}
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil // deleted meanwhile: nothing to report on
			}
			return ctrl.Result{}, fmt.Errorf("writing status: %w", err)
		}
	}
	fx.run()
	return res, nil
}

// announce reports, once the status is written, what a pass changed: a new phase as an event
// carrying the Ready condition's reason and message (a Warning when warn), or, in the same phase,
// a new Ready reason (Pending for another reason, Restarting, Running again).
func announce(fx *effects, rec recorder.EventRecorder, obj client.Object, oldPhase, phase string, oldConds, conds []metav1.Condition, warn bool) {
	ready := meta.FindStatusCondition(conds, v1.ConditionReady)
	if ready == nil {
		return
	}
	ready = ready.DeepCopy()
	if oldPhase != phase {
		typ := corev1.EventTypeNormal
		if warn {
			typ = corev1.EventTypeWarning
		}
		fx.later(func() { rec.Eventf(obj, nil, typ, ready.Reason, phase, "%s", ready.Message) })
		return
	}
	if old := meta.FindStatusCondition(oldConds, v1.ConditionReady); old == nil || old.Reason != ready.Reason {
		fx.later(func() { reasonChanged(rec, obj, ready) })
	}
}

// failedCall is an API call a controller made and the API server refused; reason names it in an
// event and a condition (FailedCreate, FailedDelete), as the Kubernetes controllers do.
type failedCall struct {
	reason string
	err    error
}

func (f *failedCall) Error() string { return f.err.Error() }
func (f *failedCall) Unwrap() error { return f.err }

func failed(reason string, err error) error { return &failedCall{reason: reason, err: err} }

// Reasons of the calls a pass makes, when the API server refuses them.
const (
	reasonFailedCreate = "FailedCreate"
	reasonFailedDelete = "FailedDelete"
	reasonFailedUpdate = "FailedUpdate"
	reasonFailedList   = "FailedList"
	reasonFailedGet    = "FailedGet"
	// reasonReconcileError: any other error of a pass.
	reasonReconcileError = "ReconcileError"
)

// errStale: what this pass read has changed under it; the pass is done again at once.
var errStale = errors.New("what the pass read changed under it")

// errorRetry is how soon a pass whose API call failed looks again.
const errorRetry = 10 * time.Second

// refused says how a pass's error is shown: the reason (the failed call's, else
// ReconcileError) and a message with the API server's own reason (Forbidden, a quota's words).
func refused(err error) (reason, msg string) {
	reason = reasonReconcileError
	var fc *failedCall
	if errors.As(err, &fc) {
		reason = fc.reason
	}
	return reason, fmt.Sprintf("%v (%s); retrying", err, apierrors.ReasonForError(err))
}

// showRefused puts a pass's error on the object's Ready condition (False, with the call's
// reason and the API server's words; Reconciling True), in the status the pass writes: a
// reconcile that keeps failing ("forbidden", a quota, an admission webhook) shows on the object,
// and as the Warning event announce makes of the new reason, not only in the operator's log.
// The object keeps its phase; the pass looks again in errorRetry, not in the error backoff.
func showRefused(ctx context.Context, conds *[]metav1.Condition, generation int64, now time.Time, err error) ctrl.Result {
	reason, msg := refused(err)
	log.FromContext(ctx).Error(err, "reconcile failed; shown on the object", "reason", reason)
	status.Set(conds, generation, status.Progressing, reason, msg, metav1.NewTime(now))
	return ctrl.Result{RequeueAfter: errorRetry}
}

// stale tells whether err means the pass read something that changed since (a Conflict, or
// errStale): it is done again at once, and nothing is shown.
func stale(err error) bool { return errors.Is(err, errStale) || apierrors.IsConflict(err) }

// refusedBefore tells whether the Ready reason is a refusal showRefusal wrote: the pass that
// gets through again puts back what the object is doing.
func refusedBefore(conds []metav1.Condition) bool {
	for _, r := range []string{reasonFailedCreate, reasonFailedDelete, reasonFailedUpdate, reasonFailedList, reasonFailedGet, reasonReconcileError} {
		if isReason(conds, r) {
			return true
		}
	}
	return false
}
