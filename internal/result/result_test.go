package result

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	yes := true
	r := Backup{Databases: []Database{{Name: "neo4j", Type: "FULL", Artifact: "neo4j-2026-11-28T02-00-00.backup",
		Size: 123, LowTx: 1, HighTx: 10, Consistent: &yes, Member: "graph-2", Zone: "zone-b"}}}
	got, err := Decode(Encode(r, MaxMessage))
	if err != nil {
		t.Fatal(err)
	}
	if got.V != Version || got.Databases[0].Artifact != r.Databases[0].Artifact || !*got.Databases[0].Consistent {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestEncodeFitsByShorteningThenDropping(t *testing.T) {
	long := strings.Repeat("x", 3000)
	b := Encode(Backup{Error: long, Databases: []Database{{Name: "neo4j", Error: long}}}, MaxMessage)
	if len(b) > MaxMessage {
		t.Fatalf("%d bytes", len(b))
	}
	r, err := Decode(b)
	if err != nil || len(r.Databases) != 1 || r.Truncated != 0 {
		t.Fatalf("%v %+v", err, r)
	}
	var many []Database
	for i := range 300 {
		many = append(many, Database{Name: fmt.Sprintf("db-%03d", i), Artifact: fmt.Sprintf("db-%03d-2026-11-28T02-00-00.backup", i)})
	}
	b = Encode(Backup{Databases: many}, MaxMessage)
	r, err = Decode(b)
	if err != nil || len(b) > MaxMessage || r.Truncated == 0 || len(r.Databases)+r.Truncated != 300 {
		t.Fatalf("%d bytes, %v, %d kept, %d truncated", len(b), err, len(r.Databases), r.Truncated)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for name, msg := range map[string]string{
		"empty":            ``,
		"not JSON":         `backup done`,
		"unknown field":    `{"v":1,"dbs":[],"exploit":true}`,
		"wrong version":    `{"v":2,"dbs":[]}`,
		"trailing data":    `{"v":1,"dbs":[]} {"v":1}`,
		"bad name":         `{"v":1,"dbs":[{"name":"neo4j; rm -rf /"}]}`,
		"bad type":         `{"v":1,"dbs":[{"name":"neo4j","type":"HALF"}]}`,
		"negative size":    `{"v":1,"dbs":[{"name":"neo4j","size":-1}]}`,
		"artifact path":    `{"v":1,"dbs":[{"name":"neo4j","artifact":"../../etc/passwd"}]}`,
		"bad member":       `{"v":1,"dbs":[{"name":"neo4j","member":"a b"}]}`,
		"too large":        `{"v":1,"error":"` + strings.Repeat("a", MaxMessage) + `"}`,
		"invalid UTF-8":    "{\"v\":1,\"error\":\"\xff\"}",
		"wrong JSON types": `{"v":"1","dbs":[]}`,
		"manifest path":    `{"v":1,"dbs":[],"truncated":1,"manifest":{"file":"../x.json","digest":"sha256:` + strings.Repeat("a", 64) + `","dbs":1,"backedUp":1,"full":1,"clean":1}}`,
		"manifest digest":  `{"v":1,"dbs":[],"truncated":1,"manifest":{"file":"b-1.json","digest":"md5:abc","dbs":1,"backedUp":1,"full":1,"clean":1}}`,
		"manifest count":   `{"v":1,"dbs":[],"truncated":1,"manifest":{"file":"b-1.json","digest":"sha256:` + strings.Repeat("a", 64) + `","dbs":5,"backedUp":1,"full":1,"clean":1}}`,
		"manifest sums":    `{"v":1,"dbs":[],"truncated":1,"manifest":{"file":"b-1.json","digest":"sha256:` + strings.Repeat("a", 64) + `","dbs":1,"backedUp":1,"full":2,"clean":1}}`,
	} {
		if _, err := Decode([]byte(msg)); err == nil {
			t.Errorf("%s: accepted %q", name, msg)
		}
	}
}

// Odd space figures are dropped; the report, and what it records, stands.
func TestDecodeDropsImpossibleSpace(t *testing.T) {
	for _, msg := range []string{
		`{"v":1,"dbs":[{"name":"neo4j","artifact":"neo4j.backup"}],"space":{"capacity":10,"free":11}}`,
		`{"v":1,"dbs":[{"name":"neo4j","artifact":"neo4j.backup"}],"space":{"capacity":0,"free":0}}`,
		`{"v":1,"dbs":[{"name":"neo4j","artifact":"neo4j.backup"}],"space":{"capacity":10,"free":-1}}`,
	} {
		r, err := Decode([]byte(msg))
		if err != nil || r.Space != nil || len(r.Databases) != 1 {
			t.Errorf("%s: %+v, %v", msg, r, err)
		}
	}
}

func TestDecodeCleansText(t *testing.T) {
	msg, _ := json.Marshal(Backup{V: 1, Error: "line one\nFAKE LOG LINE\x1b[31m\u202eevil", Databases: []Database{{Name: "neo4j", Error: "a\x00b"}}})
	r, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Error, "\n\x1b\u202e") || r.Databases[0].Error != "ab" {
		t.Fatalf("not cleaned: %q %q", r.Error, r.Databases[0].Error)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"dbs":[{"name":"neo4j","type":"FULL","artifact":"neo4j-2026-11-28T02-00-00.backup","size":1}]}`))
	f.Add([]byte(`{"v":1,"error":"x"}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := Decode(msg)
		if err != nil {
			return
		}
		// Whatever is accepted is safe to show and fits again.
		for _, s := range append([]string{r.Error}, func() (out []string) {
			for _, d := range r.Databases {
				out = append(out, d.Error, d.Name, d.Artifact)
			}
			return
		}()...) {
			if strings.ContainsAny(s, "\n\r\x1b\x00") {
				t.Fatalf("unclean text %q", s)
			}
		}
		if len(Encode(r, MaxMessage)) > MaxMessage {
			t.Fatal("re-encoded report too large")
		}
	})
}

