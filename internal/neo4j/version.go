// Package neo4j knows what each Neo4j version's tools accept: the neo4j-admin backup, check,
// inspect and restore arguments, what their exit codes mean, and how sizes are written. It is
// pure (no I/O) and is used both by the Job builder and by the agent inside the backup pod.
//
// Sources: Neo4j Operations Manual 4.4 ("Back up an online database", "Restore a database
// backup"), 5.x and 2025.x ("Back up an online database", "Inspect the metadata of a backup
// file", "Check database consistency"), summarised in shared/notes/neo4j-admin.md.
package neo4j

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Neo4j version: 4.4, 5.x, or a calendar version (2025.01 and later).
type Version struct {
	Major, Minor, Patch int
}

// ParseVersion reads "4.4", "5.26", "5.26.2", "2025.10" or "2025.10.1".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("neo4j version %q: want major.minor[.patch]", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || (len(p) > 1 && p[0] == '0' && i != 1) {
			return Version{}, fmt.Errorf("neo4j version %q: %q is not a number", s, p)
		}
		n[i] = v
	}
	v := Version{Major: n[0], Minor: n[1], Patch: n[2]}
	switch {
	case v.Major == 4 && v.Minor == 4:
	case v.Major == 5 && v.Minor >= 1 && v.Minor <= 26:
	case v.Major >= 2025 && v.Minor >= 1 && v.Minor <= 12:
	default:
		return Version{}, fmt.Errorf("neo4j version %q is not supported: use 4.4, 5.1 to 5.26, or a calendar version such as 2025.10", s)
	}
	return v, nil
}

func (v Version) String() string {
	if v.Major >= 2025 {
		return fmt.Sprintf("%d.%02d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// Legacy is true for 4.4, whose neo4j-admin has the old command set (backup, restore) and
// writes one mutable folder per database.
func (v Version) Legacy() bool { return v.Major == 4 }

// AtLeast compares major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// HasTempPath: `database backup --temp-path` and `database restore --temp-path` exist from 5.24
// (manual 5.26.2, backup-restore/restore-backup.adoc: "--temp-path=<path> | label:new[Introduced
// in 5.24]"). Without it a restore stages inside the --from-path folder (see RestoreArgs).
func (v Version) HasTempPath() bool { return v.AtLeast(5, 24) }

// ChecksSingleArtifact: `database check --from-path` accepts one artifact file from 2025.09;
// before, it takes a folder and "selects the most recent backup chain" in it.
func (v Version) ChecksSingleArtifact() bool { return v.AtLeast(2025, 9) }

// HasCypherVersions: Cypher 25 and the CYPHER 5 / CYPHER 25 query prefix exist from 2025.06
// (2025.10.1, partials/cypher-versions.adoc: "Any new Cypher features introduced in Neo4j 2025.06
// or later will be added only to Cypher 25").
func (v Version) HasCypherVersions() bool { return v.AtLeast(2025, 6) }

// Size writes a byte count as the JVM's -Xmx (HEAP_SIZE) and neo4j-admin's --pagecache accept:
// a whole number of g, m or k (binary units) when it divides exactly, else plain bytes.
func Size(bytes int64) string {
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if bytes >= u.n && bytes%u.n == 0 {
			return strconv.FormatInt(bytes/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(bytes, 10)
}
