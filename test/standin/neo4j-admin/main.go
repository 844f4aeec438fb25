// Command neo4j-admin is the tests' stand-in for Neo4j Enterprise's neo4j-admin, which cannot be
// installed here. It is the strict reading of Neo4j's Operations Manual (the public repository
// neo4j/docs-operations, one branch or tag per version): every rule it enforces cites the ref,
// the page and the manual's words, and docs/neo4j-contract.md lists them with the tests that
// hold the agent to them. What the manual does not say, it does on the side that would hurt the
// agent (and says so), so an agent that passes does not depend on an undocumented behaviour.
//
// A usage error exits 64, as the real tool does ("64 | The command was invoked with incorrect
// options/parameters", 5.x and dev, tools/neo4j-admin/index.adoc "Exit codes"), and is logged as
// a VIOLATION, which fails the test. Two rules are the project's, not Neo4j's, and are marked so:
// --pagecache and (for a check) --max-off-heap-memory must be given, and HEAP_SIZE must be set.
//
// It writes artifacts the way the real tool does (4.4: a folder per database, rewritten in
// place; 5.x and later: immutable <db>-<local time>.backup files whose header carries the
// metadata that --inspect-path prints) and can be told to fail, hang, or find inconsistencies.
//
// Environment:
//
//	STANDIN_NEO4J_VERSION   the version it plays (4.4, 5.26, 2025.10, ...); required
//	STANDIN_LOG             a file each call appends "ARGS <args>" or "VIOLATION <why>" to
//	STANDIN_DATABASES       the databases the servers hold, for globs (default neo4j,system)
//	STANDIN_UNREACHABLE     comma-separated host:port that refuse the connection
//	STANDIN_FAIL_DATABASES  databases whose backup fails
//	STANDIN_INCONSISTENT    databases whose consistency check finds inconsistencies
//	STANDIN_CORRUPT_DATABASES  databases whose store is damaged: their backups succeed and carry
//	                        the damage (5.x: in the artifact, 4.4: in the folder), a restore
//	                        carries it into the restored database, and a consistency check of
//	                        either finds it. What only a restore drill catches: a DIFF, which
//	                        5.x cannot check by itself
//	STANDIN_CHECK_BROKEN    "1": the consistency check cannot run
//	STANDIN_HANG            "1": hang until killed
//	STANDIN_SIZE            bytes of payload per artifact (default 1024)
//	STANDIN_DATA_DIR        the server's data directory, for restores and dumps (the image's conf
//	                        says /data)
//	STANDIN_READONLY        a folder mounted read-only (the restore pods' backup volume): writing
//	                        into it fails as on a read-only file system
//	STANDIN_INCREMENTAL_FAIL  4.4: databases whose incremental backup fails (then --fallback-to-full)
//	STANDIN_UNRECOVERED     "1": FULL artifacts are written unrecovered (RECOVERED false)
//	TZ                      the JVM's time zone: artifact names carry local time, TIME is UTC
//	STANDIN_NOW             an RFC 3339 time to take as now (a test that runs two months of
//	                        nights in a minute); else the machine's clock
//	STANDIN_JVM_MEMORY      "1" (the Neo4j image stand-in sets it): the JVM really takes its
//	                        memory, the whole heap (HEAP_SIZE), the whole page cache (--pagecache)
//	                        and STANDIN_JVM_NATIVE (default 48m) of its own, so a container limit
//	                        below that is an out-of-memory kill as with the real tool
package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // TZ names the JVM's zone even where the machine has no zone database

	"github.com/graphkeeper/neo4j-backup-operator/test/standin/artifact"
)

type version struct{ major, minor, patch int }

func (v version) legacy() bool { return v.major == 4 }
func (v version) atLeast(major, minor int) bool {
	return v.major > major || (v.major == major && v.minor >= minor)
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// now is STANDIN_NOW, or the machine's clock.
func now() time.Time {
	if t, err := time.Parse(time.RFC3339, os.Getenv("STANDIN_NOW")); err == nil {
		return t
	}
	return time.Now()
}

func logLine(format string, a ...any) {
	if p := os.Getenv("STANDIN_LOG"); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, format+"\n", a...)
			_ = f.Close()
		}
	}
}

// exitUsage: "64 | The command was invoked with incorrect options/parameters. See the printed
// usage for details." (5.x tools/neo4j-admin/index.adoc:328-355; dev
// neo4j-admin-neo4j-cli.adoc:369-396). 4.4 documents no table; the same code is used there.
const exitUsage = 64

func violation(format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	logLine("VIOLATION %s", msg)
	fmt.Fprintln(os.Stderr, "stand-in neo4j-admin: contract violation:", msg)
	return exitUsage
}

// failed is a command that ran and failed: exit 1, "The command failed to execute".
func failed(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	return 1
}

// writable refuses writes under STANDIN_READONLY, as a read-only mount does.
func writable(p string) error {
	ro := os.Getenv("STANDIN_READONLY")
	if ro != "" && (p == ro || strings.HasPrefix(p, strings.TrimSuffix(ro, "/")+"/")) {
		return fmt.Errorf("%s: read-only file system", p)
	}
	return nil
}

// jvm is the memory the JVM holds until it exits.
var jvm [][]byte

// occupy takes the memory a backup JVM holds: "HEAP_SIZE configures the maximum heap size
// allocated for the backup process" and the page cache is "the --pagecache option" (5.x
// backup-restore/online-backup.adoc, "Memory configuration"; 4.4 online-backup.adoc:274-280,
// "The page cache size can be configured by using the `--pagecache` option of the `neo4j-admin
// backup` command"). How much of either a run fills is
// not documented; a large store fills both, so the stand-in takes all of each (the side that
// shows an undersized limit), plus the JVM's own native memory, which the manual does not size
// either. Every page is written, so the memory is resident and counted by the memory cgroup.
func occupy(heap string, args []string) {
	native := os.Getenv("STANDIN_JVM_NATIVE")
	if native == "" {
		native = "48m"
	}
	sizes := []string{heap, native}
	for _, a := range args {
		// The backup's page cache, or a check's off-heap memory ("Maximum memory that
		// neo4j-admin can use for page cache and various caching data structures", 5.x
		// consistency-checker.adoc), when given as a size.
		for _, opt := range []string{"--pagecache=", "--max-off-heap-memory="} {
			if v, ok := strings.CutPrefix(a, opt); ok {
				sizes = append(sizes, v)
			}
		}
	}
	for _, s := range sizes {
		if !sizeRE.MatchString(s) {
			continue // refused as a violation by the command
		}
		n := jvmBytes(s)
		b := make([]byte, n)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		jvm = append(jvm, b)
	}
	fmt.Fprintf(os.Stderr, "stand-in JVM: heap %s, native %s, page cache %v resident\n", heap, native, sizes[2:])
}

