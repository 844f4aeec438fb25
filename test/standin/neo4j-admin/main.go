// Command neo4j-admin is the tests' stand-in for Neo4j Enterprise's neo4j-admin, which cannot be
// installed here. It enforces the documented argument contract of the version it plays
// (shared/notes/neo4j-admin.md): any option that version does not have, a missing HEAP_SIZE, a
// --heap-size flag, or a missing --pagecache is a contract violation, logged and failed loudly.
// It writes artifacts the way the real tool does (4.4: a folder per database, rewritten in
// place; 5.x and later: immutable <db>-<time>.backup files whose header carries the metadata
// that --inspect-path prints) and can be told to fail, hang, or find inconsistencies.
//
// Environment:
//
//	STANDIN_NEO4J_VERSION   the version it plays (4.4, 5.26, 2025.10, ...); required
//	STANDIN_LOG             a file each call appends "ARGS <args>" or "VIOLATION <why>" to
//	STANDIN_DATABASES       the databases the servers hold, for globs (default neo4j,system)
//	STANDIN_UNREACHABLE     comma-separated host:port that refuse the connection
//	STANDIN_FAIL_DATABASES  databases whose backup fails
//	STANDIN_INCONSISTENT    databases whose consistency check finds inconsistencies
//	STANDIN_CHECK_BROKEN    "1": the consistency check cannot run
//	STANDIN_HANG            "1": hang until killed
//	STANDIN_SIZE            bytes of payload per artifact (default 1024)
//	STANDIN_DATA_DIR        the server's data directory, for restores and dumps (the image's conf
//	                        says /data)
package main

import (
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
)

type version struct{ major, minor int }

func (v version) legacy() bool { return v.major == 4 }
func (v version) atLeast(major, minor int) bool {
	return v.major > major || (v.major == major && v.minor >= minor)
}

