// Package result is the agent's report of a backup, written as JSON to the container's
// termination message and read back by the controller. The message comes out of a container
// that runs a third-party image, so Decode treats it as untrusted: size-capped, strict, and
// every string cleaned before it can reach a status, an event or a log line.
package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxMessage is the kubelet's limit on a termination message.
const MaxMessage = 4096

// Version of the report's shape.
const Version = 1

// Backup is the agent's report of one backup run.
type Backup struct {
	V int `json:"v"`
	// Databases has one entry per database asked for (a glob becomes the databases it matched,
	// plus an entry named after the glob when part of it failed).
	Databases []Database `json:"dbs"`
	// Error is set when the run as a whole failed before or beside the databases.
	Error string `json:"error,omitempty"`
	// Truncated counts the databases left out to fit MaxMessage.
	Truncated int `json:"truncated,omitempty"`
	// Space is the backup volume's size and free bytes after the run; nil when the agent
	// could not read them.
	Space *Space `json:"space,omitempty"`
	// Manifest is the whole report, kept on the volume beside the artifacts: a termination
	// message holds 4 KiB, about 20 databases, and a glob may match hundreds. Nil when it could
	// not be written.
	Manifest *Manifest `json:"manifest,omitempty"`
}

// Manifest names the agent's whole report of a run on the backup volume, and sums it up, so
// that what the termination message leaves out is still known in outline (for the phase, and
// for whether the run started a chain) and found in full where the artifacts are.
type Manifest struct {
	// File is its name in the backup folder's ManifestDir.
	File string `json:"file"`
	// Digest is "sha256:" and the hex SHA-256 of its bytes: what reads it back checks it.
	Digest string `json:"digest"`
	// Databases counts its entries; BackedUp those that wrote an artifact, Full those that
	// wrote a FULL, Clean those that are Clean.
	Databases int `json:"dbs"`
	BackedUp  int `json:"backedUp"`
	Full      int `json:"full"`
	Clean     int `json:"clean"`
	// Bytes is the artifacts' total size.
	Bytes int64 `json:"bytes,omitempty"`
}

// ManifestDir is the folder, inside a backup folder, that keeps the agent's manifests. A
// database name cannot start with '.', so 4.4's per-database folders never collide with it.
const ManifestDir = ".manifests"

// Summarize counts r's databases into m.
func (m *Manifest) Summarize(r Backup) {
	m.Databases, m.BackedUp, m.Full, m.Clean, m.Bytes = len(r.Databases), 0, 0, 0, 0
	for _, d := range r.Databases {
		if d.BackedUp() {
			m.BackedUp++
			m.Bytes += d.Size
			if d.Type == "FULL" {
				m.Full++
			}
		}
		if d.Clean() {
			m.Clean++
		}
	}
}

// ValidManifestFile tells whether name can be a manifest's file name: one plain name, ending
// in .json.
func ValidManifestFile(name string) bool {
	return len(name) <= 255 && strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, ".") &&
		!strings.ContainsAny(name, "*?") && validName(name)
}

// Space is a volume as statfs sees it: its capacity, and the bytes free to a writer that is not
// root (the agent's).
type Space struct {
	Capacity int64 `json:"capacity"`
	Free     int64 `json:"free"`
}

// Database is one database's outcome.
type Database struct {
	Name string `json:"name"`
	// Type taken: FULL or DIFF.
	Type string `json:"type,omitempty"`
	// Artifact is the file (5.x) or folder (4.4) written, relative to the backup path.
	Artifact string `json:"artifact,omitempty"`
	Size     int64  `json:"size,omitempty"`
	LowTx    int64  `json:"lowTx,omitempty"`
	HighTx   int64  `json:"highTx,omitempty"`
	// Consistent is the check's verdict; nil when it did not run.
	Consistent *bool `json:"consistent,omitempty"`
	// Check says how the consistency check went: one of the Check* values, "" when it was not
	// asked for.
	Check string `json:"check,omitempty"`
	// Report is where the check's report was kept, relative to the backup folder, when it found
	// inconsistencies.
	Report string `json:"report,omitempty"`
	// Member is the server the backup was read from, Zone its zone.
	Member string `json:"member,omitempty"`
	Zone   string `json:"zone,omitempty"`
	Error  string `json:"error,omitempty"`
}

// How a database's consistency check went.
const (
	// CheckPassed: checked, consistent.
	CheckPassed = "Passed"
	// CheckFailed: checked, inconsistencies found (the report is kept).
	CheckFailed = "Failed"
	// CheckNotRun: asked for, but it could not run (the error says why).
	CheckNotRun = "NotRun"
	// CheckNotSupported: Neo4j does not check this artifact: a DIFF, or (2025.09 and later) a
	// FULL that is not recovered.
	CheckNotSupported = "NotSupported"
)