// jvmBytes reads a JVM size (512m, 1g, 1024k, 100): what HEAP_SIZE and --pagecache take.
func jvmBytes(s string) int {
	mult := 1
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	n, _ := strconv.Atoi(strings.TrimRight(s, "kKmMgG"))
	return n * mult
}

func run(args []string) int {
	logLine("ARGS %s HEAP_SIZE=%s", strings.Join(args, " "), os.Getenv("HEAP_SIZE"))
	v, err := parseVersion(os.Getenv("STANDIN_NEO4J_VERSION"))
	if err != nil {
		return violation("STANDIN_NEO4J_VERSION: %v", err)
	}
	heap := os.Getenv("HEAP_SIZE")
	if !regexp.MustCompile(`^[0-9]+[kKmMgG]?$`).MatchString(heap) {
		return violation("HEAP_SIZE %q is not a JVM size (e.g. 1g, 512m): the backup JVM would size its heap from the host", heap)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--heap-size") {
			return violation("--heap-size is not an option: the heap comes from HEAP_SIZE")
		}
	}
	if bad := os.Getenv("STANDIN_USAGE_ERROR"); bad != "" && strings.Contains(strings.Join(args, " "), bad) {
		// A test's way to make this version refuse an option the agent passes, as a real
		// neo4j-admin of another version would: usage error, exit 64. Not a violation of ours.
		fmt.Fprintf(os.Stderr, "Unknown option: '%s'\nUsage: neo4j-admin ...\n", bad)
		return exitUsage
	}
	if os.Getenv("STANDIN_JVM_MEMORY") == "1" {
		occupy(heap, args)
	}
	if os.Getenv("STANDIN_HANG") == "1" {
		fmt.Println("connecting...")
		time.Sleep(24 * time.Hour)
		return 1
	}
	switch {
	case v.legacy() && len(args) > 0 && args[0] == "backup":
		return legacyBackup(v, args[1:])
	case !v.legacy() && len(args) > 1 && args[0] == "database" && args[1] == "backup":
		return backup(v, args[2:])
	case !v.legacy() && len(args) > 1 && args[0] == "backup" && args[1] == "inspect":
		return backupInspect(v, args[2:])
	case !v.legacy() && len(args) > 1 && args[0] == "database" && args[1] == "check":
		return check(v, args[2:])
	case v.legacy() && len(args) > 0 && args[0] == "check-consistency":
		return legacyCheck(args[1:])
	case v.legacy() && len(args) > 0 && args[0] == "restore":
		return legacyRestore(args[1:])
	case !v.legacy() && len(args) > 1 && args[0] == "database" && args[1] == "restore":
		return restore(v, args[2:])
	case !v.legacy() && len(args) > 1 && args[0] == "database" && args[1] == "dump":
		return dump(args[2:])
	default:
		return violation("neo4j-admin %s has no command %q", os.Getenv("STANDIN_NEO4J_VERSION"), strings.Join(args, " "))
	}
}

func parseVersion(s string) (version, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return version{}, fmt.Errorf("%q", s)
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return version{}, fmt.Errorf("%q", s)
	}
	patch := 0
	if len(parts) > 2 {
		patch, _ = strconv.Atoi(parts[2])
	}
	return version{maj, min, patch}, nil
}

// parse splits --name=value options (checked against allowed) from positional arguments.
func parse(args []string, allowed map[string]bool) (map[string]string, []string, error) {
	opts := map[string]string{}
	var pos []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !allowed[name] {
			return nil, nil, fmt.Errorf("unknown option --%s", name)
		}
		if !hasVal {
			val = "true"
		}
		opts[name] = val
	}
	return opts, pos, nil
}

// additionalConfig checks that --additional-config names a readable neo4j.conf fragment whose
// lines are settings.
func additionalConfig(opts map[string]string) error {
	p, ok := opts["additional-config"]
	if !ok {
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("--additional-config: %v", err)
	}
	conf := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "dbms.") {
			return fmt.Errorf("--additional-config: %q is not a setting", line)
		}
		conf[k] = v
	}
	return backupPolicy(conf)
}