func TestRestoreReport(t *testing.T) {
	r, err := DecodeRestore(EncodeRestore(Restore{Database: "neo4j-restored", Chain: []string{"a.backup", "b.backup"}}, MaxMessage))
	if err != nil || r.Database != "neo4j-restored" || len(r.Chain) != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{
		`{"v":1,"database":"x y"}`, `{"v":1,"database":"neo4j","chain":["../etc"]}`,
		`{"v":1,"database":"neo4j","reason":"Whatever"}`, `{"v":1,"database":"neo4j","extra":1}`, ``,
	} {
		if _, err := DecodeRestore([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestManifestRoundTrip(t *testing.T) {
	var many []Database
	for i := range 300 {
		many = append(many, Database{Name: fmt.Sprintf("db-%03d", i), Type: "FULL", Artifact: fmt.Sprintf("db-%03d-2026-11-28T02-00-00.backup", i), Size: 2})
	}
	r := Backup{Databases: many}
	if Fits(r, MaxMessage) {
		t.Fatal("300 databases fit a termination message")
	}
	m := &Manifest{File: "nightly-1-20261128T020000Z.json", Digest: "sha256:" + strings.Repeat("0", 64)}
	m.Summarize(r)
	r.Manifest = m
	got, err := Decode(Encode(r, MaxMessage))
	if err != nil || got.Manifest == nil || *got.Manifest != *m || got.Truncated == 0 {
		t.Fatalf("%v: %+v", err, got.Manifest)
	}
	if m.Databases != 300 || m.BackedUp != 300 || m.Full != 300 || m.Clean != 300 || m.Bytes != 600 {
		t.Fatalf("sums %+v", m)
	}
	if !Fits(Backup{Databases: many[:3]}, MaxMessage) {
		t.Fatal("3 databases do not fit")
	}
}