// BackedUp is true when an artifact was written, whatever the consistency check said (an
// inconsistent backup is kept: it may be the only copy there is).
func (d Database) BackedUp() bool { return d.Artifact != "" }

// Clean is true when the database was backed up and nothing is wrong with it: no error, and
// consistent or not checked.
func (d Database) Clean() bool {
	return d.BackedUp() && d.Error == "" && (d.Consistent == nil || *d.Consistent)
}

// Encode writes r as compact JSON that fits max bytes, shortening error texts and then
// dropping databases (counted in Truncated) until it does.
func Encode(r Backup, max int) []byte {
	r.V = Version
	for _, errLen := range []int{1024, 256, 64} {
		c := r
		c.Error = Clip(c.Error, errLen)
		c.Databases = append([]Database(nil), r.Databases...)
		for i := range c.Databases {
			c.Databases[i].Error = Clip(c.Databases[i].Error, errLen)
		}
		if b, _ := json.Marshal(c); len(b) <= max {
			return b
		}
	}
	c := r
	c.Error = Clip(c.Error, 64)
	for len(c.Databases) > 0 {
		c.Databases = c.Databases[:len(c.Databases)-1]
		c.Truncated = len(r.Databases) - len(c.Databases)
		for i := range c.Databases {
			c.Databases[i].Error = Clip(c.Databases[i].Error, 64)
		}
		if b, _ := json.Marshal(c); len(b) <= max {
			return b
		}
	}
	b, _ := json.Marshal(Backup{V: Version, Error: "report too large", Truncated: len(r.Databases), Space: r.Space, Manifest: r.Manifest})
	return b
}

// Fits tells whether r's termination message holds every database: when it does not, the agent
// keeps a manifest.
func Fits(r Backup, max int) bool {
	var c Backup
	_ = json.Unmarshal(Encode(r, max), &c)
	return c.Truncated == 0
}

// Limits a decoded report must respect.
const (
	maxText  = 1024
	maxFiles = 256
)

// Decode parses a termination message strictly: at most MaxMessage bytes, one JSON object of
// the known shape and version, no unknown fields, names that look like names. Every text is
// cleaned of control characters and clipped, so it is safe to show.
func Decode(msg []byte) (Backup, error) {
	var r Backup
	if len(msg) == 0 {
		return r, errors.New("empty report")
	}
	if len(msg) > MaxMessage {
		return r, fmt.Errorf("report is %d bytes, more than %d", len(msg), MaxMessage)
	}
	if !utf8.Valid(msg) {
		return r, errors.New("report is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Backup{}, fmt.Errorf("report is not valid: %s", Clean(err.Error(), 200))
	}
	if dec.More() {
		return Backup{}, errors.New("report has trailing data")
	}
	if r.V != Version {
		return Backup{}, fmt.Errorf("report version %d, want %d", r.V, Version)
	}
	if len(r.Databases) > maxFiles {
		return Backup{}, fmt.Errorf("report lists %d databases, more than %d", len(r.Databases), maxFiles)
	}
	r.Error = Clean(r.Error, maxText)
	if sp := r.Space; sp != nil && (sp.Capacity <= 0 || sp.Free < 0 || sp.Free > sp.Capacity) {
		// Odd figures from an odd filesystem are dropped, not a reason to lose the report
		// (and with it the record of what was written).
		r.Space = nil
	}
	if m := r.Manifest; m != nil {
		if !ValidManifestFile(m.File) || !validDigest(m.Digest) || m.Databases != len(r.Databases)+r.Truncated ||
			m.BackedUp < 0 || m.BackedUp > m.Databases || m.Full < 0 || m.Full > m.BackedUp || m.Clean < 0 || m.Clean > m.BackedUp || m.Bytes < 0 {
			return Backup{}, errors.New("report has an invalid manifest")
		}
	}
	for i := range r.Databases {
		d := &r.Databases[i]
		if !validName(d.Name) {
			return Backup{}, fmt.Errorf("report has an invalid database name %q", Clean(d.Name, 64))
		}
		switch d.Type {
		case "", "FULL", "DIFF":
		default:
			return Backup{}, fmt.Errorf("report has an invalid type %q for %s", Clean(d.Type, 16), d.Name)
		}
		switch d.Check {
		case "", CheckPassed, CheckFailed, CheckNotRun, CheckNotSupported:
		default:
			return Backup{}, fmt.Errorf("report has an invalid check %q for %s", Clean(d.Check, 16), d.Name)
		}
		if len(d.Report) > 512 || strings.Contains(d.Report, "..") || strings.HasPrefix(d.Report, "/") || strings.ContainsAny(d.Report, "\\\x00") {
			return Backup{}, fmt.Errorf("report has an invalid report path for %s", d.Name)
		}
		if d.Size < 0 || d.LowTx < 0 || d.HighTx < 0 {
			return Backup{}, fmt.Errorf("report has negative numbers for %s", d.Name)
		}
		if len(d.Artifact) > 255 || strings.ContainsAny(d.Artifact, "/\\\x00") || d.Artifact == ".." || d.Artifact == "." {
			return Backup{}, fmt.Errorf("report has an invalid artifact name for %s", d.Name)
		}
		if (d.Member != "" && !validName(d.Member)) || (d.Zone != "" && !validName(d.Zone)) {
			return Backup{}, fmt.Errorf("report has an invalid member or zone for %s", d.Name)
		}
		d.Artifact = Clean(d.Artifact, 255)
		d.Error = Clean(d.Error, maxText)
	}
	return r, nil
}

// validDigest accepts "sha256:" and 64 lower-case hex digits.
func validDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// validName accepts database names and globs, pod names and zone labels.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._*?", c)) {
			return false
		}
	}
	return true
}

