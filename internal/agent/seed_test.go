package agent_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// These tests run a SeedFromURI restore as the operator's two pods do: `agent serve` (with
// --prepare for a chain) on loopback, and `agent seed` against the stand-in cypher-shell, whose
// servers fetch the seed over HTTP from that server as Neo4j's would.

// serve starts `agent serve` and returns the base URL it serves on.
func serve(t *testing.T, version, dir string, args ...string) string {
	t.Helper()
	return serveEnv(t, version, dir, nil, args...)
}

// serveEnv is serve in a pod that also has env (a bucket's).
func serveEnv(t *testing.T, version, dir string, env []string, args ...string) string {
	t.Helper()
	work := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "serve",
		"--dir=" + dir, "--listen=127.0.0.1:0", "--data-dir=" + filepath.Join(work, "data"), "--scratch=" + work,
		"--termination-log=" + filepath.Join(work, "termination-log")}, args...)...)
	cmd.Env = append([]string{"PATH=" + binDir, "HEAP_SIZE=512m", "STANDIN_NEO4J_VERSION=" + version,
		"STANDIN_DATA_DIR=" + filepath.Join(work, "data"), "STANDIN_LOG=" + filepath.Join(work, "standin.log")}, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	addr := regexp.MustCompile(`^serving .* on (127\.0\.0\.1:[0-9]+)$`)
	for lines.Scan() {
		if m := addr.FindStringSubmatch(lines.Text()); m != nil {
			go func() {
				for lines.Scan() {
				}
			}()
			return "http://" + m[1]
		}
	}
	_ = cmd.Wait()
	raw, _ := os.ReadFile(filepath.Join(work, "termination-log"))
	logData, _ := os.ReadFile(filepath.Join(work, "standin.log"))
	t.Fatalf("agent serve ended: %s\nreport %s\nneo4j-admin calls:\n%s", stderr.String(), raw, logData)
	return ""
}

type seedRun struct {
	version string
	state   string // the stand-in cluster's folder
	env     []string
	args    []string
}

// seed runs `agent seed` and returns its exit code, report and the stand-in's log.
func seed(t *testing.T, r seedRun) (int, result.Restore, string) {
	t.Helper()
	work := t.TempDir()
	termLog := filepath.Join(work, "termination-log")
	standinLog := filepath.Join(work, "standin.log")
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "seed",
		"--neo4j-version=" + r.version, "--poll=20ms", "--timeout=20s", "--termination-log=" + termLog,
		"--server=server-0.graph.ns.svc:7687", "--server=server-1.graph.ns.svc:7687"}, r.args...)...)
	cmd.Env = append([]string{"PATH=" + binDir, "STANDIN_NEO4J_VERSION=" + r.version, "STANDIN_STATE=" + r.state,
		"STANDIN_LOG=" + standinLog, "STANDIN_SERVERS=server-0.graph.ns.svc:7687,server-1.graph.ns.svc:7687",
		"STANDIN_USER=restorer", "STANDIN_PASSWORD=s3cr3t-Zq9", "STANDIN_ONLINE_AFTER=2"}, r.env...)
	hasCreds := false
	for _, e := range r.env {
		hasCreds = hasCreds || strings.HasPrefix(e, "NEO4J_")
	}
	if !hasCreds {
		cmd.Env = append(cmd.Env, "NEO4J_USERNAME=restorer", "NEO4J_PASSWORD=s3cr3t-Zq9")
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(termLog)
	rep, derr := result.DecodeRestore(raw)
	if derr != nil {
		t.Fatalf("report %q: %v\n%s", raw, derr, out)
	}
	logData, _ := os.ReadFile(standinLog)
	if strings.Contains(string(logData), "VIOLATION") {
		t.Fatalf("the agent broke cypher-shell %s's contract:\n%s", r.version, logData)
	}
	if strings.Contains(string(out)+string(raw)+string(logData), "s3cr3t-Zq9") {
		t.Fatalf("the password leaked into the output, report or arguments:\n%s\n%s\n%s", out, raw, logData)
	}
	return code, rep, string(logData)
}

func chainOf(t *testing.T, version string, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		agent(t, dir, run{version: version})
	}
	entries, _ := os.ReadDir(dir)
	var chain []string
	for _, e := range entries {
		chain = append(chain, e.Name())
	}
	if len(chain) != n {
		t.Fatalf("artifacts: %v", chain)
	}
	return dir, chain
}

