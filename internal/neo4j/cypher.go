package neo4j

import (
	"fmt"
	"strings"
	"time"
)

// SeedRequest creates a database seeded from a backup URI, online, in a running cluster
// (Operations Manual 5.x, "Create a database from a URI").
//
// An http(s) seed is one file, so a point in time is applied where the operator prepares that
// file (neo4j-admin restore --restore-until, then dump), which also works before 2025.01. A seed
// straight from a bucket is the chain's last artifact, which CloudSeedProvider resolves to its
// chain; there the servers apply a point in time with seedRestoreUntil: "Starting from Neo4j
// 2025.01, when creating a database you can seed up to a specific date or transaction ID via the
// seedRestoreUntil option. The seedRestoreUntil option is supported by the CloudSeedProvider and
// the FileSeedProvider" (2025.10.1 seed-from-uri.adoc:285-287).
type SeedRequest struct {
	Version  Version
	Database string
	// SeedURI is where the servers fetch the backup or dump from.
	SeedURI string
	// Replace drops the existing database of that name first.
	Replace bool
	// UntilTx seeds up to and including this transaction, ChainHighTx being the chain's last:
	// seedRestoreUntil takes "transactions up to (but not including) transaction 123" (:351), so
	// it is given the one after, and nothing at the chain's end. 0: the whole chain.
	UntilTx, ChainHighTx int64
	// UntilTime is seedRestoreUntil's datetime: "transactions committed before the provided
	// timestamp" (:319).
	UntilTime *time.Time
}

// SeedStatements are the Cypher statements to run against the system database, in order.
//
//   - existingData: 'use' is always sent: it "is required in Cypher 5 and deprecated in Cypher
//     25" (2025.10.1, seed-from-uri.adoc), or "removed in Cypher 25" (dev,
//     create-databases.adoc). A statement runs in the database's default language, Cypher 5
//     unless configured (2025.10.1, cypher-version-configuration.adoc: "db.query.default_language
//     (default value: CYPHER_5)"), but "Starting from Neo4j 2026.02, the distributed neo4j.conf
//     explicitly sets db.query.default_language=CYPHER_25" (dev). So from 2025.06, where Cypher 25
//     and the per-query prefix exist ("prepending the query with the CYPHER 5 or CYPHER 25
//     keyword"; the manual prefixes administration commands too, e.g. "CYPHER 5 CREATE COMPOSITE
//     DATABASE `garden`", dev manage-aliases-composite-databases.adoc:273), the CREATE is
//     prefixed CYPHER 5: its grammar is then the one it was written for, whatever the DBMS's
//     default. Before 2025.06 there is only Cypher 5 and no prefix.
//   - Replace is one statement, CREATE OR REPLACE, from 2025.01: "Starting from Neo4j 2025.01,
//     you can use existingData, seedURI, seedConfig, and seedCredentials options together with
//     the CREATE OR REPLACE DATABASE command" (2025.01.0 create-databases.adoc:126), so a
//     refused statement leaves the old database in place. Before, the seed options "cannot be
//     combined with the OR REPLACE part" (5.26.2 :127): DROP DATABASE ... IF EXISTS WAIT, then
//     CREATE (DroppedFirst says so).
func SeedStatements(r SeedRequest) ([]string, error) {
	if r.Version.Legacy() {
		return nil, fmt.Errorf("neo4j %s cannot seed a database from a URI: restore it offline", r.Version)
	}
	var out []string
	verb := "CREATE DATABASE"
	switch {
	case r.Replace && r.Version.AtLeast(2025, 1):
		verb = "CREATE OR REPLACE DATABASE"
	case r.Replace:
		out = append(out, "DROP DATABASE "+backtick(r.Database)+" IF EXISTS WAIT")
	}
	until := ""
	switch {
	case r.UntilTime == nil && (r.UntilTx == 0 || r.UntilTx == r.ChainHighTx):
	case !r.Version.AtLeast(2025, 1) || !CloudPath(r.SeedURI) || (r.UntilTx != 0 && r.UntilTime != nil):
		return nil, fmt.Errorf("seedRestoreUntil is for one point (a time or a transaction) of a seed in a bucket on 2025.01 and later, not %s on %s", r.SeedURI, r.Version)
	case r.UntilTime != nil:
		until = ", seedRestoreUntil: datetime(" + quote(r.UntilTime.UTC().Format(time.RFC3339)) + ")"
	case r.UntilTx > r.ChainHighTx:
		return nil, fmt.Errorf("the chain ends at transaction %d, before %d", r.ChainHighTx, r.UntilTx)
	default:
		until = fmt.Sprintf(", seedRestoreUntil: %d", r.UntilTx+1)
	}
	create := fmt.Sprintf("%s %s OPTIONS {existingData: 'use', seedURI: %s%s}", verb, backtick(r.Database), quote(r.SeedURI), until)
	if r.Version.HasCypherVersions() {
		create = "CYPHER 5 " + create
	}
	return append(out, create), nil
}