// backupPolicy loads the "backup" SSL policy the way the manual describes it (5.x
// security/ssl-framework.adoc): "the existence of the directories, the certificate file, and the
// private key are mandatory" (:312-314); "Private keys must be in the standard format ... PKCS #8
// and saved as a PEM-encoded file" (:165); client_auth defaults to "REQUIRE for cluster and
// backup" (:301-304), so the client must trust the server's CA. What an empty trusted_dir does
// is not documented: the stand-in refuses it, the side an agent must not rely on.
func backupPolicy(conf map[string]string) error {
	if conf["dbms.ssl.policy.backup.enabled"] != "true" {
		return nil
	}
	base := conf["dbms.ssl.policy.backup.base_directory"]
	rel := func(k, def string) string {
		v := conf[k]
		if v == "" {
			v = def
		}
		if filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(base, v)
	}
	key, err := os.ReadFile(rel("dbms.ssl.policy.backup.private_key", "private.key"))
	if err != nil {
		return fmt.Errorf("SSL policy backup: %v", err)
	}
	if !strings.HasPrefix(strings.TrimSpace(string(key)), "-----BEGIN PRIVATE KEY-----") {
		return fmt.Errorf("SSL policy backup: the private key is not PKCS #8 (BEGIN PRIVATE KEY)")
	}
	if _, err := os.Stat(rel("dbms.ssl.policy.backup.public_certificate", "public.crt")); err != nil {
		return fmt.Errorf("SSL policy backup: %v", err)
	}
	trusted, err := os.ReadDir(rel("dbms.ssl.policy.backup.trusted_dir", "trusted"))
	if err != nil || len(trusted) == 0 {
		return fmt.Errorf("SSL policy backup: no trusted certificates in trusted_dir (client_auth REQUIRE)")
	}
	return nil
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

var sizeRE = regexp.MustCompile(`^[0-9]+[kKmMgG]?$`)

func envList(name, def string) []string {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// matching expands a name or glob against the databases the servers hold. "Names are
// case-insensitive and normalized to lowercase" (5.26.2, naming-databases.adoc; 4.4,
// manage-databases/configuration.adoc): --database=Movies backs up movies, written as movies.
func matching(pattern string) []string {
	var out []string
	for _, db := range envList("STANDIN_DATABASES", "neo4j,system") {
		if ok, _ := path.Match(strings.ToLower(pattern), db); ok {
			out = append(out, db)
		}
	}
	return out
}

func reachable(from string) error {
	for _, addr := range strings.Split(from, ",") {
		if !strings.Contains(addr, ":") {
			return fmt.Errorf("--from %q is not host:port", addr)
		}
		if !contains(envList("STANDIN_UNREACHABLE", ""), addr) {
			return nil
		}
	}
	return fmt.Errorf("Unable to connect to %s: Connection refused", from)
}

func payload() []byte {
	n, err := strconv.Atoi(os.Getenv("STANDIN_SIZE"))
	if err != nil || n <= 0 {
		n = 1024
	}
	return make([]byte, n)
}

// legacyBackup plays 4.4's `neo4j-admin backup` (4.4, backup-restore/online-backup.adoc).
func legacyBackup(v version, args []string) int {
	opts, pos, err := parse(args, set("from", "backup-dir", "database", "pagecache", "check-consistency",
		"report-dir", "additional-config", "fallback-to-full", "include-metadata", "prepare-restore",
		"parallel-recovery", "check-graph", "check-indexes", "check-index-structure", "check-label-scan-store",
		"check-property-owners", "verbose", "expand-commands"))
	if err != nil {
		return violation("4.4 backup: %v", err)
	}
	if err := additionalConfig(opts); err != nil {
		return violation("%v", err)
	}
	if len(pos) > 0 {
		return violation("4.4 backup takes no positional arguments, got %q (the database is --database)", pos)
	}
	// --pagecache is the project's rule (an unbounded page cache is the known cause of backup
	// OOMs); --from and --backup-dir are the command's.
	for _, need := range []string{"from", "backup-dir", "database", "pagecache"} {
		if opts[need] == "" {
			return violation("4.4 backup without --%s", need)
		}
	}
	if _, ok, code := cloud(v, "backup", opts["backup-dir"]); ok {
		return code // 4.4 has no cloud paths: refused
	}
	if !sizeRE.MatchString(opts["pagecache"]) {
		return violation("--pagecache=%q is not a size", opts["pagecache"])
	}
	for _, b := range []string{"check-consistency", "fallback-to-full"} {
		if c, ok := opts[b]; ok && c != "true" && c != "false" {
			return violation("--%s=%q", b, c)
		}
	}
	if err := reachable(opts["from"]); err != nil {
		return failed("%v", err)
	}
	dbs := matching(opts["database"])
	if len(dbs) == 0 {
		return failed("Database '%s' does not exist", opts["database"])
	}
	// "--database ... The value can contain * and ? for globbing, in which cases, all matching
	// databases will be backed up" (online-backup.adoc:100-104). Exit codes: one database "0
	// Success. 1 Backup failed. 2 Backup succeeded but consistency check failed. 3 Backup
	// succeeded but consistency check found inconsistencies"; several: "0 All databases are
	// backed up successfully. 1 One or several backup failed." (online-backup.adoc:196-215).
	glob := strings.ContainsAny(opts["database"], "*?")
	code := 0
	for _, db := range dbs {
		if contains(envList("STANDIN_FAIL_DATABASES", ""), db) {
			fmt.Fprintf(os.Stderr, "Backup of %s failed: store copy failed\n", db)
			return 1
		}
		dir := filepath.Join(opts["backup-dir"], db)
		if _, statErr := os.Stat(dir); statErr == nil {
			// "the subsequent backups attempt to use the incremental mode" (modes.adoc:45);
			// example output "Destination is not empty, doing incremental backup..." (:67).
			fmt.Printf("Destination is not empty, doing incremental backup of %s...\n", db)
			if contains(envList("STANDIN_INCREMENTAL_FAIL", ""), db) {
				// "--fallback-to-full ... If an incremental backup fails, backup will move the old
				// backup to <name>.err.<N> and fallback on a full backup instead." default true
				// (online-backup.adoc:111-113).
				if opts["fallback-to-full"] == "false" {
					fmt.Fprintf(os.Stderr, "Incremental backup of %s failed and --fallback-to-full=false\n", db)
					return 1
				}
				n := 0
				for ; ; n++ {
					if _, err := os.Stat(fmt.Sprintf("%s.err.%d", dir, n)); err != nil {
						break
					}
				}
				if err := os.Rename(dir, fmt.Sprintf("%s.err.%d", dir, n)); err != nil {
					return failed("%v", err)
				}
				fmt.Printf("Incremental backup of %s failed; moved it to %s.err.%d, doing full backup\n", db, db, n)
			}
		} else {
			fmt.Printf("Doing full backup of %s\n", db)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return failed("%v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "neostore"), payload(), 0o644); err != nil {
			return failed("%v", err)
		}
		if contains(envList("STANDIN_CORRUPT_DATABASES", ""), db) {
			// The store copied is damaged, and so is the folder from now on.
			if err := os.WriteFile(filepath.Join(dir, damagedMarker), nil, 0o644); err != nil {
				return failed("%v", err)
			}
		}
		f, _ := os.OpenFile(filepath.Join(dir, "neostore.transaction.db.0"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		fmt.Fprintf(f, "tx at %s\n", time.Now().UTC().Format(time.RFC3339Nano))
		_ = f.Close()
		// "--check-consistency ... default true"; "--report-dir ... Directory where consistency
		// report will be written", default "." (online-backup.adoc:119-125).
		if opts["check-consistency"] != "false" {
			switch {
			case os.Getenv("STANDIN_CHECK_BROKEN") == "1":
				code = max(code, 2)
			case contains(envList("STANDIN_INCONSISTENT", ""), db) || damaged(dir):
				if err := writeReport(cmp.Or(opts["report-dir"], "."), "ERROR: inconsistent "+db); err != nil {
					return failed("%v", err)
				}
				code = 3
			}
		}
	}
	if glob && code != 0 {
		return 1
	}
	return code
}

// header is an artifact's first line (package artifact, shared with the stand-in cypher-shell).
type header = artifact.Header

// damagedMarker is the file that says a 4.4 backup folder, or a restored database, holds a
// damaged store.
const damagedMarker = "damaged"

func damaged(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, damagedMarker))
	return err == nil
}

// chainDamaged tells whether any artifact of a chain copied a damaged store.
func chainDamaged(chain []header) bool {
	for _, h := range chain {
		if h.Damaged {
			return true
		}
	}
	return false
}

func readHeader(p string) (header, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return header{}, err
	}
	return artifact.ParseHeader(p, data)
}

// artifacts reads the headers of the .backup files in dir, newest first.
func artifacts(dir string) ([]string, map[string]header) {
	entries, _ := os.ReadDir(dir)
	heads := map[string]header{}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".backup") {
			continue
		}
		h, err := readHeader(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		heads[e.Name()] = h
		names = append(names, e.Name())
	}
	sort.Slice(names, func(i, j int) bool { return heads[names[i]].Time > heads[names[j]].Time })
	return names, heads
}

// chainEndingAt finds, in dir, the chain of database db that ends at artifact end: a FULL and
// contiguous DIFFs. Restore: "a differential backup, in which case the command tries first to
// find in the folder a backup chain ending at that specific differential backup and then restores
// that chain" (5.26.2, backup-restore/restore-backup.adoc:81). Empty DIFFs (0..0) are skipped.
func chainEndingAt(dir, end string) ([]string, []header, error) {
	names, heads := artifacts(dir)
	return artifact.ChainEndingAt(dir, names, heads, end)
}

// backup plays 5.x / 2025.x `neo4j-admin database backup` (backup-restore/online-backup.adoc).
func backup(v version, args []string) int {
	allowed := set("from", "to-path", "type", "pagecache", "compress", "keep-failed", "include-metadata",
		"parallel-recovery", "additional-config", "inspect-path", "verbose", "expand-commands")
	// "--temp-path ... label:new[Introduced in 5.24]" (5.x :173).
	if v.atLeast(5, 24) {
		allowed["temp-path"] = true
	}
	// "--prefer-diff-as-parent ... label:new[Introduced in 2025.04]" (2025.05.0 :163).
	if v.atLeast(2025, 4) {
		allowed["prefer-diff-as-parent"] = true
	}
	// "--remote-address-resolution ... label:new[Introduced in 2025.09]" (2025.10.1 :168).
	if v.atLeast(2025, 9) {
		allowed["remote-address-resolution"] = true
	}
	opts, pos, err := parse(args, allowed)
	if err != nil {
		return violation("%d.%d database backup: %v", v.major, v.minor, err)
	}
	if err := additionalConfig(opts); err != nil {
		return violation("%v", err)
	}
	if dir := opts["inspect-path"]; dir != "" {
		if cloudRE.MatchString(dir) {
			// "List and show the metadata of the backup artifact(s). Accepts a folder or a
			// file." (5.x online-backup.adoc:155-156): a bucket is not documented. Refused, so
			// that nothing comes to rely on it.
			return violation("--inspect-path=%s: the manual documents a folder or a file, not a bucket", dir)
		}
		return inspect(v, dir)
	}
	if c, ok, code := cloud(v, "database backup", opts["to-path"]); ok {
		if code != 0 {
			return code
		}
		return inBucket(c, staging(opts), true, func(local string) int { return backup(v, withOption(args, "to-path", local)) })
	}
	// "--to-path ... (required unless --inspect-path is used)" (5.x :177); --from has no
	// default in 5.x (:131); --pagecache is the project's rule.
	for _, need := range []string{"from", "to-path", "pagecache"} {
		if opts[need] == "" {
			return violation("database backup without --%s", need)
		}
	}
	if !sizeRE.MatchString(opts["pagecache"]) {
		return violation("--pagecache=%q is not a size", opts["pagecache"])
	}
	// "--type ... Possible values are: FULL, DIFF, AUTO" default AUTO (5.x :180-184).
	typ := opts["type"]
	if typ == "" {
		typ = "AUTO"
	}
	if typ != "FULL" && typ != "DIFF" && typ != "AUTO" {
		return violation("--type=%q", typ)
	}
	// "<database> is required unless --inspect-path is used" (5.20.0 :101); several
	// positional names from 5.16 (shared/notes/neo4j-admin.md).
	if len(pos) == 0 {
		return violation("database backup without <database>")
	}
	if len(pos) > 1 && !v.atLeast(5, 16) {
		return violation("database backup takes one <database> before 5.16, got %q", pos)
	}
	// "--from ... Comma-separated list of host and port of Neo4j instances, each of which are
	// tried in order" (5.x :131-132).
	if err := reachable(opts["from"]); err != nil {
		return failed("%v", err)
	}
	dir := opts["to-path"]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failed("%v", err)
	}
	// "0 All databases are backed up successfully. 1 One or several backups failed, or succeeded
	// with problems." (5.x :212-229)
	bad := false
	for _, p := range pos {
		dbs := matching(p)
		if len(dbs) == 0 {
			fmt.Fprintf(os.Stderr, "Database '%s' does not exist\n", p)
			bad = true
		}
		for _, db := range dbs {
			if contains(envList("STANDIN_FAIL_DATABASES", ""), db) {
				fmt.Fprintf(os.Stderr, "Backup of %s failed: store copy failed\n", db)
				bad = true
				continue
			}
			if err := writeArtifact(dir, db, typ); err != nil {
				fmt.Fprintln(os.Stderr, err)
				bad = true
			}
		}
	}
	if bad {
		return 1
	}
	return 0
}

