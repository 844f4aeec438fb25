// Package status is the one way the controllers set conditions: Ready summarises, and the
// kstatus conditions Reconciling and Stalled tell Argo CD, Flux and kubectl wait what the
// object is doing. Every condition carries the generation it describes.
package status

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// kstatus's abnormal-true conditions.
const (
	// ConditionReconciling is True while the object is on its way (kstatus: InProgress).
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when it ended badly or cannot go on (kstatus: Failed).
	ConditionStalled = "Stalled"
)

// State is the summary a reconcile computed.
type State int

const (
	// Progressing: not there yet (Pending, Running, waiting for something).
	Progressing State = iota
	// Done: where the user wants it.
	Done
	// Failed: ended badly, or cannot proceed until the spec changes.
	Failed
)

// Set records state with reason and message on conds, for generation. Times are truncated to
// seconds (metav1.Time's precision) and only change when a status does.
func Set(conds *[]metav1.Condition, generation int64, state State, reason, message string, now metav1.Time) {
	set := func(typ string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(conds, metav1.Condition{
			Type: typ, Status: s, Reason: reason, Message: result.Clean(msg, MaxConditionMessage),
			ObservedGeneration: generation, LastTransitionTime: now,
		})
	}
	switch state {
	case Done:
		set(v1.ConditionReady, metav1.ConditionTrue, reason, message)
		set(ConditionReconciling, metav1.ConditionFalse, reason, "")
		set(ConditionStalled, metav1.ConditionFalse, reason, "")
	case Failed:
		set(v1.ConditionReady, metav1.ConditionFalse, reason, message)
		set(ConditionReconciling, metav1.ConditionFalse, reason, "")
		set(ConditionStalled, metav1.ConditionTrue, reason, message)
	default:
		set(v1.ConditionReady, metav1.ConditionFalse, reason, message)
		set(ConditionReconciling, metav1.ConditionTrue, reason, message)
		set(ConditionStalled, metav1.ConditionFalse, reason, "")
	}
}

// SetCondition sets one explanatory condition (not Ready, Reconciling or Stalled) for generation.
func SetCondition(conds *[]metav1.Condition, generation int64, typ string, ok bool, reason, message string, now metav1.Time) {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	SetConditionStatus(conds, generation, typ, s, reason, message, now)
}

// SetConditionStatus is SetCondition for a condition that may also be Unknown.
func SetConditionStatus(conds *[]metav1.Condition, generation int64, typ string, s metav1.ConditionStatus, reason, message string, now metav1.Time) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: result.Clean(message, MaxConditionMessage),
		ObservedGeneration: generation, LastTransitionTime: now,
	})
}
