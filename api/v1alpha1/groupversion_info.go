// Package v1alpha1 holds the backup.graphkeeper.dev/v1alpha1 API: BackupSchedule, Backup and
// Restore, with their defaults, admission-time validation and the memory-budget rule.
//
// +kubebuilder:object:generate=true
// +groupName=backup.graphkeeper.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "backup.graphkeeper.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