// Bolt URI schemes cypher-shell accepts (Operations Manual, cypher-shell.adoc: "neo4j",
// "neo4j+s", "neo4j+ssc"): plaintext, TLS with a verified certificate, TLS trusting any
// (self-signed) certificate.
const (
	SchemePlain      = "neo4j"
	SchemeTLS        = "neo4j+s"
	SchemeSelfSigned = "neo4j+ssc"
)

// CypherArgs are cypher-shell's arguments to run one statement against the system database
// through the server at address (host:port of its Bolt connector) with scheme, output as plain
// rows. Credentials are not arguments: cypher-shell reads NEO4J_USERNAME and NEO4J_PASSWORD
// from its environment, which the pod fills from the Secret.
func CypherArgs(scheme, address, statement string) []string {
	if scheme == "" {
		scheme = SchemePlain
	}
	return []string{"-a", scheme + "://" + address, "-d", "system", "--format", "plain", "--non-interactive", statement}
}

// ShowStatement lists the database on every server with its status.
func ShowStatement(database string) string {
	return "SHOW DATABASE " + backtick(database) + " YIELD name, address, currentStatus, statusMessage"
}

// DatabaseState is one server's view of a database.
type DatabaseState struct {
	Address, CurrentStatus, StatusMessage string
}

// ParseShow reads cypher-shell's --format plain output of ShowStatement: a header row, then
// one row per server, cells separated by ", ". Strings are double-quoted the way Neo4j's Java
// driver prints them (neo4j/neo4j-java-driver, StringValue.toString: format("\"%s\"",
// val.replace("\"", "\\\"")), so a quote inside is \" and nothing else is escaped, not CSV's
// ""); null is NULL. No output at all means no row: the database does not exist.
func ParseShow(out string) ([]DatabaseState, error) {
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header, err := plainCells(lines[0])
	if err != nil {
		return nil, fmt.Errorf("SHOW DATABASE output has no header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, need := range []string{"address", "currentStatus", "statusMessage"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("SHOW DATABASE output has no %s column", need)
		}
	}
	var states []DatabaseState
	for _, line := range lines[1:] {
		row, err := plainCells(strings.TrimRight(line, "\r"))
		if err != nil {
			return nil, fmt.Errorf("SHOW DATABASE row: %w", err)
		}
		if len(row) != len(header) {
			return nil, fmt.Errorf("SHOW DATABASE row has %d cells, header %d", len(row), len(header))
		}
		states = append(states, DatabaseState{Address: row[col["address"]], CurrentStatus: row[col["currentStatus"]], StatusMessage: row[col["statusMessage"]]})
	}
	return states, nil
}

// plainCells splits one line of --format plain output. A quoted cell ends at a '"' that is not
// escaped; NULL becomes "".
func plainCells(line string) ([]string, error) {
	var cells []string
	for i := 0; ; {
		var cell string
		if i < len(line) && line[i] == '"' {
			var b strings.Builder
			j := i + 1
			for ; j < len(line); j++ {
				if line[j] == '\\' && j+1 < len(line) && line[j+1] == '"' {
					b.WriteByte('"')
					j++
					continue
				}
				if line[j] == '"' {
					break
				}
				b.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated string in %q", line)
			}
			cell, i = b.String(), j+1
		} else {
			end := strings.Index(line[i:], ", ")
			if end < 0 {
				end = len(line) - i
			}
			cell, i = line[i:i+end], i+end
			if cell == "NULL" {
				cell = ""
			}
		}
		cells = append(cells, cell)
		if i >= len(line) {
			return cells, nil
		}
		if !strings.HasPrefix(line[i:], ", ") {
			return nil, fmt.Errorf("expected \", \" after a cell in %q", line)
		}
		i += 2
	}
}

// Online tells whether every server reports the database online; failed names a server whose
// status says the seed failed (a seed's failure shows only there).
func Online(states []DatabaseState) (online bool, failed string) {
	if len(states) == 0 {
		return false, ""
	}
	online = true
	for _, s := range states {
		switch s.CurrentStatus {
		case "online":
		case "offline", "quarantined", "unknown":
			if s.StatusMessage != "" {
				return false, fmt.Sprintf("%s: %s: %s", s.Address, s.CurrentStatus, s.StatusMessage)
			}
			online = false
		default: // starting, store copying, ...
			online = false
		}
	}
	return online, ""
}

func backtick(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
