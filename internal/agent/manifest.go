package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// maxManifest bounds what a manifest read back may be: 64 MiB is some 250,000 databases, far
// past what one glob matches, and far below what could exhaust the pod's memory.
const maxManifest = 64 << 20

// manifestRoom is what a manifest's entry takes in the termination message, at most: a report
// that fits only without it needs no manifest, and one that needs it makes room.
const manifestRoom = 512

// keepManifest writes rep, whole, to the backup folder's manifest folder and returns how the
// termination message names it. The name carries the Backup and the run's start: a Backup
// recreated under its name never overwrites an earlier one's. Written whole or not at all
// (folder.put). Nil when it could not be written (a full volume, say): the report says so, and
// what fits in the termination message is still recorded.
func keepManifest(ctx context.Context, dir folder, backupName string, started time.Time, rep *result.Backup) *result.Manifest {
	if backupName == "" {
		backupName = "backup"
	}
	m := &result.Manifest{File: fmt.Sprintf("%s-%s.json", backupName, started.UTC().Format("20060102T150405Z"))}
	m.Summarize(*rep)
	full := *rep
	full.V, full.Manifest, full.Truncated = result.Version, nil, 0
	data, err := json.Marshal(full)
	if err == nil {
		err = dir.put(ctx, result.ManifestDir+"/"+m.File, data)
	}
	if err != nil {
		rep.Error = joinErr(rep.Error, "keeping the manifest: "+err.Error())
		return nil
	}
	sum := sha256.Sum256(data)
	m.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return m
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// writeSynced writes data to dir/name through a temporary file, synced, then renamed and the
// folder synced: a crash leaves the old file or the new one, never half of one.
func writeSynced(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; left only when something failed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readManifest reads manifest file of the backup folder dir and checks it against digest: a
// manifest that changed since its Backup recorded it is not trusted with a deletion or a restore.
func readManifest(ctx context.Context, dir folder, file, digest string) (result.Backup, error) {
	var rep result.Backup
	if !result.ValidManifestFile(file) {
		return rep, fmt.Errorf("%q is not a manifest name", file)
	}
	f, err := dir.open(ctx, result.ManifestDir+"/"+file)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if n, err := buf.ReadFrom(io.LimitReader(f, maxManifest+1)); err != nil {
		return rep, fmt.Errorf("reading manifest %s: %w", file, err)
	} else if n > maxManifest {
		return rep, fmt.Errorf("manifest %s is larger than %d bytes", file, maxManifest)
	}
	sum := sha256.Sum256(buf.Bytes())
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return rep, fmt.Errorf("manifest %s has digest %s, not the %s its Backup recorded", file, got, digest)
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("manifest %s: %w", file, err)
	}
	return rep, nil
}
