package neo4j

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// SeedRequest creates a database seeded from a backup URI, online, in a running cluster
// (Operations Manual 5.x, "Seed a database from a URI"; seedRestoreUntil from 2025.01).
type SeedRequest struct {
	Version  Version
	Database string
	// SeedURI is where the servers fetch the backup from.
	SeedURI string
	// UntilTx / UntilTime stop the seed at a transaction or a moment (2025.01+).
	UntilTx   int64
	UntilTime *time.Time
	// Replace uses CREATE OR REPLACE DATABASE: the existing database of that name is dropped.
	Replace bool
}

// SeedStatement is the Cypher to run against the system database.
func SeedStatement(r SeedRequest) (string, error) {
	if r.Version.Legacy() {
		return "", fmt.Errorf("neo4j %s cannot seed a database from a URI: restore it offline", r.Version)
	}
	if (r.UntilTx > 0 || r.UntilTime != nil) && !r.Version.HasSeedRestoreUntil() {
		return "", fmt.Errorf("neo4j %s has no seedRestoreUntil (from 2025.01)", r.Version)
	}
	verb := "CREATE DATABASE"
	if r.Replace {
		verb = "CREATE OR REPLACE DATABASE"
	}
	opts := []string{"seedURI: " + quote(r.SeedURI)}
	if !r.Version.AtLeast(2025, 1) {
		// Required with seedURI in 5.x; deprecated in Cypher 25, where seeding implies it.
		opts = append([]string{"existingData: 'use'"}, opts...)
	}
	switch {
	case r.UntilTx > 0:
		opts = append(opts, fmt.Sprintf("seedRestoreUntil: %d", r.UntilTx))
	case r.UntilTime != nil:
		opts = append(opts, "seedRestoreUntil: datetime("+quote(r.UntilTime.UTC().Format(time.RFC3339))+")")
	}
	return fmt.Sprintf("%s %s OPTIONS {%s}", verb, backtick(r.Database), strings.Join(opts, ", ")), nil
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
// one row per server, comma-separated, strings double-quoted.
func ParseShow(out string) ([]DatabaseState, error) {
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