func writeArtifact(dir, db, typ string) error {
	names, heads := artifacts(dir)
	var prev *header
	for _, n := range names {
		if h := heads[n]; h.Database == db {
			prev = &h
			break
		}
	}
	full := typ == "FULL" || (typ == "AUTO" && prev == nil)
	if typ == "DIFF" && prev == nil {
		return fmt.Errorf("DIFF backup of %s needs a previous backup in %s", db, dir)
	}
	h := header{Database: db, Full: full, Recovered: full && os.Getenv("STANDIN_UNRECOVERED") != "1",
		Damaged: contains(envList("STANDIN_CORRUPT_DATABASES", ""), db)}
	step := int64(10)
	switch {
	case full && prev != nil:
		h.LowTx, h.HighTx = 1, prev.HighTx+step
	case full:
		h.LowTx, h.HighTx = 1, step
	default:
		h.LowTx, h.HighTx = prev.HighTx+1, prev.HighTx+step
	}
	// The name carries the JVM's local time, the header UTC: the manual's example lists file
	// neo4j-2023-06-29T14-46-27.backup with TIME 2023-06-29T13:46:27 (5.20.0,
	// restore-backup.adoc:145-148). TZ sets the local time here as it does for a JVM.
	t := now().Truncate(time.Second)
	var name string
	for {
		name = fmt.Sprintf("%s-%s.backup", db, t.Local().Format("2006-01-02T15-04-05"))
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			break
		}
		t = t.Add(time.Second)
	}
	h.Time = t.UTC().Format("2006-01-02T15:04:05")
	line, _ := json.Marshal(h)
	fmt.Printf("Backup of %s: %s (%s)\n", db, name, map[bool]string{true: "full", false: "differential"}[full])
	return os.WriteFile(filepath.Join(dir, name), append(append(line, '\n'), payload()...), 0o644)
}