// Clean removes control and format characters (which could forge log lines or hide text) and
// clips s to max bytes on a rune boundary.
func Clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	return Clip(s, max)
}

// Clip cuts s to at most max bytes on a rune boundary, marking the cut with "…".
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if cut < 0 {
		cut = 0
	}
	return s[:cut] + "…"
}

// Restore is the agent's report of one restore.
type Restore struct {
	V int `json:"v"`
	// Database restored (the target name).
	Database string `json:"database"`
	// Chain is the artifacts restored, FULL first (an inspection: the chain it resolved).
	Chain []string `json:"chain,omitempty"`
	// ChainLength, when more than len(Chain), is how many artifacts an inspected chain has that
	// is too long to list here: Chain is then its FULL and its last artifact, and whatever
	// reads the chain resolves it again on the volume (and checks both ends and the length).
	ChainLength int `json:"chainLength,omitempty"`
	// UntilTx is the transaction the restore reaches (an inspection): the one asked for, or the
	// chain's last; 0 for a point in time.
	UntilTx int64 `json:"untilTx,omitempty"`
	// ChainHighTx is the last transaction the chain holds (an inspection). A report without it
	// (an older agent's) leaves a restore up to a transaction refused, never unbounded.
	ChainHighTx int64 `json:"chainHighTx,omitempty"`
	// RestoreTime and CheckTime are how long neo4j-admin's restore (with the chain's staging
	// copy, where the version needs one) and a drill's consistency check took.
	RestoreTime time.Duration `json:"restoreNs,omitempty"`
	CheckTime   time.Duration `json:"checkNs,omitempty"`
	// Consistent is a drill's verdict on the restored database; nil when no check ran to a
	// verdict.
	Consistent *bool `json:"consistent,omitempty"`
	// Report is where the check that found inconsistencies left its report: a path in the
	// restored data directory (the drill's scratch volume), relative to it.
	Report string `json:"report,omitempty"`
	// Reason is a condition reason when the restore was refused or failed: TargetExists,
	// InvalidChain, RestoreFailed, SeedFromBucketFailed, TimedOut, Inconsistent, CheckFailed, or
	// an inspection's ChainBroken or NotCovered.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// EncodeRestore writes r as compact JSON within max bytes (the chain is cut first).
func EncodeRestore(r Restore, max int) []byte {
	r.V = Version
	r.Error = Clip(r.Error, 1024)
	for {
		b, _ := json.Marshal(r)
		if len(b) <= max || len(r.Chain) == 0 {
			return b
		}
		r.Chain = r.Chain[:len(r.Chain)-1]
	}
}

// DecodeRestore parses a restore report as strictly as Decode does a backup's.
func DecodeRestore(msg []byte) (Restore, error) {
	var r Restore
	if len(msg) == 0 || len(msg) > MaxMessage || !utf8.Valid(msg) {
		return r, errors.New("report is empty, too large or not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() {
		return Restore{}, errors.New("report is not valid")
	}
	if r.V != Version || !validName(r.Database) || len(r.Chain) > maxFiles || r.UntilTx < 0 || r.ChainHighTx < 0 ||
		(r.ChainLength > len(r.Chain) && len(r.Chain) != 2) || r.ChainLength < 0 {
		return Restore{}, errors.New("report has an invalid version, database or chain")
	}
	for _, f := range r.Chain {
		if len(f) > 255 || strings.ContainsAny(f, "/\\\x00") || f == ".." {
			return Restore{}, errors.New("report has an invalid artifact name")
		}
	}
	switch r.Reason {
	case "", "TargetExists", "InvalidChain", "RestoreFailed", "SeedFromBucketFailed", "TimedOut", "ChainBroken", "NotCovered", "Inconsistent", "CheckFailed":
	default:
		return Restore{}, errors.New("report has an unknown reason")
	}
	r.Error = Clean(r.Error, maxText)
	return r, nil
}
