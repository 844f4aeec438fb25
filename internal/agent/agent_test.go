package agent_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// These tests run the real operator binary's agent subcommand, as the backup pod does, against
// the stand-in neo4j-admin (test/standin/neo4j-admin), which refuses any argument the version it
// plays does not document and writes artifacts as the real tool does.

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agent-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	for pkg, out := range map[string]string{
		"github.com/graphkeeper/neo4j-backup-operator":                           "neo4j-backup-operator",
		"github.com/graphkeeper/neo4j-backup-operator/test/standin/neo4j-admin":  "neo4j-admin",
		"github.com/graphkeeper/neo4j-backup-operator/test/standin/cypher-shell": "cypher-shell",
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type run struct {
	version string
	members []string // name/zone/host:port
	dbs     []string
	typ     string
	check   bool
	env     map[string]string
	noHeap  bool
	extra   []string // more agent flags
}

type outcome struct {
	code   int
	report result.Backup
	raw    string
	log    string // the stand-in's calls
	stdout string
}

// agent runs `neo4j-backup-operator agent backup` into dir with the stand-in on PATH.
func agent(t *testing.T, dir string, r run) outcome {
	t.Helper()
	if r.members == nil {
		r.members = []string{"graph-2/zone-b/graph-2.graph.ns.svc:6362"}
	}
	if r.dbs == nil {
		r.dbs = []string{"neo4j"}
	}
	if r.typ == "" {
		r.typ = "AUTO"
	}
	work := t.TempDir()
	termLog := filepath.Join(work, "termination-log")
	standinLog := filepath.Join(work, "standin.log")
	args := []string{"agent", "backup", "--neo4j-version=" + r.version, "--type=" + r.typ,
		"--dir=" + dir, "--pagecache-bytes=536870912", "--temp-dir=" + filepath.Join(work, "tmp"),
		"--termination-log=" + termLog, fmt.Sprintf("--check=%t", r.check), "--backup-name=nightly-1"}
	for _, m := range r.members {
		args = append(args, "--member="+m)
	}
	for _, d := range r.dbs {
		args = append(args, "--database="+d)
	}
	args = append(args, r.extra...)
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), args...)
	cmd.Env = []string{"PATH=" + binDir, "STANDIN_NEO4J_VERSION=" + r.version, "STANDIN_LOG=" + standinLog}
	if !r.noHeap {
		cmd.Env = append(cmd.Env, "HEAP_SIZE=1g")
	}
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	err := cmd.Run()
	o := outcome{stdout: stdout.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		o.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(termLog)
	if err != nil {
		t.Fatalf("no termination message: %v\n%s", err, o.stdout)
	}
	o.raw = string(raw)
	if o.report, err = result.Decode(raw); err != nil {
		t.Fatalf("the controller would not accept the report: %v\n%s", err, raw)
	}
	if _, err := os.Stat(filepath.Join(work, "tmp")); err == nil {
		t.Errorf("the agent left its scratch folder behind")
	}
	logData, _ := os.ReadFile(standinLog)
	o.log = string(logData)
	if strings.Contains(o.log, "VIOLATION") {
		t.Fatalf("the agent broke neo4j-admin %s's argument contract:\n%s", r.version, o.log)
	}
	return o
}

func db(t *testing.T, o outcome, name string) result.Database {
	t.Helper()
	for _, d := range o.report.Databases {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no result for %s in %s", name, o.raw)
	return result.Database{}
}

func TestChainOnModernVersions(t *testing.T) {
	for _, v := range []string{"5.20", "5.26", "2025.10"} {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			first := agent(t, dir, run{version: v, check: true})
			if first.code != 0 {
				t.Fatalf("exit %d: %s", first.code, first.stdout)
			}
			d := db(t, first, "neo4j")
			if d.Type != "FULL" || d.LowTx != 1 || d.HighTx != 10 || d.Consistent == nil || !*d.Consistent || d.Check != result.CheckPassed || d.Error != "" {
				t.Fatalf("first backup: %+v", d)
			}
			if d.Member != "graph-2" || d.Zone != "zone-b" || d.Size < 1024 || !strings.HasPrefix(d.Artifact, "neo4j-") {
				t.Fatalf("first backup: %+v", d)
			}
			// The check is bounded: --max-off-heap-memory defaults to 90% of the node's free memory.
			for _, want := range []string{"--pagecache=512m", "HEAP_SIZE=1g", "--type=AUTO", "--to-path=" + dir, "database check --from-path=", "--max-off-heap-memory=512m"} {
				if !strings.Contains(first.log, want) {
					t.Errorf("neo4j-admin was not called with %q:\n%s", want, first.log)
				}
			}
			if got, want := strings.Contains(first.log, "--to-path="+dir+" --type=AUTO --pagecache=512m --temp-path="), v != "5.20"; got != want {
				t.Errorf("backup --temp-path passed: %t, want %t (it exists from 5.24)", got, want)
			}

			second := agent(t, dir, run{version: v, check: true})
			d2 := db(t, second, "neo4j")
			if second.code != 0 || d2.Type != "DIFF" || d2.LowTx != 11 || d2.HighTx != 20 || d2.Artifact == d.Artifact {
				t.Fatalf("second backup (exit %d): %+v", second.code, d2)
			}
			// "consistency check is not supported for differential backups": not run, and said so.
			if d2.Check != result.CheckNotSupported || d2.Consistent != nil || d2.Error != "" || strings.Contains(second.log, "database check") {
				t.Fatalf("a DIFF was checked or misreported: %+v\n%s", d2, second.log)
			}
		})
	}
}