// inspect prints the artifacts' metadata as the real tool's tabular output does. The
// --inspect-path example (restore-backup.adoc, 5.20.0 to dev) has the header "FILE | DATABASE |
// DATABASE ID | TIME | FULL | COMPRESSED | LOWEST TX | HIGHEST TX"; `backup inspect` prints "TIME
// (UTC)" (5.26.2 inspect.adoc:147) and from 2025.06 a RECOVERED column ("label:new[Introduced in
// 2025.06] Recovered", dev inspect.adoc:25). Which of these --inspect-path prints from 2025.06 is
// not documented: the stand-in prints the newer header there, so the agent meets both.
func inspect(v version, dir string) int {
	newer := v.atLeast(2025, 6)
	return inspectTable{metadata: true, empty: true, recovered: newer, plainTime: !newer}.print(dir)
}

// backupInspect plays `neo4j-admin backup inspect` (5.25.1 and 5.x backup-restore/inspect.adoc,
// 2025.x the same page): "neo4j-admin backup inspect [-h] [--empty] [--expand-commands]
// [--latest-backup] [--latest-chain] [--show-metadata] [--verbose] [--additional-config=<file>]
// [--database=<database>] [--format=<value>] <backup-path>" (5.x :31-34). The page is new in
// 5.25 (":page-role: enterprise-edition new-5.25", :4; not in the 5.24.1 tag). "The
// <backup-path> parameter can also inspect backups stored in AWS S3 buckets (from Neo4j 5.19),
// Google Cloud storage buckets (from Neo4j 5.21), and Azure buckets (from Neo4j 5.24)" (:56).
// "--show-metadata": "If you are on a previous version of Neo4j [before 2025.07], you must
// specify the --show-metadata option to see the backup metadata" (2025.08.0 :40); "Starting with
// Neo4j 2025.07, the --show-metadata option is deprecated and ignored" (:119). Without it the
// stand-in prints the FILE column only (what the real tool prints then is not documented).
// "--empty: Include empty backups" (5.x :101-103); without it, empty DIFFs are left out.
// "--latest-backup", "--latest-chain" and "--format=JSON" are not played (the agent uses none).
// How the real tool reads a bucket (whole objects or their headers) is not documented: the
// stand-in copies the folder to its own temporary folder.
func backupInspect(v version, args []string) int {
	if !v.atLeast(5, 25) {
		return violation("neo4j-admin %d.%d has no backup inspect: it is new in 5.25 (inspect.adoc, page-role new-5.25)", v.major, v.minor)
	}
	allowed := set("empty", "expand-commands", "latest-backup", "latest-chain", "show-metadata", "verbose",
		"additional-config", "database", "format")
	opts, pos, err := parse(args, allowed)
	if err != nil {
		return violation("%d.%d backup inspect: %v", v.major, v.minor, err)
	}
	if err := additionalConfig(opts); err != nil {
		return violation("%v", err)
	}
	if len(pos) != 1 {
		return violation("backup inspect takes one <backup-path>, got %q", pos)
	}
	for _, o := range []string{"latest-backup", "latest-chain"} {
		if opts[o] != "" {
			return failed("the stand-in does not play backup inspect --%s", o)
		}
	}
	if f := opts["format"]; f != "" && !strings.EqualFold(f, "TABULAR") {
		return failed("the stand-in does not play backup inspect --format=%s", f)
	}
	table := inspectTable{
		metadata:  opts["show-metadata"] == "true" || v.atLeast(2025, 7),
		empty:     opts["empty"] == "true",
		database:  opts["database"],
		recovered: v.atLeast(2025, 6),
	}
	target := pos[0]
	if c, ok, code := cloud(v, "backup inspect", target); ok {
		if code != 0 {
			return code
		}
		return inBucket(c, os.TempDir(), false, func(local string) int {
			table.uri = func(name string) string { return c.String() + "/" + name }
			return table.print(local)
		})
	}
	if info, err := os.Stat(target); err != nil {
		return failed("%v", err)
	} else if !info.IsDir() {
		return failed("the stand-in inspects folders, not the single file %s", target)
	}
	return table.print(target)
}

// inspectTable prints backup inspect's table: the header of 5.x inspect.adoc:147 ("FILE |
// DATABASE | DATABASE ID | TIME (UTC) | FULL | COMPRESSED | LOWEST TX | HIGHEST TX"), and from
// 2025.06 "Recovered" ("label:new[Introduced in 2025.06] *Recovered*", dev inspect.adoc:25).
type inspectTable struct {
	metadata, empty, recovered bool
	// plainTime heads the time column "TIME", as --inspect-path's example before 2025.06 does.
	plainTime bool
	database  string
	// uri names an artifact in FILE: file://<path> for a folder (5.x :148), the bucket's URI for
	// a bucket (not documented).
	uri func(name string) string
}

func (t inspectTable) print(dir string) int {
	names, heads := artifacts(dir)
	timeHeader := "         TIME (UTC)"
	if t.plainTime {
		timeHeader = "               TIME"
	}
	switch {
	case !t.metadata:
		fmt.Println("| FILE |")
	case t.recovered:
		fmt.Println("|                                              FILE | DATABASE |                          DATABASE ID | " + timeHeader + " |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX | RECOVERED |")
	default:
		fmt.Println("|                                              FILE | DATABASE |                          DATABASE ID | " + timeHeader + " |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX |")
	}
	for _, n := range names {
		h := heads[n]
		if (t.database != "" && h.Database != t.database) || (!t.empty && !h.Full && h.LowTx == 0 && h.HighTx == 0) {
			continue
		}
		file := "file://" + filepath.Join(dir, n)
		if t.uri != nil {
			file = t.uri(n)
		}
		if !t.metadata {
			fmt.Printf("| %s |\n", file)
			continue
		}
		row := fmt.Sprintf("| %s | %s | 00000000-0000-0000-0000-000000000000 | %s | %t | true | %d | %d |",
			file, h.Database, h.Time, h.Full, h.LowTx, h.HighTx)
		if t.recovered {
			row += fmt.Sprintf(" %t |", h.Recovered)
		}
		fmt.Println(row)
	}
	return 0
}

