// Package artifact is what the stand-ins know of a backup artifact the stand-in neo4j-admin
// wrote: its first line is a JSON header (the database, FULL or DIFF, its transactions, its time),
// and a chain is a FULL followed by contiguous DIFFs. The stand-in neo4j-admin restores chains of
// a folder with it; the stand-in cypher-shell's servers resolve a seed's chain in a bucket with it.
package artifact

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Header is an artifact's first line.
type Header struct {
	Database string `json:"database"`
	Full     bool   `json:"full"`
	LowTx    int64  `json:"lowTx"`
	HighTx   int64  `json:"highTx"`
	// Time is UTC, as the inspect output's TIME column prints it.
	Time      string `json:"time"`
	Recovered bool   `json:"recovered"`
	// Damaged: the store it copied is inconsistent (STANDIN_CORRUPT_DATABASES).
	Damaged bool `json:"damaged,omitempty"`
}

// ParseHeader reads the header of an artifact's content; name is for the error.
func ParseHeader(name string, data []byte) (Header, error) {
	line, _, _ := strings.Cut(string(data), "\n")
	var h Header
	if json.Unmarshal([]byte(line), &h) != nil || h.Database == "" {
		return Header{}, fmt.Errorf("%s is not a backup artifact", name)
	}
	return h, nil
}

// ChainEndingAt finds among names (with their headers, newest first) the chain of end's database
// that ends at end: a FULL and contiguous DIFFs. Empty DIFFs (0..0) are skipped. where names the
// folder in errors.
func ChainEndingAt(where string, names []string, heads map[string]Header, end string) ([]string, []Header, error) {
	h, ok := heads[end]
	if !ok {
		return nil, nil, fmt.Errorf("%s/%s is not a backup artifact", where, end)
	}
	chain, hs := []string{end}, []Header{h}
	for !h.Full {
		found := false
		for _, n := range names {
			p := heads[n]
			if p.Database == h.Database && !(p.LowTx == 0 && p.HighTx == 0 && !p.Full) && p.HighTx == h.LowTx-1 {
				chain, hs = append([]string{n}, chain...), append([]Header{p}, hs...)
				h, found = p, true
				break
			}
		}
		if !found {
			return nil, nil, fmt.Errorf("no backup chain in %s ends at %s: nothing holds transaction %d of %s", where, end, h.LowTx-1, h.Database)
		}
	}
	return chain, hs, nil
}
