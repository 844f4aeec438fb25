package neo4j

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// SeedRequest creates a database seeded from a backup URI, online, in a running cluster
// (Operations Manual 5.x, "Create a database from a URI").
//
// There is no seedRestoreUntil here on purpose: the servers fetch an http(s) seed as one file,
// so a point in time is applied where the operator prepares that file (neo4j-admin restore
// --restore-until, then dump), which also works before 2025.01.
type SeedRequest struct {
	Version  Version
	Database string
	// SeedURI is where the servers fetch the backup or dump from.
	SeedURI string
	// Replace uses CREATE OR REPLACE DATABASE: the existing database of that name is dropped.
	Replace bool
}

// SeedStatement is the Cypher to run against the system database.
func SeedStatement(r SeedRequest) (string, error) {
	if r.Version.Legacy() {
		return "", fmt.Errorf("neo4j %s cannot seed a database from a URI: restore it offline", r.Version)
	}
	verb := "CREATE DATABASE"
	if r.Replace {
		verb = "CREATE OR REPLACE DATABASE"
	}
	opts := []string{"seedURI: " + quote(r.SeedURI)}
	if !r.Version.AtLeast(2025, 1) {
		// Required with seedURI in Cypher 5; deprecated in Cypher 25, where seeding implies it.
		opts = append([]string{"existingData: 'use'"}, opts...)
	}
	return fmt.Sprintf("%s %s OPTIONS {%s}", verb, backtick(r.Database), strings.Join(opts, ", ")), nil
}

// CypherArgs are cypher-shell's arguments to run one statement against the system database
// through the server at address (host:port of its Bolt connector), output as plain CSV-like
// rows. Credentials are not arguments: cypher-shell reads NEO4J_USERNAME and NEO4J_PASSWORD
// from its environment, which the pod fills from the Secret.
func CypherArgs(address, statement string) []string {
	return []string{"-a", "neo4j://" + address, "-d", "system", "--format", "plain", "--non-interactive", statement}
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
// one row per server, comma-separated, strings double-quoted. No output at all means no row:
// the database does not exist.
func ParseShow(out string) ([]DatabaseState, error) {
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	r := csv.NewReader(strings.NewReader(strings.TrimSpace(out)))
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("SHOW DATABASE output has no header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.Trim(h, `"`)] = i
	}
	for _, need := range []string{"address", "currentStatus", "statusMessage"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("SHOW DATABASE output has no %s column", need)
		}
	}
	var states []DatabaseState
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
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