func TestSeedAFullBackupServedAsIs(t *testing.T) {
	dir, chain := chainOf(t, "5.26", 1)
	url := serve(t, "5.26", dir, "--file="+chain[0])
	state := t.TempDir()
	args := []string{"--database=neo4j-restored", "--seed-uri=" + url + "/" + chain[0], "--chain=" + chain[0]}
	code, rep, calls := seed(t, seedRun{version: "5.26", state: state, args: args})
	if code != 0 || rep.Error != "" || rep.Database != "neo4j-restored" || len(rep.Chain) != 1 {
		t.Fatalf("exit %d, %+v\n%s", code, rep, calls)
	}
	for _, want := range []string{
		"-a neo4j://server-0.graph.ns.svc:7687 -d system --format plain --non-interactive SHOW DATABASE `neo4j-restored`",
		"CREATE DATABASE `neo4j-restored` OPTIONS {existingData: 'use', seedURI: '" + url + "/" + chain[0] + "'}",
		"SEED " + url + "/" + chain[0] + ": fetched",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("missing %q in:\n%s", want, calls)
		}
	}
	if n := strings.Count(calls, "SHOW DATABASE"); n < 3 {
		t.Errorf("%d SHOW DATABASE calls: the agent did not wait for online (STANDIN_ONLINE_AFTER=2)", n)
	}

	// Run again: the database exists now and is never touched without replaceExisting.
	code, rep, calls = seed(t, seedRun{version: "5.26", state: state, args: args})
	if code != 3 || rep.Reason != "TargetExists" || strings.Contains(calls, "CREATE") {
		t.Fatalf("existing target: exit %d, %+v\n%s", code, rep, calls)
	}
	// 5.x: seed options "cannot be combined with the OR REPLACE part": drop, then create.
	code, rep, calls = seed(t, seedRun{version: "5.26", state: state, args: append(args, "--replace")})
	if code != 0 || !strings.Contains(calls, "DROP DATABASE `neo4j-restored` IF EXISTS WAIT") || strings.Contains(calls, "OR REPLACE") {
		t.Fatalf("replace: exit %d, %+v\n%s", code, rep, calls)
	}
}

func TestSeedAChainPreparedAsADump(t *testing.T) {
	dir, chain := chainOf(t, "2025.10", 3)
	files := []string{"--file=" + chain[0], "--file=" + chain[1], "--file=" + chain[2]}
	url := serve(t, "2025.10", dir, append(files, "--prepare", "--neo4j-version=2025.10", "--database=neo4j", "--until-tx=25", "--chain-high-tx=30")...)
	// Whatever the DBMS's default language, the CREATE runs as Cypher 5, where existingData is
	// required (and in Cypher 25 it is deprecated, or removed).
	for _, lang := range []string{"CYPHER_5", "CYPHER_25"} {
		code, rep, calls := seed(t, seedRun{version: "2025.10", state: t.TempDir(), env: []string{"STANDIN_DEFAULT_LANGUAGE=" + lang},
			args: []string{"--database=neo4j-at-25", "--seed-uri=" + url + "/neo4j.dump"}})
		if code != 0 || rep.Error != "" {
			t.Fatalf("%s: exit %d, %+v\n%s", lang, code, rep, calls)
		}
		if !strings.Contains(calls, "CYPHER 5 CREATE DATABASE `neo4j-at-25` OPTIONS {existingData: 'use', seedURI: '"+url+"/neo4j.dump'}") || !strings.Contains(calls, ": fetched") {
			t.Fatalf("%s calls:\n%s", lang, calls)
		}
	}
	// 2025.01+: a replace is one CREATE OR REPLACE (a refused one leaves the old database).
	state := t.TempDir()
	seedArgs := []string{"--database=neo4j-at-25", "--seed-uri=" + url + "/neo4j.dump"}
	if code, rep, calls := seed(t, seedRun{version: "2025.10", state: state, args: seedArgs}); code != 0 {
		t.Fatalf("first seed: exit %d, %+v\n%s", code, rep, calls)
	}
	code, rep, calls := seed(t, seedRun{version: "2025.10", state: state, args: append(seedArgs, "--replace")})
	if code != 0 || !strings.Contains(calls, "CYPHER 5 CREATE OR REPLACE DATABASE `neo4j-at-25`") || strings.Contains(calls, "DROP DATABASE") {
		t.Fatalf("replace on 2025.10: exit %d, %+v\n%s", code, rep, calls)
	}
	// Only the dump is served: not the artifacts, not the restored store.
	if code, _, _ := seed(t, seedRun{version: "2025.10", state: t.TempDir(),
		args: []string{"--database=other", "--seed-uri=" + url + "/" + chain[0], "--timeout=300ms"}}); code == 0 {
		t.Fatal("an artifact was served next to the prepared dump")
	}
}

