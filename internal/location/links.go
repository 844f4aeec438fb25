package location

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// Link is one link of a database's chains in a location, as the Backups there record it: the
// one view of "what is stored here" the finalizer, the restore and the schedule read, each
// through its own rules (retention, chain).
type Link struct {
	// Backup holds it: the one that wrote it, or (Inherited) the one it was handed to.
	Backup string `json:"-"`
	// File is the artifact; under a ManifestsKey, the manifest, and Digest its.
	File   string `json:"file"`
	Digest string `json:"digest,omitempty"`
	// Time it was taken: its Backup's completion.
	Time time.Time `json:"time"`
	// Full starts a chain; Clean: backed up without error and not found inconsistent.
	Full  bool `json:"full,omitempty"`
	Clean bool `json:"clean,omitempty"`
	// LowTx..HighTx, when known (a Backup's own record; inherited links from this version on).
	LowTx  int64 `json:"lowTx,omitempty"`
	HighTx int64 `json:"highTx,omitempty"`
	// Zone is the storage zone its Backup wrote in.
	Zone string `json:"-"`
	// Inherited: a link of an earlier Backup, deleted while a later one still needed it.
	Inherited bool `json:"-"`
	// Possible: a Backup whose report left databases out (status.manifest) and which does not
	// list this one may hold it, as a later DIFF for all anyone knows. It never ends a chain.
	Possible bool `json:"-"`
}

// ID names l among the links of its database: its Backup's name, or for an inherited link its
// file (a Backup may hold several).
func (l Link) ID() string {
	if l.Inherited {
		return "inherited " + l.File
	}
	return l.Backup
}

// ManifestsKey stands, among the databases of a location, for those of a request (a Backup's
// spec.databases) that only manifests list (Backups whose reports were cut): their chains are
// read from the Backups as wholes. A database name cannot start with '.'.
func ManifestsKey(request []string) string { return manifestsPrefix + strings.Join(request, ",") }

const manifestsPrefix = ".manifest:"

// ManifestsRequest is the request a ManifestsKey stands for.
func ManifestsRequest(key string) ([]string, bool) {
	r, ok := strings.CutPrefix(key, manifestsPrefix)
	if !ok {
		return nil, false
	}
	if r == "" {
		return []string{}, true
	}
	return strings.Split(r, ","), true
}

// InheritedAnnotation on a Backup lists, per database, the links of its chain it holds for
// Backups deleted while it still needed them (a JSON map of database to Links): they are its to
// keep or prune, by the same rules as its own.
const InheritedAnnotation = "backup.graphkeeper.dev/inherited-artifacts"

// Inherited reads b's InheritedAnnotation; an unreadable one reads as nothing (its files are then
// kept: never deleted on a guess).
func Inherited(b *v1.Backup) map[string][]Link {
	out := map[string][]Link{}
	if v := b.Annotations[InheritedAnnotation]; v != "" {
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return map[string][]Link{}
		}
	}
	zone := ""
	if b.Status.Placement != nil {
		zone = b.Status.Placement.StorageZone
	}
	for db := range out {
		for i := range out[db] {
			out[db][i].Backup, out[db][i].Inherited, out[db][i].Zone = b.Name, true, zone
		}
	}
	return out
}

// Links are the links of database db in loc that the Backups record: each Backup's own record of
// db, the links each inherited for it, and a Possible link for each Backup whose report left
// databases out and does not list db. Backups being deleted count only when they are self (the
// one a finalizer decides for). For a ManifestsKey they are every Backup there as one link
// (BackupLink).
func Links(backups []v1.Backup, loc v1.StorageLocation, db string, self *v1.Backup) []Link {
	var out []Link
	for i := range backups {
		o := &backups[i]
		if o.Status.Storage == nil || *o.Status.Storage != loc || (o.DeletionTimestamp != nil && (self == nil || o.UID != self.UID)) {
			continue
		}
		out = append(out, Inherited(o)[db]...)
		if request, ok := ManifestsRequest(db); ok {
			if l, ok := BackupLink(request, o); ok {
				out = append(out, l)
			}
			continue
		}
		listed := false
		for _, d := range o.Status.Databases {
			if d.Name == db && d.Artifact != "" {
				out = append(out, ArtifactLink(o, d))
				listed = true
			}
		}
		if m := o.Status.Manifest; !listed && m.Truncated() && restorable(o) {
			l := BackupLinkOf(o)
			l.Full, l.Possible = false, true
			out = append(out, l)
		}
	}
	return out
}

