package controllers

import (
	"github.com/graphkeeper/neo4j-backup-operator/internal/status"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
)

// Config is what the controllers take from the operator's flags (and the tests' clock).
type Config struct {
	Clock        clock.PassiveClock
	Options      resources.Options
	StartTimeout time.Duration
}

// CachedByLabel limits the manager's cache of Jobs, pods and claims to the operator's own, so
// its memory does not grow with the cluster's other workloads. The Neo4j server pods, nodes and
// volumes are read past the cache, once per Backup.
func CachedByLabel() map[client.Object]cache.ByObject {
	ours := labels.SelectorFromSet(labels.Set{resources.LabelManagedBy: resources.ManagedBy})
	return map[client.Object]cache.ByObject{
		&batchv1.Job{}:                  {Label: ours},
		&corev1.Pod{}:                   {Label: ours},
		&corev1.PersistentVolumeClaim{}: {Label: ours},
	}
}

// Setup registers every controller with mgr: the one wiring main.go and the envtest suite share.
func Setup(mgr ctrl.Manager, cfg Config) error {
	recorder := status.Clipping(mgr.GetEventRecorder("neo4j-backup-operator"))
	if err := (&BackupReconciler{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Recorder: recorder,
		Clock: cfg.Clock, Options: cfg.Options, StartTimeout: cfg.StartTimeout,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&BackupScheduleReconciler{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Recorder: recorder, Clock: cfg.Clock,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&RestoreReconciler{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Recorder: recorder,
		Clock: cfg.Clock, Options: cfg.Options, StartTimeout: cfg.StartTimeout,
	}).SetupWithManager(mgr)
}
