// Package resources builds the objects the operator creates (Jobs, claims) from the object
// that asks for them and the decisions already made. Pure: no client, no clock, no I/O; the
// same inputs give the same object, which is what makes names and adoption safe.
package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// Labels every child carries. The manager caches Jobs, Pods and claims only with ManagedBy, so
// its memory does not grow with unrelated workloads.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"

	// ManagedBy is the value of LabelManagedBy on everything the operator creates.
	ManagedBy = "neo4j-backup-operator"

	// LabelBackup names the Backup a Job or pod belongs to.
	LabelBackup = "backup.graphkeeper.dev/backup"
	// LabelCluster names the Neo4j cluster (spec.cluster.name).
	LabelCluster = "backup.graphkeeper.dev/cluster"
	// LabelLocation on a backup or prune Job and its pods names the storage location it writes
	// to (LocationLabel): a pod that still writes there is found even when its Backup is gone.
	LabelLocation = "backup.graphkeeper.dev/location"
)

// LocationLabel is the LabelLocation value of a storage location (a claim or a bucket folder, and
// a path in it): a hash, since a path does not fit a label value. A claim's value is what it was
// before buckets came, so the Jobs of a running operator's predecessor still count; a bucket's
// URI holds "://", which no claim name does, so the two never meet.
func LocationLabel(loc v1.StorageLocation) string {
	store := loc.ClaimName
	if loc.URI != "" {
		store = loc.URI
		if loc.Endpoint != "" {
			store = loc.Endpoint + " " + loc.URI // the same names in another store
		}
	}
	sum := sha256.Sum256([]byte(store + "\x00" + loc.Path))
	return hex.EncodeToString(sum[:])[:20]
}

// labels is the full set for a child of component ("backup", "storage") belonging to instance.
func labels(component, instance, cluster string) map[string]string {
	return map[string]string{
		LabelName:      "neo4j-backup",
		LabelInstance:  LabelValue(instance),
		LabelComponent: component,
		LabelPartOf:    LabelValue(cluster),
		LabelManagedBy: ManagedBy,
		LabelCluster:   LabelValue(cluster),
	}
}

// unowned is lbls for an object the operator creates without an owner (the backup claim, a prune
// Job and its pod): without app.kubernetes.io/instance, which Argo CD's label tracking reads as
// "part of the Application of that name" and may prune; LabelCluster and LabelBackup name what
// it belongs to instead.
func unowned(lbls map[string]string) map[string]string {
	delete(lbls, LabelInstance)
	return lbls
}

// LabelValue fits s into a label value (63 characters): long names keep a readable prefix and a
// hash of the whole, so two long names never share a value.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	return shorten(s, validation.LabelValueMaxLength)
}

// shorten cuts s to max characters as prefix-hash, ending on an alphanumeric.
func shorten(s string, max int) string { return shortenAs(s, s, max) }

// shortenAs is shorten with the hash taken of whole, the name s was derived from: two names
// that s is the same for (a.b and a-b, with dots replaced) keep distinct results.
func shortenAs(s, whole string, max int) string {
	sum := sha256.Sum256([]byte(whole))
	h := hex.EncodeToString(sum[:])[:8]
	prefix := s
	if len(prefix) > max-len(h)-1 {
		prefix = prefix[:max-len(h)-1]
	}
	prefix = strings.TrimRight(prefix, "-_.")
	return prefix + "-" + h
}

// The roles of the operator's children: each is the child's app.kubernetes.io/component and
// the suffix of its name.
const (
	RoleBackup     = "backup"
	RolePrune      = "prune"
	RoleRestore    = "restore"
	RoleInspect    = "inspect"
	RoleSeed       = "seed"
	RoleSeedServer = "seed-server"
	RoleScratch    = "scratch"
)

// ChildName names owner's child of role "<owner>-<role>", as CloudNativePG names a cluster's
// Jobs: no two roles share a suffix, so the children of a Backup and a Restore of one name, or
// of a Backup named like another object's child ("x-inspect"), never collide. It fits a label
// value (the Job controller labels pods with the Job's name); a long owner keeps a readable
// prefix and a hash of its whole name before the role. One owner and role, one name, so a
// retried or restarted reconcile can never create a second child.
func ChildName(owner, role string) string {
	if n := owner + "-" + role; len(n) <= validation.LabelValueMaxLength {
		return n
	}
	return shorten(owner, validation.LabelValueMaxLength-len(role)-1) + "-" + role
}

// ClaimName is the claim created from a storage template for a cluster: one per cluster and
// namespace, reused by every backup so DIFFs find their chain.
func ClaimName(cluster string) string {
	const prefix = "neo4j-backups-"
	if len(prefix)+len(cluster) <= validation.DNS1123LabelMaxLength {
		return prefix + cluster
	}
	return shorten(prefix+cluster, validation.DNS1123LabelMaxLength)
}

// ScheduledBackupName is the Backup a schedule creates for a slot: the schedule's name and the
// slot's UTC minute. A retried or restarted reconcile computes the same name for the same slot,
// so a second Backup for it cannot exist (the CronJob controller names Jobs the same way).
func ScheduledBackupName(schedule string, suffix string) string {
	name := schedule + "-" + suffix
	if len(name) <= validation.DNS1123SubdomainMaxLength {
		return name
	}
	return shorten(name, validation.DNS1123SubdomainMaxLength)
}