func TestUnrecoveredFullIsNotChecked(t *testing.T) {
	// 2025.09+: "not supported for differential backups or unrecovered full backups".
	o := agent(t, t.TempDir(), run{version: "2025.10", check: true, env: map[string]string{"STANDIN_UNRECOVERED": "1"}})
	if d := db(t, o, "neo4j"); o.code != 0 || d.Type != "FULL" || d.Check != result.CheckNotSupported || d.Consistent != nil || strings.Contains(o.log, "database check") {
		t.Fatalf("exit %d: %+v\n%s", o.code, d, o.log)
	}
	// Before 2025.09 there is no RECOVERED verdict to go by, and the FULL is checked.
	o = agent(t, t.TempDir(), run{version: "2025.08", check: true})
	if d := db(t, o, "neo4j"); d.Check != result.CheckPassed {
		t.Fatalf("2025.08: %+v", d)
	}
}

func TestUsageErrorFailsAtOnce(t *testing.T) {
	// Exit 64 is neo4j-admin's usage error: no other member and no retry would accept the
	// arguments. One call, exit 2 (the Job fails at once), and the reason in the report.
	o := agent(t, t.TempDir(), run{version: "5.26", dbs: []string{"neo4j", "movies"},
		members: []string{"graph-1/zone-a/graph-1:6362", "graph-2/zone-b/graph-2:6362"},
		env:     map[string]string{"STANDIN_USAGE_ERROR": "--pagecache", "STANDIN_DATABASES": "neo4j,movies"}})
	if o.code != 2 || strings.Count(o.log, "database backup") != 1 || !strings.Contains(o.report.Error, "usage error") || !strings.Contains(o.report.Error, "Unknown option") {
		t.Fatalf("exit %d, report %s, calls:\n%s", o.code, o.raw, o.log)
	}
}

func TestMembersAreTriedInOrder(t *testing.T) {
	dir := t.TempDir()
	o := agent(t, dir, run{version: "5.26",
		members: []string{"graph-3/zone-a/graph-3:6362", "graph-4/zone-b/graph-4:6362", "graph-1/zone-a/graph-1:6362"},
		env:     map[string]string{"STANDIN_UNREACHABLE": "graph-3:6362"}})
	d := db(t, o, "neo4j")
	if o.code != 0 || d.Member != "graph-4" || d.Zone != "zone-b" || d.Error != "" {
		t.Fatalf("exit %d: %+v", o.code, d)
	}
	if strings.Contains(o.log, "--from=graph-1:6362") {
		t.Errorf("kept trying after a member succeeded:\n%s", o.log)
	}
}

func TestEveryMemberFailing(t *testing.T) {
	o := agent(t, t.TempDir(), run{version: "5.26",
		members: []string{"graph-3/zone-a/graph-3:6362", "graph-4/zone-b/graph-4:6362"},
		env:     map[string]string{"STANDIN_UNREACHABLE": "graph-3:6362,graph-4:6362"}})
	d := db(t, o, "neo4j")
	if o.code != 1 || d.BackedUp() {
		t.Fatalf("exit %d (want 1, so the Job retries): %+v", o.code, d)
	}
	for _, want := range []string{"every member failed", "graph-3: exit 1", "graph-4: exit 1", "Connection refused"} {
		if !strings.Contains(d.Error, want) {
			t.Errorf("error %q does not say %q", d.Error, want)
		}
	}
}

func TestOneDatabaseFailingLeavesTheOthers(t *testing.T) {
	o := agent(t, t.TempDir(), run{version: "5.26", dbs: []string{"neo4j", "movies", "system"},
		env: map[string]string{"STANDIN_DATABASES": "neo4j,movies,system", "STANDIN_FAIL_DATABASES": "movies"}})
	if o.code != 0 {
		t.Fatalf("exit %d with two databases backed up", o.code)
	}
	if !db(t, o, "neo4j").BackedUp() || !db(t, o, "system").BackedUp() {
		t.Fatalf("the good databases: %s", o.raw)
	}
	if m := db(t, o, "movies"); m.BackedUp() || !strings.Contains(m.Error, "store copy failed") {
		t.Fatalf("movies: %+v", m)
	}
}

