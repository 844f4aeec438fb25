// Package location models a storage location: a claim and a path in it, and who writes there.
// A location takes one writer at a time: neo4j-admin links a DIFF to the newest artifact it
// finds in the folder, so two backups written into one folder at once fork the chain, and the
// agent, which finds a run's artifacts by what appeared in the folder, could record another's
// file as its own. Pure: it reads the Backups it is given.
package location

import (
	"sort"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
)

// Of is where b writes: status.storage once it started, else where it will (the bucket folder,
// or the claim it names or the cluster's template claim, and its path).
func Of(b *v1.Backup) v1.StorageLocation {
	if b.Status.Storage != nil {
		return *b.Status.Storage
	}
	return resources.Location(b)
}

// OfSource is the location a Restore's source.storage names, as a Backup would record it (a
// bucket folder's URI without its trailing '/').
func OfSource(s *v1.StorageLocationSpec) v1.StorageLocation {
	if s.ObjectStore != nil {
		return resources.BucketLocation(s.ObjectStore, s.Path)
	}
	return v1.StorageLocation{ClaimName: s.ClaimName, Path: s.Path}
}

// Key names b's location in a lock: its namespace and location; a bucket folder is no
// namespace's, so there the store and location alone.
func Key(b *v1.Backup) string {
	loc := Of(b)
	if loc.InBucket() {
		return "bucket " + loc.Endpoint + " " + loc.String()
	}
	return b.Namespace + "/" + loc.String()
}

// Writer is the Backup whose backup holds b's location, so that b waits, or nil when b may go.
// A backup that runs holds it; one that has not started yet holds it against a newer one (the
// older goes first: the order is the same whichever of them looks). b's own prune waits only for
// running backups. Prunes hold the location by their Jobs and pods (the controller looks at
// those), not by their Backups: a Backup stuck in deletion holds nothing. The oldest holder is
// named.
func Writer(b *v1.Backup, all []v1.Backup) *v1.Backup {
	loc := Of(b)
	var holders []*v1.Backup
	for i := range all {
		o := &all[i]
		if o.UID == b.UID || Of(o) != loc {
			continue
		}
		if running(o) || (b.DeletionTimestamp == nil && waiting(o) && before(o, b)) {
			holders = append(holders, o)
		}
	}
	if len(holders) == 0 {
		return nil
	}
	sort.Slice(holders, func(i, j int) bool { return before(holders[i], holders[j]) })
	return holders[0]
}

// What holds a location, as Writer names it in a message.
func What(o *v1.Backup) string {
	switch {
	case running(o):
		return "its backup is running"
	default:
		return "it was created first and starts first"
	}
}

// running: its Job was created and it has not ended (a Job being deleted may still write).
func running(o *v1.Backup) bool { return o.Status.JobName != "" && !o.Status.Phase.Finished() }

// waiting: it has not started, nor ended, nor is it going.
func waiting(o *v1.Backup) bool {
	return o.Status.JobName == "" && !o.Status.Phase.Finished() && o.DeletionTimestamp == nil
}

// before orders Backups by creation, then name: one order every pass agrees on.
func before(a, b *v1.Backup) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}
