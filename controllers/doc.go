// Package controllers holds one reconciler per kind of backup.graphkeeper.dev: read, decide
// (through the pure packages under internal/), write, report.
//
// Leader election (--leader-elect) holds a Lease; its events go out as events.k8s.io Events.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
package controllers

import "time"

// conflictRetry is how soon a reconcile whose status write lost a race looks again. A fixed short
// delay, not the rate limiter's growing backoff: the newer object is already there to be read.
const conflictRetry = 250 * time.Millisecond