func TestGlob(t *testing.T) {
	o := agent(t, t.TempDir(), run{version: "2025.10", dbs: []string{"*"}, check: true,
		env: map[string]string{"STANDIN_DATABASES": "neo4j,movies,system"}})
	if o.code != 0 || len(o.report.Databases) != 3 {
		t.Fatalf("exit %d: %s", o.code, o.raw)
	}
	for _, name := range []string{"neo4j", "movies", "system"} {
		if d := db(t, o, name); !d.BackedUp() || d.Type != "FULL" || d.Consistent == nil || !*d.Consistent {
			t.Errorf("%s: %+v", name, d)
		}
	}
}

func TestConsistencyOnModernVersions(t *testing.T) {
	dir := t.TempDir()
	bad := agent(t, dir, run{version: "5.26", check: true, env: map[string]string{"STANDIN_INCONSISTENT": "neo4j"}})
	d := db(t, bad, "neo4j")
	if bad.code != 0 || d.Artifact == "" || d.Consistent == nil || *d.Consistent || d.Check != result.CheckFailed || !strings.Contains(d.Error, "found inconsistencies") {
		t.Fatalf("inconsistent (exit %d): %+v", bad.code, d)
	}
	// The report is kept beside the artifact, named after the Backup, and status says where.
	if reports, _ := filepath.Glob(filepath.Join(dir, ".consistency", "nightly-1", "neo4j", "inconsistencies-*.report")); d.Report != ".consistency/nightly-1/neo4j" || len(reports) != 1 {
		t.Fatalf("report %q, files %v", d.Report, reports)
	}
	good := t.TempDir()
	agent(t, good, run{version: "5.26", check: true})
	if left, _ := os.ReadDir(good); len(left) != 1 {
		t.Fatalf("a consistent check left more than the artifact: %v", left)
	}
	broken := agent(t, t.TempDir(), run{version: "5.26", check: true, env: map[string]string{"STANDIN_CHECK_BROKEN": "1"}})
	d = db(t, broken, "neo4j")
	if d.Artifact == "" || d.Consistent != nil || d.Check != result.CheckNotRun || !strings.Contains(d.Error, "failed to run") {
		t.Fatalf("check broken: %+v", d)
	}
	off := agent(t, t.TempDir(), run{version: "5.26", check: false})
	if strings.Contains(off.log, "database check") || db(t, off, "neo4j").Consistent != nil {
		t.Fatalf("checked although disabled:\n%s", off.log)
	}
}

func TestLegacyFolders(t *testing.T) {
	dir := t.TempDir()
	first := agent(t, dir, run{version: "4.4", check: true})
	d := db(t, first, "neo4j")
	if first.code != 0 || d.Type != "FULL" || d.Artifact != "neo4j" || d.Consistent == nil || !*d.Consistent {
		t.Fatalf("first (exit %d): %+v\n%s", first.code, d, first.log)
	}
	for _, want := range []string{"backup --from=graph-2.graph.ns.svc:6362", "--backup-dir=" + dir, "--database=neo4j", "--pagecache=512m", "--check-consistency=true"} {
		if !strings.Contains(first.log, want) {
			t.Errorf("4.4 call lacks %q:\n%s", want, first.log)
		}
	}
	incr := agent(t, dir, run{version: "4.4", check: true})
	if d := db(t, incr, "neo4j"); d.Type != "DIFF" {
		t.Fatalf("incremental: %+v", d)
	}
	full := agent(t, dir, run{version: "4.4", typ: "FULL", check: true})
	if d := db(t, full, "neo4j"); d.Type != "FULL" {
		t.Fatalf("forced full: %+v", d)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "neo4j.*"))
	if len(aside) != 1 {
		t.Fatalf("the previous folder was not kept aside: %v", aside)
	}
}

