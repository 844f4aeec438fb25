package controllers

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
		return false, false, fmt.Errorf("creating %s %s: %w", kind, obj.GetName(), err)
	}
	existing := obj.DeepCopyObject().(client.Object)
	// Past the cache: an object that is not ours is not in it.
	if err := reader.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return false, false, fmt.Errorf("reading existing %s %s: %w", kind, obj.GetName(), err)
	}
	return false, metav1.IsControlledBy(existing, owner), nil
}

// getJob reads a Job through the cache; when the cache does not have it, the API server is
// asked before it is called gone (a Job created a moment ago may not be cached yet). found false
// with a nil error means it is gone; wait true means it exists but is not cached yet.
func getJob(ctx context.Context, c client.Client, reader client.Reader, key client.ObjectKey, job *batchv1.Job) (found, wait bool, err error) {
	err = c.Get(ctx, key, job)
	if err == nil {
		return true, false, nil
	}
	if !apierrors.IsNotFound(err) {
		return false, false, err
	}
	if err := reader.Get(ctx, key, job); err == nil {
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

// terminationMessage is what container wrote last in the Job's pods: the newest terminated
// state, read through the cache and, when the cache has none yet, from the API server.
func terminationMessage(ctx context.Context, readers []client.Reader, job *batchv1.Job, container string) ([]byte, error) {
	for _, reader := range readers {
		pods := &corev1.PodList{}
		if err := reader.List(ctx, pods, client.InNamespace(job.Namespace), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
			return nil, err
		}
		var newest *corev1.ContainerStateTerminated
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == container && cs.State.Terminated != nil &&
					(newest == nil || cs.State.Terminated.FinishedAt.After(newest.FinishedAt.Time)) {
					newest = cs.State.Terminated
				}
			}
		}
		if newest != nil {
			return []byte(newest.Message), nil
		}
	}
	return nil, errNoTerminated
}