// offHeapRE: "Value can be plain numbers, like 10000000 or e.g. 20G for 20 gigabytes, or even
// e.g. 70%" (5.x consistency-checker.adoc:100-102).
var offHeapRE = regexp.MustCompile(`^([0-9]+[kKmMgG]?|[0-9]{1,3}%)$`)

// check plays `neo4j-admin database check` of a backup, or of a stopped database of the data
// directory (5.x tools/neo4j-admin/consistency-checker.adoc; 2025.x
// backup-restore/consistency-checker.adoc): "[[--from-path-data=<path> --from-path-txn=<path>] |
// [--from-path=<path> [--temp-path=<path>]]] <database>" (5.0 :31, 5.x :19, dev :20).
func check(v version, args []string) int {
	// --temp-path exists from the 5.0 branch: "a staging area to extract dump/backup artifacts"
	// (5.0 consistency-checker.adoc:108-110).
	allowed := set("from-path", "report-path", "additional-config", "check-counts", "check-graph", "check-indexes",
		"check-property-owners", "max-off-heap-memory", "threads", "verbose", "force", "expand-commands", "temp-path",
		"from-path-data", "from-path-txn")
	opts, pos, err := parse(args, allowed)
	if err != nil {
		return violation("database check: %v", err)
	}
	if len(pos) != 1 {
		return violation("database check takes one database, got %q", pos)
	}
	_, data := opts["from-path-data"]
	_, txn := opts["from-path-txn"]
	_, from := opts["from-path"]
	_, temp := opts["temp-path"]
	switch {
	case data != txn:
		return violation("database check: --from-path-data and --from-path-txn go together")
	case data && from:
		return violation("database check: --from-path-data/--from-path-txn and --from-path exclude each other")
	case temp && !from:
		return violation("database check: --temp-path goes with --from-path")
	}
	// The project's rule: "--max-off-heap-memory ... Default 90%" of "currently free memory on
	// the machine" (5.x :100-102), which in a pod whose limit is its request is the node's.
	mem, ok := opts["max-off-heap-memory"]
	if !ok {
		return violation("database check without --max-off-heap-memory: it would take 90%% of the node's free memory")
	}
	if !offHeapRE.MatchString(mem) {
		return violation("--max-off-heap-memory=%q is not a size", mem)
	}
	if err := additionalConfig(opts); err != nil {
		return violation("%v", err)
	}
	db := strings.ToLower(pos[0])
	if !from {
		// "Check the consistency of a local database. Note that the database must be stopped
		// first. bin/neo4j-admin database check neo4j" (5.x :147-153); --from-path-data is "Path
		// to the databases directory", default server.directories.data/databases (:108-110).
		dir, code := localDatabase("database check of a local database", opts["from-path-data"], db)
		if code != 0 {
			return code
		}
		if os.Getenv("STANDIN_CHECK_BROKEN") == "1" {
			return failed("consistency check failed: out of memory")
		}
		if damaged(dir) || contains(envList("STANDIN_INCONSISTENT", ""), db) {
			return inconsistencies(opts["report-path"], db)
		}
		fmt.Printf("Database %s is consistent\n", db)
		return 0
	}
	path := opts["from-path"]
	if path == "" {
		return violation("database check of a backup with an empty --from-path")
	}
	if c, ok, code := cloud(v, "database check", path); ok {
		if code != 0 {
			return code
		}
		// A folder (the manual's example: --from-path=s3://myBucket/myDirectory/, :234), or
		// from 2025.09 an artifact in it.
		folder, name := c, ""
		if strings.HasSuffix(c.folder, ".backup") {
			folder, name = cloudFolder(c)
		}
		return inBucket(folder, staging(opts), false, func(local string) int {
			return check(v, withOption(args, "from-path", filepath.Join(local, name)))
		})
	}
	var chain []header
	if info, err := os.Stat(path); err == nil && !info.IsDir() {
		// "label:changed[Changed in 2025.09] Path to a backup file or a directory ... If the path
		// is to a single file, that artifact is selected" (2025.10.1 :118). Before: "Path to the
		// directory containing dump/backup artifacts" (5.26.2 :117).
		if !v.atLeast(2025, 9) {
			return failed("--from-path=%s is not a directory", path)
		}
		h, err := readHeader(path)
		if err != nil {
			return failed("%v", err)
		}
		if h.Database != db {
			return failed("%s is a backup of %s, not %s", path, h.Database, db)
		}
		chain = []header{h}
		if !h.Full {
			chain = append([]header{{Full: false}}, h) // a DIFF is a chain of more than itself
		}
	} else {
		// "If the directory contains multiple backups, it will select the most recent backup
		// chain, based on the transaction IDs found" (5.26.2 :117).
		names, heads := artifacts(path)
		newest := ""
		for _, n := range names {
			h := heads[n]
			if h.Database == db && !(h.LowTx == 0 && h.HighTx == 0 && !h.Full) && (newest == "" || h.HighTx > heads[newest].HighTx) {
				newest = n
			}
		}
		if newest == "" {
			return failed("no backup of %s in %s", db, path)
		}
		_, hs, err := chainEndingAt(path, newest)
		if err != nil {
			return failed("%v", err)
		}
		chain = hs
	}
	// "consistency check is not supported for differential backups. The backup chain must be
	// aggregated into a full backup artifact before running consistency check." On the 5.x
	// branch (consistency-checker.adoc:204-205) since August 2025, in no tag, so which 5.26 patch
	// starts refusing is not documented: the stand-in refuses on every 5.26. From tag 2025.08.0.
	if len(chain) > 1 && (v.atLeast(2025, 8) || (v.major == 5 && v.minor == 26)) {
		return failed("Consistency check is not supported for differential backups: aggregate the backup chain into a full backup artifact first")
	}
	// 2025.09.0 (:205-206): "not supported for differential backups or unrecovered full backups".
	if v.atLeast(2025, 9) && !chain[len(chain)-1].Recovered {
		return failed("Consistency check is not supported for unrecovered full backups: aggregate it into a recovered artifact first")
	}
	// "--temp-path ... Default <from-path>" (5.x :120-122): without it, it stages there.
	tmp := opts["temp-path"]
	if tmp == "" {
		tmp = path
	}
	if err := writable(tmp); err != nil {
		return failed("%v", err)
	}
	if os.Getenv("STANDIN_CHECK_BROKEN") == "1" {
		return failed("consistency check failed: out of memory")
	}
	if contains(envList("STANDIN_INCONSISTENT", ""), db) || chainDamaged(chain) {
		return inconsistencies(opts["report-path"], db)
	}
	fmt.Printf("Database %s is consistent\n", db)
	return 0
}