func TestLegacyGlobsFallbacksAndDottedNames(t *testing.T) {
	env := map[string]string{"STANDIN_DATABASES": "neo4j,my.graph"}
	dir := t.TempDir()
	first := agent(t, dir, run{version: "4.4", dbs: []string{"*"}, env: env})
	// A name with a dot is a database like any other.
	if d := db(t, first, "my.graph"); first.code != 0 || d.Type != "FULL" || d.Artifact != "my.graph" {
		t.Fatalf("first (exit %d): %s", first.code, first.raw)
	}
	if d := db(t, agent(t, dir, run{version: "4.4", dbs: []string{"my.graph"}, env: env}), "my.graph"); d.Type != "DIFF" || d.Error != "" {
		t.Fatalf("my.graph by name: %+v", d)
	}
	// A FULL of a glob is a FULL of every database it matches: their folders are moved aside.
	full := agent(t, dir, run{version: "4.4", dbs: []string{"*"}, typ: "FULL", env: env})
	for _, name := range []string{"neo4j", "my.graph"} {
		if d := db(t, full, name); d.Type != "FULL" {
			t.Errorf("%s: %+v", name, d)
		}
		if aside, _ := filepath.Glob(filepath.Join(dir, name+".20*")); len(aside) != 1 {
			t.Errorf("%s: the previous folder was not moved aside, so the backup was incremental: %v", name, aside)
		}
	}
	if strings.Contains(full.stdout, "doing incremental backup") {
		t.Errorf("neo4j-admin took an incremental backup for a FULL:\n%s", full.stdout)
	}
	// An incremental that fails falls back to a full (--fallback-to-full, default true), moving
	// the folder to <name>.err.0: that run is a FULL.
	env["STANDIN_INCREMENTAL_FAIL"] = "neo4j"
	fb := agent(t, dir, run{version: "4.4", env: env})
	if d := db(t, fb, "neo4j"); fb.code != 0 || d.Type != "FULL" {
		t.Fatalf("fallback (exit %d): %+v", fb.code, d)
	}
	if _, err := os.Stat(filepath.Join(dir, "neo4j.err.0")); err != nil {
		t.Fatal(err)
	}
}

func TestLegacyExitCodesTwoAndThreeAreBackups(t *testing.T) {
	dir := t.TempDir()
	three := agent(t, dir, run{version: "4.4", check: true, env: map[string]string{"STANDIN_INCONSISTENT": "neo4j"}})
	d := db(t, three, "neo4j")
	if three.code != 0 || d.Artifact != "neo4j" || d.Consistent == nil || *d.Consistent || d.Check != result.CheckFailed {
		t.Fatalf("exit 3 (exit %d): %+v", three.code, d)
	}
	if reports, _ := filepath.Glob(filepath.Join(dir, ".consistency", "nightly-1", "inconsistencies-*.report")); d.Report != ".consistency/nightly-1" || len(reports) != 1 {
		t.Fatalf("4.4 report %q, files %v", d.Report, reports)
	}
	two := agent(t, t.TempDir(), run{version: "4.4", check: true, env: map[string]string{"STANDIN_CHECK_BROKEN": "1"}})
	d = db(t, two, "neo4j")
	if two.code != 0 || d.Artifact != "neo4j" || d.Consistent != nil || !strings.Contains(d.Error, "failed to run") {
		t.Fatalf("exit 2 (exit %d): %+v", two.code, d)
	}
}

func TestDiffWithoutAChainFails(t *testing.T) {
	o := agent(t, t.TempDir(), run{version: "5.26", typ: "DIFF"})
	if d := db(t, o, "neo4j"); o.code != 1 || d.BackedUp() || !strings.Contains(d.Error, "needs a previous backup") {
		t.Fatalf("exit %d: %+v", o.code, d)
	}
}

func TestRefusesToRunUnbounded(t *testing.T) {
	o := agent(t, t.TempDir(), run{version: "5.26", noHeap: true})
	if o.code != 2 || !strings.Contains(o.report.Error, "HEAP_SIZE is not set") || o.log != "" {
		t.Fatalf("exit %d, report %s, neo4j-admin calls %q", o.code, o.raw, o.log)
	}
}