func TestSeedFailures(t *testing.T) {
	dir, chain := chainOf(t, "5.26", 1)
	url := serve(t, "5.26", dir, "--file="+chain[0])
	good := url + "/" + chain[0]
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		code   int
		reason string
		say    string
	}{
		{"a server reports the seed did not start", []string{"STANDIN_SEED_FAIL=1"}, nil, 1, "RestoreFailed", "Unable to start database"},
		// cypher-shell prints a quote inside a string as \" (the Java driver's escaping).
		{"a status message with quotes", []string{"STANDIN_SEED_FAIL=1", `STANDIN_STATUS_MESSAGE=Unable to start database: seed "http://x/y.dump", unreadable`}, nil,
			1, "RestoreFailed", `seed "http://x/y.dump", unreadable`},
		// Bolt TLS required by the servers: plaintext is refused, neo4j+s:// works.
		{"Bolt TLS required, plaintext", []string{"STANDIN_BOLT_TLS=required"}, nil, 1, "RestoreFailed", "encryption settings"},
		{"the seed is never served", nil, []string{"--seed-uri=" + url + "/nothing.dump", "--timeout=300ms"}, 1, "TimedOut", "was not served"},
		{"a wrong password", []string{"NEO4J_USERNAME=restorer", "NEO4J_PASSWORD=wrong-password"}, nil, 1, "RestoreFailed", "unauthorized"},
		{"no credentials", []string{"NEO4J_USERNAME=restorer"}, nil, 2, "", "NEO4J_PASSWORD"},
		{"no server answers", []string{"STANDIN_UNREACHABLE=server-0.graph.ns.svc:7687,server-1.graph.ns.svc:7687"}, nil, 1, "RestoreFailed", "Unable to connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--database=neo4j-restored", "--seed-uri=" + good}, tc.args...)
			code, rep, calls := seed(t, seedRun{version: "5.26", state: t.TempDir(), env: tc.env, args: args})
			if code != tc.code || rep.Reason != tc.reason || !strings.Contains(rep.Error, tc.say) {
				t.Fatalf("exit %d, %+v; want exit %d, reason %q, error saying %q\n%s", code, rep, tc.code, tc.reason, tc.say, calls)
			}
		})
	}
}

func TestSeedOverBoltTLS(t *testing.T) {
	dir, chain := chainOf(t, "5.26", 1)
	url := serve(t, "5.26", dir, "--file="+chain[0])
	code, rep, calls := seed(t, seedRun{version: "5.26", state: t.TempDir(), env: []string{"STANDIN_BOLT_TLS=required"},
		args: []string{"--database=neo4j-restored", "--seed-uri=" + url + "/" + chain[0], "--bolt-scheme=neo4j+s"}})
	if code != 0 || !strings.Contains(calls, "-a neo4j+s://server-0.graph.ns.svc:7687") {
		t.Fatalf("exit %d, %+v\n%s", code, rep, calls)
	}
}

// A chain too long for an inspection's report arrives by its two ends and its length: the seed
// server resolves it again on the volume, and refuses one that is not the chain inspected.
func TestServePreparesAChainGivenByItsEnds(t *testing.T) {
	dir, chain := chainOf(t, "5.26", 4)
	ends := []string{"--file=" + chain[0], "--file=" + chain[3], "--prepare", "--neo4j-version=5.26", "--database=neo4j"}
	url := serve(t, "5.26", dir, append(ends, "--chain-length=4")...)
	if code, rep, calls := seed(t, seedRun{version: "5.26", state: t.TempDir(), args: []string{"--database=neo4j-copy", "--seed-uri=" + url + "/neo4j.dump"}}); code != 0 {
		t.Fatalf("exit %d, %+v\n%s", code, rep, calls)
	}
	work := t.TempDir()
	termLog := filepath.Join(work, "termination-log")
	// A server that took the chain would serve until killed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "serve", "--dir=" + dir, "--listen=127.0.0.1:0",
		"--data-dir=" + filepath.Join(work, "data"), "--scratch=" + work, "--termination-log=" + termLog, "--chain-length=5"}, ends...)...)
	cmd.Env = []string{"PATH=" + binDir, "HEAP_SIZE=512m", "STANDIN_NEO4J_VERSION=5.26", "STANDIN_DATA_DIR=" + filepath.Join(work, "data")}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("a chain of another length was served\n%s", out)
	}
	raw, _ := os.ReadFile(termLog)
	if rep, err := result.DecodeRestore(raw); err != nil || rep.Reason != "InvalidChain" || !strings.Contains(rep.Error, "4 artifacts") {
		t.Fatalf("report %+v (%v)", rep, err)
	}
}

func TestServePrepareFailureIsReported(t *testing.T) {
	dir, chain := chainOf(t, "5.26", 2)
	// The DIFF's FULL is gone: neo4j-admin finds no chain ending at it.
	if err := os.Remove(filepath.Join(dir, chain[0])); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	termLog := filepath.Join(work, "termination-log")
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), "agent", "serve", "--dir="+dir, "--listen=127.0.0.1:0",
		"--file="+chain[1], "--prepare", "--neo4j-version=5.26", "--database=neo4j",
		"--data-dir="+filepath.Join(work, "data"), "--scratch="+work, "--termination-log="+termLog)
	cmd.Env = []string{"PATH=" + binDir, "HEAP_SIZE=512m", "STANDIN_NEO4J_VERSION=5.26", "STANDIN_DATA_DIR=" + filepath.Join(work, "data")}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(termLog)
	rep, err := result.DecodeRestore(raw)
	if err != nil || rep.Reason != "RestoreFailed" || !strings.Contains(rep.Error, "preparing the seed") {
		t.Fatalf("report %+v (%v)", rep, err)
	}
}