func main() {
	os.Exit(run(os.Args[1:]))
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

func violation(format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	logLine("VIOLATION %s", msg)
	fmt.Fprintln(os.Stderr, "stand-in neo4j-admin: contract violation:", msg)
	return 1
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
	case !v.legacy() && len(args) > 1 && args[0] == "database" && args[1] == "check":
		return check(v, args[2:])
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
	return version{maj, min}, nil
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
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, _, ok := strings.Cut(line, "="); !ok || !strings.HasPrefix(k, "dbms.") {
			return fmt.Errorf("--additional-config: %q is not a setting", line)
		}
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

// matching expands a name or glob against the databases the servers hold.
func matching(pattern string) []string {
	var out []string
	for _, db := range envList("STANDIN_DATABASES", "neo4j,system") {
		if ok, _ := path.Match(pattern, db); ok {
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

// legacyBackup plays 4.4's `neo4j-admin backup`.
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
	for _, need := range []string{"from", "backup-dir", "database", "pagecache"} {
		if opts[need] == "" {
			return violation("4.4 backup without --%s", need)
		}
	}
	if !sizeRE.MatchString(opts["pagecache"]) {
		return violation("--pagecache=%q is not a size", opts["pagecache"])
	}
	if c, ok := opts["check-consistency"]; ok && c != "true" && c != "false" {
		return violation("--check-consistency=%q", c)
	}
	if err := reachable(opts["from"]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dbs := matching(opts["database"])
	if len(dbs) == 0 {
		fmt.Fprintf(os.Stderr, "Database '%s' does not exist\n", opts["database"])
		return 1
	}
	code := 0
	for _, db := range dbs {
		if contains(envList("STANDIN_FAIL_DATABASES", ""), db) {
			fmt.Fprintf(os.Stderr, "Backup of %s failed: store copy failed\n", db)
			return 1
		}
		dir := filepath.Join(opts["backup-dir"], db)
		_, statErr := os.Stat(dir)
		if statErr == nil {
			fmt.Printf("Starting incremental backup of %s\n", db)
		} else {
			fmt.Printf("Doing full backup of %s\n", db)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(dir, "neostore"), payload(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		f, _ := os.OpenFile(filepath.Join(dir, "neostore.transaction.db.0"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		fmt.Fprintf(f, "tx at %s\n", time.Now().UTC().Format(time.RFC3339Nano))
		_ = f.Close()
		if opts["check-consistency"] != "false" {
			switch {
			case os.Getenv("STANDIN_CHECK_BROKEN") == "1":
				code = max(code, 2)
			case contains(envList("STANDIN_INCONSISTENT", ""), db):
				if rd := opts["report-dir"]; rd != "" {
					_ = os.MkdirAll(rd, 0o755)
					_ = os.WriteFile(filepath.Join(rd, "inconsistencies-"+db+".report"), []byte("ERROR: inconsistent\n"), 0o644)
				}
				code = 3
			}
		}
	}
	return code
}

type header struct {
	Database string `json:"database"`
	Full     bool   `json:"full"`
	LowTx    int64  `json:"lowTx"`
	HighTx   int64  `json:"highTx"`
	Time     string `json:"time"`
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
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		line, _, _ := strings.Cut(string(data), "\n")
		var h header
		if json.Unmarshal([]byte(line), &h) != nil {
			continue
		}
		heads[e.Name()] = h
		names = append(names, e.Name())
	}
	sort.Slice(names, func(i, j int) bool { return heads[names[i]].Time > heads[names[j]].Time })
	return names, heads
}

// backup plays 5.x / 2025.x `neo4j-admin database backup`.
func backup(v version, args []string) int {
	allowed := set("from", "to-path", "type", "pagecache", "compress", "keep-failed", "include-metadata",
		"parallel-recovery", "additional-config", "inspect-path", "verbose", "expand-commands")
	if v.atLeast(5, 24) {
		allowed["temp-path"] = true
	}
	if v.atLeast(2025, 4) {
		allowed["prefer-diff-as-parent"] = true
	}
	opts, pos, err := parse(args, allowed)
	if err != nil {
		return violation("%d.%d database backup: %v", v.major, v.minor, err)
	}
	if err := additionalConfig(opts); err != nil {
		return violation("%v", err)
	}
	if dir := opts["inspect-path"]; dir != "" {
		return inspect(dir)
	}
	for _, need := range []string{"from", "to-path", "pagecache"} {
		if opts[need] == "" {
			return violation("database backup without --%s", need)
		}
	}
	if !sizeRE.MatchString(opts["pagecache"]) {
		return violation("--pagecache=%q is not a size", opts["pagecache"])
	}
	typ := opts["type"]
	if typ == "" {
		typ = "AUTO"
	}
	if typ != "FULL" && typ != "DIFF" && typ != "AUTO" {
		return violation("--type=%q", typ)
	}
	if len(pos) == 0 {
		pos = []string{"neo4j"}
	}
	if err := reachable(opts["from"]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := opts["to-path"]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	failed := false
	for _, p := range pos {
		dbs := matching(p)
		if len(dbs) == 0 {
			fmt.Fprintf(os.Stderr, "Database '%s' does not exist\n", p)
			failed = true
		}
		for _, db := range dbs {
			if contains(envList("STANDIN_FAIL_DATABASES", ""), db) {
				fmt.Fprintf(os.Stderr, "Backup of %s failed: store copy failed\n", db)
				failed = true
				continue
			}
			if err := writeArtifact(dir, db, typ); err != nil {
				fmt.Fprintln(os.Stderr, err)
				failed = true
			}
		}
	}
	if failed {
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
	h := header{Database: db, Full: full}
	step := int64(10)
	switch {
	case full && prev != nil:
		h.LowTx, h.HighTx = 1, prev.HighTx+step
	case full:
		h.LowTx, h.HighTx = 1, step
	default:
		h.LowTx, h.HighTx = prev.HighTx+1, prev.HighTx+step
	}
	t := time.Now().UTC().Truncate(time.Second)
	var name string
	for {
		name = fmt.Sprintf("%s-%s.backup", db, t.Format("2006-01-02T15-04-05"))
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			break
		}
		t = t.Add(time.Second)
	}
	h.Time = t.Format("2006-01-02T15:04:05")
	line, _ := json.Marshal(h)
	fmt.Printf("Backup of %s: %s (%s)\n", db, name, map[bool]string{true: "full", false: "differential"}[full])
	return os.WriteFile(filepath.Join(dir, name), append(append(line, '\n'), payload()...), 0o644)
}

// inspect prints the artifacts' metadata as the real tool's tabular output does.
func inspect(dir string) int {
	names, heads := artifacts(dir)
	fmt.Println("|                                              FILE | DATABASE |                          DATABASE ID |          TIME (UTC) |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX |")
	for _, n := range names {
		h := heads[n]
		fmt.Printf("| file://%s | %s | 00000000-0000-0000-0000-000000000000 | %s | %t | true | %d | %d |\n",
			filepath.Join(dir, n), h.Database, h.Time, h.Full, h.LowTx, h.HighTx)
	}
	return 0
}

// check plays `neo4j-admin database check --from-path`.
func check(v version, args []string) int {
	allowed := set("from-path", "report-path", "additional-config", "check-counts", "check-graph", "check-indexes",
		"check-property-owners", "max-off-heap-memory", "threads", "verbose", "force", "expand-commands", "temp-path")
	opts, pos, err := parse(args, allowed)
	if err != nil {
		return violation("database check: %v", err)
	}
	if len(pos) != 1 {
		return violation("database check takes one database, got %q", pos)
	}
	if opts["from-path"] == "" {
		return violation("database check of a backup without --from-path")
	}
	db := pos[0]
	names, heads := artifacts(opts["from-path"])
	found := false
	for _, n := range names {
		found = found || heads[n].Database == db
	}
	if !found {
		fmt.Fprintf(os.Stderr, "no backup of %s in %s\n", db, opts["from-path"])
		return 1
	}
	if os.Getenv("STANDIN_CHECK_BROKEN") == "1" {
		fmt.Fprintln(os.Stderr, "consistency check failed: out of memory")
		return 1
	}
	if contains(envList("STANDIN_INCONSISTENT", ""), db) {
		if rp := opts["report-path"]; rp != "" {
			_ = os.MkdirAll(rp, 0o755)
			_ = os.WriteFile(filepath.Join(rp, "inconsistencies-"+time.Now().UTC().Format("2006-01-02_150405")+".report"), []byte("ERROR: inconsistent\n"), 0o644)
		}
		fmt.Fprintln(os.Stderr, "Database check found inconsistencies")
		return 1
	}
	fmt.Printf("Database %s is consistent\n", db)
	return 0
}

// restoreInto writes the restored database's folder, refusing an existing one unless force.
func restoreInto(db string, force bool, what string) int {
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
	if err := os.WriteFile(filepath.Join(target, "restored-from"), []byte(what+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("Restored %s\n", db)
	return 0
}

// legacyRestore plays 4.4's `neo4j-admin restore --from --database [--force]`.
func legacyRestore(args []string) int {
	opts, pos, err := parse(args, set("from", "database", "force", "verbose", "expand-commands"))
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
	return restoreInto(opts["database"], opts["force"] == "true", "folder "+opts["from"])
}

var untilRE = regexp.MustCompile(`^([0-9]+|[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})$`)

// restore plays 5.x / 2025.x `neo4j-admin database restore --from-path=<list>`: the list must be
// a chain, FULL first, contiguous in transactions.
func restore(v version, args []string) int {
	allowed := set("from-path", "restore-until", "overwrite-destination", "parallel-recovery", "additional-config", "verbose", "expand-commands")
	if v.atLeast(5, 24) {
		allowed["temp-path"] = true
	}
	opts, pos, err := parse(args, allowed)
	if err != nil {
		return violation("%d.%d database restore: %v", v.major, v.minor, err)
	}
	if len(pos) != 1 || opts["from-path"] == "" {
		return violation("database restore needs --from-path and one database")
	}
	if u, ok := opts["restore-until"]; ok && !untilRE.MatchString(u) {
		return violation("--restore-until=%q: want a transaction id or \"YYYY-MM-DD hh:mm:ss\"", u)
	}
	var prev *header
	for i, p := range strings.Split(opts["from-path"], ",") {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p, err)
			return 1
		}
		line, _, _ := strings.Cut(string(data), "\n")
		var h header
		if json.Unmarshal([]byte(line), &h) != nil {
			fmt.Fprintf(os.Stderr, "%s is not a backup artifact\n", p)
			return 1
		}
		switch {
		case i == 0 && !h.Full:
			fmt.Fprintf(os.Stderr, "%s is not a full backup: the chain has no start\n", p)
			return 1
		case i > 0 && h.LowTx != prev.HighTx+1:
			fmt.Fprintf(os.Stderr, "%s does not follow the previous backup\n", p)
			return 1
		}
		prev = &h
	}
	return restoreInto(pos[0], opts["overwrite-destination"] == "true", "chain "+opts["from-path"]+" until "+opts["restore-until"])
}

// dump plays 5.x / 2025.x `neo4j-admin database dump --to-path=<dir> <database>`: it reads the
// database of the data directory and writes <dir>/<database>.dump, which says what it holds.
func dump(args []string) int {
	opts, pos, err := parse(args, set("to-path", "overwrite-destination", "additional-config", "verbose", "expand-commands"))
	if err != nil {
		return violation("database dump: %v", err)
	}
	if len(pos) != 1 || opts["to-path"] == "" {
		return violation("database dump needs --to-path and one database")
	}
	data := os.Getenv("STANDIN_DATA_DIR")
	if data == "" {
		return violation("dump without STANDIN_DATA_DIR (the server's data directory)")
	}
	what, err := os.ReadFile(filepath.Join(data, "databases", pos[0], "restored-from"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "Database does not exist: %s\n", pos[0])
		return 1
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
