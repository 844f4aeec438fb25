package location

import (
	"testing"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

func TestStartsChain(t *testing.T) {
	full := func(name string) v1.DatabaseResult {
		return v1.DatabaseResult{Name: name, Type: v1.BackupFull, Artifact: name + "-2026-11-28T02-00-00.backup"}
	}
	for _, tc := range []struct {
		name  string
		phase v1.BackupPhase
		dbs   []v1.DatabaseResult
		want  bool
	}{
		{"every database FULL", v1.BackupSucceeded, []v1.DatabaseResult{full("neo4j"), full("movies")}, true},
		{"FULL but inconsistent is still a chain start", v1.BackupPartiallyFailed, []v1.DatabaseResult{full("neo4j")}, true},
		{"one database failed: its chain runs on", v1.BackupPartiallyFailed, []v1.DatabaseResult{full("neo4j"), {Name: "movies", Error: "x"}}, false},
		{"a DIFF among them", v1.BackupSucceeded, []v1.DatabaseResult{full("neo4j"), {Name: "movies", Type: v1.BackupDiff, Artifact: "m"}}, false},
		{"failed", v1.BackupFailed, nil, false},
		{"running", v1.BackupRunning, []v1.DatabaseResult{full("neo4j")}, false},
	} {
		b := &v1.Backup{Status: v1.BackupStatus{Phase: tc.phase, Databases: tc.dbs}}
		if got := StartsChain(b); got != tc.want {
			t.Errorf("%s: %t", tc.name, got)
		}
	}
	// A Backup whose report listed some databases: the manifest's sums say for the others.
	for _, tc := range []struct {
		name     string
		manifest v1.BackupManifest
		want     bool
	}{
		{"every database in the manifest FULL", v1.BackupManifest{File: "m.json", Databases: 200, Full: 200, Unlisted: 199}, true},
		{"one of them a DIFF", v1.BackupManifest{File: "m.json", Databases: 200, Full: 199, Unlisted: 199}, false},
		{"no manifest kept: unknown, so no", v1.BackupManifest{Databases: 0, Unlisted: 199}, false},
	} {
		b := &v1.Backup{Status: v1.BackupStatus{Phase: v1.BackupSucceeded, Databases: []v1.DatabaseResult{full("tenant-000")}, Manifest: &tc.manifest}}
		if got := StartsChain(b); got != tc.want {
			t.Errorf("%s: %t", tc.name, got)
		}
	}
}