func TestA200DatabaseGlobIsRecordedInFull(t *testing.T) {
	var names []string
	for i := range 200 {
		names = append(names, fmt.Sprintf("tenant-database-%03d", i))
	}
	dir := t.TempDir()
	o := agent(t, dir, run{version: "5.26", dbs: []string{"tenant-*"},
		env: map[string]string{"STANDIN_DATABASES": strings.Join(names, ","), "STANDIN_SIZE": "16"}})
	m := o.report.Manifest
	if len(o.raw) > result.MaxMessage || o.report.Truncated == 0 || len(o.report.Databases)+o.report.Truncated != 200 || m == nil {
		t.Fatalf("%d bytes, %d databases, %d truncated, manifest %+v", len(o.raw), len(o.report.Databases), o.report.Truncated, m)
	}
	var bytes int64
	artifacts, _ := filepath.Glob(filepath.Join(dir, "tenant-database-*.backup"))
	for _, a := range artifacts {
		info, _ := os.Stat(a)
		bytes += info.Size()
	}
	if m.Databases != 200 || m.BackedUp != 200 || m.Full != 200 || m.Clean != 200 || m.Bytes != bytes {
		t.Fatalf("manifest sums %+v; the artifacts have %d bytes", m, bytes)
	}
	// The manifest is on the volume, whole, and its digest is what the report says.
	data, err := os.ReadFile(filepath.Join(dir, result.ManifestDir, m.File))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); m.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("digest %s of %d bytes", m.Digest, len(data))
	}
	var whole result.Backup
	if err := json.Unmarshal(data, &whole); err != nil || len(whole.Databases) != 200 {
		t.Fatalf("manifest: %v, %d databases", err, len(whole.Databases))
	}
	seen := map[string]bool{}
	for _, d := range whole.Databases {
		seen[d.Artifact] = d.BackedUp() && d.Type == "FULL"
	}
	for _, a := range artifacts {
		if !seen[filepath.Base(a)] {
			t.Errorf("%s is not in the manifest", filepath.Base(a))
		}
	}
	if len(artifacts) != 200 || !strings.Contains(o.stdout, "tenant-database-199") {
		t.Fatalf("%d artifacts; the full report is in the log too", len(artifacts))
	}

	// A report that fits needs no manifest.
	small := t.TempDir()
	if o := agent(t, small, run{version: "5.26"}); o.report.Manifest != nil {
		t.Fatalf("a one-database report kept a manifest: %s", o.raw)
	}
	if _, err := os.Stat(filepath.Join(small, result.ManifestDir)); err == nil {
		t.Fatal("a manifest folder for a report that fits")
	}

	// Pruning the Backup deletes what its manifest lists, then the manifest; nothing else.
	other := filepath.Join(dir, "neo4j-2026-11-01T02-00-00.backup")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := prune(t, dir, "--manifest="+m.File+"@sha256:"+strings.Repeat("0", 64)); code != 1 {
		t.Fatalf("a manifest that does not match its digest: exit %d, want 1", code)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "tenant-database-*.backup")); len(left) != 200 {
		t.Fatalf("a refused prune deleted %d artifacts", 200-len(left))
	}
	if code := prune(t, dir, "--manifest="+m.File+"@"+m.Digest); code != 0 {
		t.Fatalf("exit %d", code)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "[^.]*"))
	manifests, _ := os.ReadDir(filepath.Join(dir, result.ManifestDir))
	if len(left) != 1 || left[0] != other || len(manifests) != 0 {
		t.Fatalf("left %v and manifests %v", left, manifests)
	}
	if code := prune(t, dir, "--manifest="+m.File+"@"+m.Digest); code != 0 {
		t.Fatalf("a retried prune must succeed, exit %d", code)
	}
}

func prune(t *testing.T, dir string, args ...string) int {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "prune", "--dir=" + dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return 0
}