// inconsistencies ends a 5.x check that found errors: "If the consistency checker finds errors,
// it exits with an exit code other than 0 and writes a report file with a name in the format
// inconsistencies-YYYY-MM-DD.HH24.MI.SS.report" (5.x :133-135); --report-path is "Interpreted as
// a directory, unless it has an extension of .report", default "." (:95-97).
func inconsistencies(rp, db string) int {
	text := "ERROR: The property chain of node 17 is inconsistent in database " + db
	if rp = cmp.Or(rp, "."); strings.HasSuffix(rp, ".report") {
		_ = os.WriteFile(rp, []byte(text+"\n"), 0o644)
	} else {
		_ = writeReport(rp, text)
	}
	return failed("Database check found inconsistencies")
}

// writeReport writes a report of inconsistencies into dir under the name both versions give it,
// "inconsistencies-YYYY-MM-DD.HH24.MI.SS.report" (4.4 consistency-checker.adoc:62; 5.x :134).
func writeReport(dir, text string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := "inconsistencies-" + time.Now().UTC().Format("2006-01-02.15.04.05") + ".report"
	return os.WriteFile(filepath.Join(dir, name), []byte(text+"\n"), 0o644)
}

// legacyCheck plays 4.4's `neo4j-admin check-consistency ([--database=<database>] |
// [--backup=<path>]) [--verbose] [--additional-config=<path>] [--check-graph] [--check-indexes]
// [--check-index-structure] [--check-label-scan-store] [--check-property-owners]
// [--report-dir=<path>]` (4.4 tools/neo4j-admin/consistency-checker.adoc:17-26). "--backup ...
// Cannot be used together with --database" (:47); "If the consistency checker finds errors, it
// will exit with an exit code of 1 and write a report file" (:62) in --report-dir, default "."
// (:50). The project's rule: the page cache is bounded with dbms.memory.pagecache.size in
// --additional-config, since "If no page cache memory is configured, then a heuristic setting is
// computed based on available system resources" (4.4 configuration/configuration-settings.adoc,
// dbms.memory.pagecache.size), the node's.
func legacyCheck(args []string) int {
	opts, pos, err := parse(args, set("database", "backup", "verbose", "additional-config", "check-graph", "check-indexes",
		"check-index-structure", "check-label-scan-store", "check-property-owners", "report-dir", "expand-commands"))
	if err != nil {
		return violation("4.4 check-consistency: %v", err)
	}
	if len(pos) > 0 {
		return violation("4.4 check-consistency takes no positional arguments, got %q", pos)
	}
	_, hasDB := opts["database"]
	_, hasBackup := opts["backup"]
	if hasDB && hasBackup {
		return violation("4.4 check-consistency: --backup cannot be used together with --database")
	}
	if err := additionalConfig(opts); err != nil {
		return violation("%v", err)
	}
	conf, _ := os.ReadFile(opts["additional-config"])
	if !regexp.MustCompile(`(?m)^dbms\.memory\.pagecache\.size=[0-9]+[kKmMgG]?$`).Match(conf) {
		return violation("4.4 check-consistency without dbms.memory.pagecache.size in --additional-config: the page cache would be sized from the machine")
	}
	var dir string
	db := opts["database"]
	switch {
	case hasBackup:
		dir = opts["backup"]
	default:
		if db == "" {
			db = "neo4j" // "--database | neo4j | Name of database." (:46)
		}
		var code int
		if dir, code = localDatabase("4.4 check-consistency of a database", "", strings.ToLower(db)); code != 0 {
			return code
		}
	}
	if os.Getenv("STANDIN_CHECK_BROKEN") == "1" {
		return failed("consistency check failed: out of memory")
	}
	if damaged(dir) || contains(envList("STANDIN_INCONSISTENT", ""), strings.ToLower(db)) {
		_ = writeReport(cmp.Or(opts["report-dir"], "."), "ERROR: The property chain of node 17 is inconsistent in "+dir)
		return failed("Inconsistencies found")
	}
	fmt.Println("Full Consistency Check")
	return 0
}

// localDatabase is the folder of database db in databases (default: the data directory's,
// STANDIN_DATA_DIR/databases), or the exit of cmd when there is none to read: a violation
// without a data directory, a failure when db was never restored there.
func localDatabase(cmd, databases, db string) (dir string, code int) {
	if databases == "" {
		root := os.Getenv("STANDIN_DATA_DIR")
		if root == "" {
			return "", violation("%s without STANDIN_DATA_DIR (the server's data directory)", cmd)
		}
		databases = filepath.Join(root, "databases")
	}
	dir = filepath.Join(databases, db)
	if _, err := os.Stat(filepath.Join(dir, "restored-from")); err != nil {
		return "", failed("Database does not exist: %s", db)
	}
	return dir, 0
}