// ArtifactLink is database d of Backup o as a link of its chain.
func ArtifactLink(o *v1.Backup, d v1.DatabaseResult) Link {
	l := BackupLinkOf(o)
	// Every artifact on disk is a link of its chain, consistent or not.
	l.File, l.Digest, l.Full, l.LowTx, l.HighTx = d.Artifact, "", d.Type == v1.BackupFull, d.LowestTx, d.HighestTx
	l.Clean = d.Error == "" && (d.Consistent == nil || *d.Consistent)
	return l
}

// BackupLinkOf is Backup o as one link of a chain for all its databases: FULL when it started a
// chain for every one of them, clean when every one was.
func BackupLinkOf(o *v1.Backup) Link {
	l := Link{Backup: o.Name, Time: o.CreationTimestamp.Time, Full: StartsChain(o), Clean: o.Status.Phase == v1.BackupSucceeded}
	if o.Status.CompletionTime != nil {
		l.Time = o.Status.CompletionTime.Time
	}
	if o.Status.Placement != nil {
		l.Zone = o.Status.Placement.StorageZone
	}
	if m := o.Status.Manifest; m != nil {
		l.File, l.Digest = m.File, m.Digest
	}
	return l
}

// BackupLink is o as a link of the chains of request's databases that only manifests list, or
// false when o holds no artifact. A FULL ends those chains only when it was asked for the same
// databases (the same glob matches the same databases); any other backup there may hold some of
// them, so it counts as a later DIFF of theirs.
func BackupLink(request []string, o *v1.Backup) (Link, bool) {
	if !restorable(o) {
		return Link{}, false
	}
	l := BackupLinkOf(o)
	l.Full = l.Full && slices.Equal(o.Spec.Databases, request)
	return l, true
}

// restorable: o finished and wrote something.
func restorable(o *v1.Backup) bool {
	return o.Status.Phase == v1.BackupSucceeded || o.Status.Phase == v1.BackupPartiallyFailed
}

// StartsChain reports whether a finished Backup wrote a FULL for every database it was asked
// for: only then does it start a new chain for all of them. A FULL with one database failed
// leaves that database's chain running through the older backups.
func StartsChain(b *v1.Backup) bool {
	if !restorable(b) || len(b.Status.Databases) == 0 {
		return false
	}
	if m := b.Status.Manifest; m.Truncated() && (m.File == "" || m.Full != m.Databases) {
		// Some databases are not listed: the manifest's sums say whether they were FULL too.
		return false
	}
	for _, d := range b.Status.Databases {
		if d.Artifact == "" || d.Type != v1.BackupFull {
			return false
		}
	}
	return true
}

// ChainExists tells whether a new backup of these Backups' request has a chain to extend: the
// newest finished one that took (or tried) a FULL wrote one. A failed FULL, or no FULL at all
// (the first backup, or its Backup deleted), means the next backup is a FULL. backups are
// oldest first.
func ChainExists(backups []v1.Backup) bool {
	exists := false
	for i := range backups {
		b := &backups[i]
		if !b.Status.Phase.Finished() {
			continue
		}
		switch {
		case b.Spec.Type == v1.BackupFull:
			// A FULL that did not write every database leaves some without a chain.
			exists = StartsChain(b)
		case StartsChain(b):
			exists = true
		}
	}
	return exists
}