func TestTerminationStopsNeo4jAdminAndReports(t *testing.T) {
	work := t.TempDir()
	termLog := filepath.Join(work, "termination-log")
	standinLog := filepath.Join(work, "standin.log")
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), "agent", "backup", "--neo4j-version=5.26",
		"--member=graph-2/zone-b/graph-2:6362", "--database=neo4j", "--dir="+filepath.Join(work, "backups"),
		"--pagecache-bytes=8388608", "--temp-dir="+filepath.Join(work, "tmp"), "--termination-log="+termLog)
	cmd.Env = []string{"PATH=" + binDir, "HEAP_SIZE=256m", "STANDIN_NEO4J_VERSION=5.26", "STANDIN_HANG=1", "STANDIN_LOG=" + standinLog}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if data, _ := os.ReadFile(standinLog); bytes.Contains(data, []byte("ARGS")) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("neo4j-admin never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	raw, _ := os.ReadFile(termLog)
	rep, err := result.Decode(raw)
	if err != nil || len(rep.Databases) != 1 || !strings.Contains(rep.Databases[0].Error, "neo4j-admin stopped") {
		t.Fatalf("report %s (%v)", raw, err)
	}
	// /proc, not pgrep: a fresh machine need not have procps.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cmdline, _ := os.ReadFile(p); bytes.Contains(cmdline, []byte("--to-path="+filepath.Join(work, "backups"))) {
			t.Fatalf("neo4j-admin still running: %s", bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
}

func TestTLSPolicyFromTheSecret(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	write := func(dir string, files map[string]string) {
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A cert-manager / kubernetes.io/tls Secret: tls.key (PKCS #1, cert-manager's default),
	// tls.crt, ca.crt. The stand-in loads the policy as Neo4j does: a PKCS #8 key and a CA.
	certManager := t.TempDir()
	write(certManager, map[string]string{"tls.key": string(pkcs1), "tls.crt": "c", "ca.crt": "ca"})
	o := agent(t, t.TempDir(), run{version: "5.26", extra: []string{"--tls-dir=" + certManager}})
	if o.code != 0 || !strings.Contains(o.log, "--additional-config=/tmp/") || !strings.Contains(o.log, "/neo4j-backup-ssl.conf") {
		t.Fatalf("cert-manager names: exit %d, %s\ncalls:\n%s", o.code, o.raw, o.log)
	}
	neo4jNames := t.TempDir()
	write(neo4jNames, map[string]string{"private.key": string(pkcs1), "public.crt": "c", "trusted-ca.crt": "ca", "ignored.txt": "x"})
	if o = agent(t, t.TempDir(), run{version: "5.26", extra: []string{"--tls-dir=" + neo4jNames}}); o.code != 0 {
		t.Fatalf("Neo4j's names: exit %d: %s", o.code, o.raw)
	}
	// No CA: client_auth defaults to REQUIRE for the backup policy. Refused before any call.
	noCA := t.TempDir()
	write(noCA, map[string]string{"tls.key": string(pkcs1), "tls.crt": "c", "ca.crt": ""})
	if o = agent(t, t.TempDir(), run{version: "5.26", extra: []string{"--tls-dir=" + noCA}}); o.code != 2 || !strings.Contains(o.report.Error, "no trusted CA") || o.log != "" {
		t.Fatalf("no CA: exit %d: %s", o.code, o.raw)
	}
	noCert := t.TempDir()
	write(noCert, map[string]string{"tls.key": string(pkcs1), "ca.crt": "ca"})
	if o = agent(t, t.TempDir(), run{version: "5.26", extra: []string{"--tls-dir=" + noCert}}); o.code != 2 || !strings.Contains(o.report.Error, "key pair") {
		t.Fatalf("no certificate: exit %d: %s", o.code, o.raw)
	}
}

func TestPruneDeletesExactlyTheNamedArtifacts(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"neo4j-2026-11-01T02-00-00.backup", "neo4j-2026-11-02T02-00-00.backup", "movies-2026-11-01T02-00-00.backup", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code := prune(t, dir, "--artifact=neo4j-2026-11-01T02-00-00.backup", "--artifact=movies-2026-11-01T02-00-00.backup"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 2 || filepath.Base(left[0]) != "neo4j-2026-11-02T02-00-00.backup" || filepath.Base(left[1]) != "notes.txt" {
		t.Fatalf("left %v", left)
	}
	if code := prune(t, dir, "--artifact=neo4j-2026-11-01T02-00-00.backup"); code != 0 {
		t.Fatalf("a retried prune must succeed, exit %d", code)
	}
	for _, bad := range []string{"../neo4j-2026-11-02T02-00-00.backup", "notes.txt", "neo4j"} {
		if code := prune(t, dir, "--artifact=neo4j-2026-11-02T02-00-00.backup", "--artifact="+bad); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "neo4j-2026-11-02T02-00-00.backup")); err != nil {
		t.Fatal("a refused prune deleted something")
	}
}

// restore runs `agent restore` with the stand-in playing version, data written under data. The
// backup folder dir is mounted read-only, as in the restore pods.
func restore(t *testing.T, version, dir, data string, args ...string) (int, result.Restore, string) {
	t.Helper()
	return restoreEnv(t, version, dir, data, nil, args...)
}

func restoreEnv(t *testing.T, version, dir, data string, env []string, args ...string) (int, result.Restore, string) {
	t.Helper()
	work := t.TempDir()
	termLog := filepath.Join(work, "termination-log")
	standinLog := filepath.Join(work, "standin.log")
	cmd := exec.Command(filepath.Join(binDir, "neo4j-backup-operator"), append([]string{"agent", "restore",
		"--neo4j-version=" + version, "--dir=" + dir, "--data-dir=" + data, "--termination-log=" + termLog}, args...)...)
	cmd.Env = append([]string{"PATH=" + binDir, "HEAP_SIZE=1g", "STANDIN_NEO4J_VERSION=" + version, "STANDIN_LOG=" + standinLog,
		"STANDIN_DATA_DIR=" + data, "STANDIN_READONLY=" + dir}, env...)
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
		t.Fatalf("the agent broke neo4j-admin %s's contract:\n%s", version, logData)
	}
	return code, rep, string(logData)
}

func TestRestoreAChainUntilATransaction(t *testing.T) {
	for _, v := range []string{"5.20", "5.26", "2025.10"} {
		t.Run(v, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			for range 3 {
				agent(t, dir, run{version: v})
			}
			entries, _ := os.ReadDir(dir)
			var chain []string
			for _, e := range entries {
				chain = append(chain, e.Name())
			}
			if len(chain) != 3 {
				t.Fatalf("artifacts: %v", chain)
			}
			// A chain is restored from its last artifact ("<database> ... only allowed if the
			// --from-path option points to a path to a single artifact"), and 15 included is
			// neo4j-admin's --restore-until=16 ("up to, but not including").
			args := []string{"--database=neo4j-restored", "--until-tx=15", "--chain-high-tx=30", "--temp-dir=" + filepath.Join(t.TempDir(), "tmp"), "--stage-dir=" + data}
			for _, a := range chain[:2] {
				args = append(args, "--artifact="+a)
			}
			code, rep, calls := restore(t, v, dir, data, args...)
			if code != 0 || rep.Database != "neo4j-restored" || len(rep.Chain) != 2 || rep.Error != "" {
				t.Fatalf("exit %d: %+v\n%s", code, rep, calls)
			}
			if !strings.Contains(calls, "database restore --from-path=") || !strings.Contains(calls, chain[1]+" --restore-until=16") {
				t.Fatalf("calls:\n%s", calls)
			}
			marker, _ := os.ReadFile(filepath.Join(data, "databases", "neo4j-restored", "restored-from"))
			if !strings.Contains(string(marker), chain[0]+","+chain[1]+" up to transaction 15") {
				t.Fatalf("restored: %s", marker)
			}
			// Before 5.24 there is no --temp-path: the chain is restored from a copy, never from
			// the read-only backup volume, and the copy is removed.
			if got, want := strings.Contains(calls, "--from-path="+dir), v != "5.20"; got != want {
				t.Errorf("restored from the backup folder: %t, want %t\n%s", got, want, calls)
			}
			if left, _ := os.ReadDir(data); len(left) != 1 || left[0].Name() != "databases" {
				t.Errorf("left in the data directory: %v", left)
			}

			By := "an existing database is never touched without replaceExisting"
			code, rep, calls = restore(t, v, dir, data, args...)
			if code != 3 || rep.Reason != "TargetExists" || strings.Contains(calls, "database restore") {
				t.Fatalf("%s: exit %d, %+v, calls %q", By, code, rep, calls)
			}
			code, _, calls = restore(t, v, dir, data, append(args, "--replace")...)
			if code != 0 || !strings.Contains(calls, "--overwrite-destination=true") {
				t.Fatalf("replace: exit %d, calls %q", code, calls)
			}
			// The whole chain, to its last transaction: no predicate at all.
			whole := []string{"--database=whole", "--until-tx=30", "--chain-high-tx=30", "--temp-dir=" + filepath.Join(t.TempDir(), "tmp"), "--stage-dir=" + data}
			for _, a := range chain {
				whole = append(whole, "--artifact="+a)
			}
			if code, rep, calls = restore(t, v, dir, data, whole...); code != 0 || strings.Contains(calls, "--restore-until") {
				t.Fatalf("to the chain's end: exit %d, %+v\n%s", code, rep, calls)
			}
		})
	}

	dir := t.TempDir()
	agent(t, dir, run{version: "5.26"})
	agent(t, dir, run{version: "5.26"})
	entries, _ := os.ReadDir(dir)
	if err := os.Remove(filepath.Join(dir, entries[0].Name())); err != nil {
		t.Fatal(err)
	}
	code, rep, _ := restore(t, "5.26", dir, t.TempDir(), "--database=x-restored", "--artifact="+entries[1].Name(), "--temp-dir="+t.TempDir())
	if code != 1 || rep.Reason != "RestoreFailed" || !strings.Contains(rep.Error, "no backup chain") {
		t.Fatalf("a DIFF without its FULL: exit %d, %+v", code, rep)
	}
}

func TestRestoreLegacyFolder(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	agent(t, dir, run{version: "4.4"})
	code, rep, calls := restore(t, "4.4", dir, data, "--database=neo4j", "--artifact=neo4j")
	if code != 0 || rep.Error != "" || !strings.Contains(calls, "restore --from="+filepath.Join(dir, "neo4j")+" --database=neo4j") {
		t.Fatalf("exit %d, %+v, calls %q", code, rep, calls)
	}
	code, rep, _ = restore(t, "4.4", dir, t.TempDir(), "--database=neo4j", "--artifact=neo4j", "--until-tx=5")
	if code != 2 || !strings.Contains(rep.Error, "no point in time") {
		t.Fatalf("4.4 point in time: exit %d, %+v", code, rep)
	}
}

// The report says how big the backup volume is and what is left on it, as statfs tells a writer
// that is not root, whether the backup succeeded or not: a full volume is what a failed backup
// most needs to say.
func TestReportsTheVolumesSpace(t *testing.T) {
	dir := t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	for _, env := range []map[string]string{nil, {"STANDIN_USAGE_ERROR": "--pagecache"}} {
		o := agent(t, dir, run{version: "5.26", env: env})
		sp := o.report.Space
		if sp == nil || sp.Capacity != int64(st.Blocks)*st.Frsize || sp.Free <= 0 || sp.Free > sp.Capacity {
			t.Fatalf("exit %d: space %+v, volume %d blocks of %d", o.code, sp, st.Blocks, st.Bsize)
		}
	}
}

// A drill restores a chain the stand-in wrote into a scratch data directory and checks the
// restored database there, stopped, with the check's page cache bounded: 5.x `database check`
// without --from-path (a local database), 4.4 `check-consistency --database`. A chain whose DIFF
// copied a damaged store passes every backup (5.x cannot check a DIFF by itself) and fails the
// drill, naming the database and the report, which stays on the scratch volume.
func TestDrillRestoresAndChecksTheChain(t *testing.T) {
	for _, v := range []string{"4.4", "5.20", "5.26", "2025.10"} {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			agent(t, dir, run{version: v, check: true})
			var corrupt map[string]string
			if v == "4.4" {
				// 4.4 checks during the backup; a backup taken without the check carries the
				// damage unseen.
				corrupt = map[string]string{"STANDIN_CORRUPT_DATABASES": "neo4j"}
			}
			agent(t, dir, run{version: v, check: v != "4.4"})
			// The chain: 5.x's artifact files, 4.4's one folder.
			artifacts := func() []string {
				entries, _ := os.ReadDir(dir)
				var names []string
				for _, e := range entries {
					if !e.IsDir() || v == "4.4" {
						names = append(names, e.Name())
					}
				}
				return names
			}
			chain := artifacts()
			drill := func(data string, env []string, extra ...string) (int, result.Restore, string) {
				args := []string{"--database=neo4j", "--temp-dir=" + filepath.Join(t.TempDir(), "tmp"), "--stage-dir=" + data,
					"--replace", "--check", "--check-page-cache-bytes=268435456"}
				for _, a := range chain {
					args = append(args, "--artifact="+a)
				}
				return restoreEnv(t, v, dir, data, env, append(args, extra...)...)
			}

			data := t.TempDir()
			code, rep, calls := drill(data, nil)
			if code != 0 || rep.Error != "" || rep.Consistent == nil || !*rep.Consistent || rep.RestoreTime <= 0 || rep.CheckTime <= 0 {
				t.Fatalf("a clean chain: exit %d, %+v\n%s", code, rep, calls)
			}
			want := "database check --report-path=" + filepath.Join(data, "drill-report") + " --max-off-heap-memory=256m neo4j"
			if v == "4.4" {
				want = "check-consistency --database=neo4j --report-dir=" + filepath.Join(data, "drill-report") + " --additional-config="
			}
			if !strings.Contains(calls, want) {
				t.Fatalf("the check: want %q in\n%s", want, calls)
			}
			if _, err := os.Stat(filepath.Join(data, "drill-report")); err == nil {
				t.Errorf("a clean check left its report folder")
			}

			// The damage: 5.x in a DIFF written now (the backup's check does not cover a DIFF),
			// 4.4 in the folder, backed up without the check.
			if v != "4.4" {
				corrupt = map[string]string{"STANDIN_CORRUPT_DATABASES": "neo4j"}
			}
			o := agent(t, dir, run{version: v, check: v != "4.4", env: corrupt})
			if o.code != 0 {
				t.Fatalf("the damaged backup failed: exit %d\n%s", o.code, o.stdout)
			}
			chain = artifacts()
			data = t.TempDir()
			code, rep, calls = drill(data, nil)
			if code != 3 || rep.Reason != "Inconsistent" || rep.Consistent == nil || *rep.Consistent ||
				!strings.Contains(rep.Error, "database neo4j") || !strings.HasPrefix(rep.Report, "drill-report/inconsistencies-") ||
				!strings.Contains(rep.Error, rep.Report) {
				t.Fatalf("a damaged chain: exit %d, %+v\n%s", code, rep, calls)
			}
			if _, err := os.Stat(filepath.Join(data, rep.Report)); err != nil {
				t.Errorf("the report is not on the scratch volume: %v", err)
			}

			code, rep, _ = drill(t.TempDir(), []string{"STANDIN_CHECK_BROKEN=1"})
			if code != 1 || rep.Reason != "CheckFailed" || rep.Consistent != nil {
				t.Fatalf("a check that cannot run: exit %d, %+v", code, rep)
			}
		})
	}
	code, rep, _ := restore(t, "5.26", t.TempDir(), t.TempDir(), "--database=neo4j", "--artifact=x.backup", "--check")
	if code != 2 || !strings.Contains(rep.Error, "--check-page-cache-bytes") {
		t.Fatalf("an unbounded check: exit %d, %+v", code, rep)
	}
}
