// Package controllers holds one reconciler per kind of backup.graphkeeper.dev: read, decide
// (through the pure packages under internal/), write, report.
package controllers

import "time"

// conflictRetry is how soon a reconcile whose status write lost a race looks again. A fixed short
// delay, not the rate limiter's growing backoff: the newer object is already there to be read.
const conflictRetry = 250 * time.Millisecond