// restoreInto writes the restored database's folder, refusing an existing one unless force (4.4
// --force "Replaces an existing database", restore-backup.adoc:65; 5.x --overwrite-destination "If
// an existing database should be replaced", 5.26.2 restore-backup.adoc:90).
func restoreInto(db string, force bool, what string, isDamaged bool) int {
	data := os.Getenv("STANDIN_DATA_DIR")
	if data == "" {
		return violation("restore without STANDIN_DATA_DIR (the server's data directory)")
	}
	target := filepath.Join(data, "databases", db)
	if _, err := os.Stat(target); err == nil && !force {
		fmt.Fprintf(os.Stderr, "Database with name [%s] already exists\n", db)
		return 1
	}
	_ = os.RemoveAll(target)
	if err := os.MkdirAll(target, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if isDamaged {
		// A damaged store restores as damaged: only a consistency check tells.
		if err := os.WriteFile(filepath.Join(target, damagedMarker), nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := os.WriteFile(filepath.Join(target, "restored-from"), []byte(what+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("Restored %s\n", db)
	return 0
}

// legacyRestore plays 4.4's `neo4j-admin restore --from --database [--force]`.
func legacyRestore(args []string) int {
	// "neo4j-admin restore --from=<path>[,<path>...] ... [--database=<database>] [--force]
	// [--move]" (4.4 restore-backup.adoc:26-30).
	opts, pos, err := parse(args, set("from", "database", "force", "move", "verbose", "expand-commands"))
	if err != nil {
		return violation("4.4 restore: %v", err)
	}
	if len(pos) > 0 || opts["from"] == "" || opts["database"] == "" {
		return violation("4.4 restore needs --from and --database and no positional arguments")
	}
	if info, err := os.Stat(opts["from"]); err != nil || !info.IsDir() {
		fmt.Fprintf(os.Stderr, "backup folder %s not found\n", opts["from"])
		return 1
	}
	return restoreInto(opts["database"], opts["force"] == "true", "folder "+opts["from"], damaged(opts["from"]))
}

var untilRE = regexp.MustCompile(`^([0-9]+|[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})$`)

// restore plays 5.x / 2025.x `neo4j-admin database restore` (backup-restore/restore-backup.adoc).
func restore(v version, args []string) int {
	allowed := set("from-path", "restore-until", "overwrite-destination", "parallel-recovery", "additional-config",
		"verbose", "expand-commands", "to-path-data", "to-path-txn")
	// "--temp-path ... label:new[Introduced in 5.24]" (5.x :144).
	if v.atLeast(5, 24) {
		allowed["temp-path"] = true
	}
	// "--source-database ... label:new[Introduced in 2025.02]" (2025.03.0 :104).
	if v.atLeast(2025, 2) {
		allowed["source-database"] = true
	}
	opts, pos, err := parse(args, allowed)
	if err != nil {
		return violation("%d.%d database restore: %v", v.major, v.minor, err)
	}
	if opts["from-path"] == "" || len(pos) > 1 {
		return violation("database restore needs --from-path and at most one <database>")
	}
	paths := strings.Split(opts["from-path"], ",")
	// "[<database>] Name of the database after restore. Usage of this parameter is only allowed
	// if the --from-path option points to a path to a single artifact." (:57)
	if len(pos) == 1 && len(paths) > 1 {
		return violation("<database> %s with %d paths in --from-path: only allowed with a single artifact (a list restores several databases, each as itself)", pos[0], len(paths))
	}
	for _, p := range paths {
		c, ok, code := cloud(v, "database restore", p)
		switch {
		case !ok:
			continue
		case code != 0:
			return code
		case len(paths) > 1:
			return failed("the stand-in restores one bucket path at a time, not %d", len(paths))
		}
		folder, name := cloudFolder(c)
		return inBucket(folder, staging(opts), false, func(local string) int {
			return restore(v, withOption(args, "from-path", filepath.Join(local, name)))
		})
	}
	until, hasUntil := opts["restore-until"]
	if hasUntil && !untilRE.MatchString(until) {
		return violation("--restore-until=%q: want a transaction id or a UTC date and time such as 2021-09-11 10:15:30", until)
	}
	// "If --temp-path is not set, a temporary directory is created inside the directory
	// specified by the --from-path option." (5.x :162, from 5.24). Before 5.24 where it stages
	// is not documented: the stand-in takes the same place, the side that breaks a read-only
	// backup mount.
	for _, p := range paths {
		tmp := opts["temp-path"]
		if tmp == "" {
			tmp = filepath.Dir(p)
		}
		if err := writable(filepath.Join(tmp, "neo4j-restore-tmp")); err != nil {
			return failed("Failed to create a temporary directory: %v", err)
		}
	}
	code := 0
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return failed("%s: %v", p, err)
		}
		if info.IsDir() {
			// "The path can point to an individual backup artifact, a folder that contains
			// artifacts, or a comma-separated list" from 2025.03.0 (:79); before, "paths pointing
			// to a backup artifact file" (5.26.2 :80).
			return failed("%s is a directory: give the path of a backup artifact", p)
		}
		// "An artifact file can be 1) a full backup, in which case it is restored directly or,
		// 2) a differential backup, in which case the command tries first to find in the folder
		// a backup chain ending at that specific differential backup and then restores that
		// chain." (:81)
		names, hs, err := chainEndingAt(filepath.Dir(p), filepath.Base(p))
		if err != nil {
			return failed("%v", err)
		}
		db := hs[0].Database
		if len(pos) == 1 {
			db = strings.ToLower(pos[0])
		}
		applied := hs[len(hs)-1].HighTx
		what := "chain " + strings.Join(names, ",")
		if hasUntil {
			if tx, err := strconv.ParseInt(until, 10, 64); err == nil {
				// "The restore recovers transaction logs up to, but not including, the
				// transaction 123." (:100-103). A bound the chain cannot meet (inside the FULL,
				// which cannot be rewound, or past the chain's end) is not documented: refused.
				if tx <= hs[0].HighTx || tx > applied {
					return failed("--restore-until=%d: the chain %s holds transactions %d to %d", tx, what, hs[0].HighTx+1, applied)
				}
				applied = tx - 1
			} else {
				what += " committed before " + until + " UTC"
				applied = -1 // which transaction that is, the transaction logs say
			}
		}
		if applied >= 0 {
			what += fmt.Sprintf(" up to transaction %d", applied)
		}
		if c := restoreInto(db, opts["overwrite-destination"] == "true", what, chainDamaged(hs)); c != 0 {
			code = c
		}
	}
	return code
}

// dump plays 5.x / 2025.x `neo4j-admin database dump --to-path=<dir> <database>` ("neo4j-admin
// database dump [--overwrite-destination[=true|false]] [--additional-config=<file>] [--to-path=<path>
// | --to-stdout] <database>", 5.26.2 backup-restore/offline-backup.adoc:27-30; --overwrite-destination
// "Overwrite any existing dump file in the destination folder", :79-80): it reads the database of
// the data directory and writes <dir>/<database>.dump, which says what it holds.
func dump(args []string) int {
	opts, pos, err := parse(args, set("to-path", "overwrite-destination", "additional-config", "verbose", "expand-commands"))
	if err != nil {
		return violation("database dump: %v", err)
	}
	if len(pos) != 1 || opts["to-path"] == "" {
		return violation("database dump needs --to-path and one database")
	}
	dir, code := localDatabase("dump", "", pos[0])
	if code != 0 {
		return code
	}
	what, err := os.ReadFile(filepath.Join(dir, "restored-from"))
	if err != nil {
		return failed("%v", err)
	}
	out := filepath.Join(opts["to-path"], pos[0]+".dump")
	if _, err := os.Stat(out); err == nil && opts["overwrite-destination"] != "true" {
		fmt.Fprintf(os.Stderr, "%s already exists\n", out)
		return 1
	}
	line, _ := json.Marshal(map[string]string{"dump": pos[0], "of": strings.TrimSpace(string(what))})
	if err := os.WriteFile(out, append(append(line, '\n'), payload()...), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("Dumped %s to %s\n", pos[0], out)
	return 0
}
