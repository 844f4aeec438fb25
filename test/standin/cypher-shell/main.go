// Command cypher-shell is the tests' stand-in for Neo4j's cypher-shell talking to a running
// cluster, which cannot be installed here. Every rule it enforces cites Neo4j's Operations Manual
// (neo4j/docs-operations, the ref, page and words; docs/neo4j-contract.md lists them): the address
// as -a neo4j[+s|+ssc]://host:port, the system database, --format plain, one statement, and the
// credentials from NEO4J_USERNAME / NEO4J_PASSWORD only (a -u or -p flag is the project's
// violation: they would show in the pod spec). It understands the statements the agent sends,
// checks their grammar for the version and Cypher language it plays, prints strings as Neo4j's
// Java driver does, and keeps the cluster's databases in a folder.
//
// A CREATE DATABASE ... seedURI fetches the seed over HTTP as a server would, or from a bucket
// (s3://, gs://, azb://) through the seed provider the servers' configuration picks and with
// the servers' own cloud credentials; a seed that cannot be fetched or is not a backup or dump
// leaves the database offline with the statusMessage the real servers report, so the failure
// shows only in SHOW DATABASE.
//
// Seed providers (dbms.databases.seed_from_uri_providers): "If a seed source (URI scheme) is
// supported by multiple providers in the list, the first matching provider will be used"
// (5.26.2 configuration-settings.adoc:2230); the default is "S3SeedProvider" before 5.26
// (5.25.1 :2212, 5.24.1 :2210), "S3SeedProvider,CloudSeedProvider" on 5.26 (5.26.2 :2236) and
// "CloudSeedProvider" from 2025.01 (2025.01.0 :2045). The stand-in
// applies that to bucket seeds only: for http(s) it assumes URLConnectionSeedProvider is listed,
// as README requires of the servers. S3SeedProvider "requires additional configuration ...
// seedConfig" and "also requires passing in credentials ... seedCredentials" (2025.10.1
// seed-from-uri.adoc S3SeedProvider), which the agent never sends: a seed it would pick fails.
// CloudSeedProvider is "Introduced in 5.25" and takes differential backups "Starting from Neo4j
// 5.26": it "searches the directory containing differential backup files for a backup chain
// ending at the specified differential backup" (5.26.2 clustering/databases.adoc:524, :530-531).
// seedRestoreUntil exists "Starting from Neo4j 2025.01" and "is supported by the
// CloudSeedProvider and the FileSeedProvider" (2025.10.1 seed-from-uri.adoc:285-287).
//
// Environment:
//
//	STANDIN_NEO4J_VERSION  the version it plays (5.26, 2025.10, ...); required
//	STANDIN_STATE          folder holding the cluster's databases; required
//	STANDIN_LOG            a file each call appends "ARGS <args>" or "VIOLATION <why>" to
//	STANDIN_SERVERS        the servers' Bolt addresses, comma-separated (default server-0:7687)
//	STANDIN_UNREACHABLE    addresses that refuse the connection
//	STANDIN_USER, STANDIN_PASSWORD  the credentials the servers accept (default neo4j / secret)
//	STANDIN_ONLINE_AFTER   SHOW DATABASE polls a seeded database spends "store copying" (default 2)
//	STANDIN_SEED_FAIL      "1": a seeded database fails to start on the last server
//	STANDIN_STATUS_MESSAGE the statusMessage of a database that failed to start
//	STANDIN_DEFAULT_LANGUAGE  CYPHER_5 or CYPHER_25, the DBMS's db.query.default_language
//	                       (2025.06+; default CYPHER_5, from 2026.02 CYPHER_25)
//	STANDIN_BOLT_TLS       "required": the servers refuse plaintext Bolt
//	STANDIN_BOLT_CERT      "self-signed": the servers' certificate does not verify (neo4j+s fails)
//	STANDIN_SEED_PROVIDERS the servers' dbms.databases.seed_from_uri_providers (default: the
//	                       version's default)
//	STANDIN_SERVER_ENV     the servers' cloud environment, KEY=VALUE lines: what they fetch a
//	                       bucket seed with (the stand-in's own cloud environment is not theirs)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/test/standin/artifact"
	buckets "github.com/graphkeeper/neo4j-backup-operator/test/standin/cloud"
)

func main() { os.Exit(run(os.Args[1:])) }

func logLine(format string, a ...any) {
	if p := os.Getenv("STANDIN_LOG"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(f, format+"\n", a...)
			_ = f.Close()
		}
	}
}

func violation(format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	logLine("VIOLATION %s", msg)
	fmt.Fprintln(os.Stderr, "stand-in cypher-shell: contract violation:", msg)
	return 64
}

// database is what the cluster knows of one database.
type database struct {
	SeedURI string `json:"seedURI"`
	// Polls counts SHOW DATABASE calls since creation.
	Polls int `json:"polls"`
	// Broken: the seed could not be fetched or read; the servers cannot start it.
	Broken string `json:"broken,omitempty"`
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string) int {
	if os.Getenv("STANDIN_SEED_FETCH") == "1" && len(args) == 2 {
		return fetchSeed(args[0], args[1])
	}
	logLine("ARGS %s", strings.Join(args, " "))
	major, minor, ok := parseVersion(os.Getenv("STANDIN_NEO4J_VERSION"))
	if !ok || major == 4 {
		return violation("STANDIN_NEO4J_VERSION %q: want 5.x or a calendar version", os.Getenv("STANDIN_NEO4J_VERSION"))
	}
	state := os.Getenv("STANDIN_STATE")
	if state == "" {
		return violation("STANDIN_STATE is not set")
	}
	var address, db, format, statement string
	nonInteractive := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch a {
		case "-a", "--address":
			address = next()
		case "-d", "--database":
			db = next()
		case "--format":
			format = next()
		case "--non-interactive":
			nonInteractive = true
		case "-u", "--username", "-p", "--password":
			return violation("%s on the command line: credentials must come from NEO4J_USERNAME / NEO4J_PASSWORD", a)
		default:
			if strings.HasPrefix(a, "-") {
				return violation("unknown option %s", a)
			}
			if statement != "" {
				return violation("more than one statement argument")
			}
			statement = a
		}
	}
	switch {
	case !schemeRE.MatchString(address):
		// "The +s variants enable encryption with a full certificate check. The +ssc variants
		// enable encryption with no certificate check." (5.x security/ssl-framework.adoc:491-493)
		return violation("-a %q: want neo4j://, neo4j+s:// or neo4j+ssc://host:port", address)
	case db != "system":
		return violation("-d %q: databases are created and listed from the system database", db)
	case format != "plain":
		return violation("--format %q: the agent parses plain output", format)
	case !nonInteractive:
		return violation("--non-interactive missing: a Job has no terminal")
	case statement == "":
		return violation("no statement")
	}
	// "Can also be specified using the environment variable NEO4J_USERNAME" / "NEO4J_PASSWORD"
	// (5.x tools/cypher-shell.adoc:144, :152); the flags are the project's violation above.
	user, pass := os.Getenv("NEO4J_USERNAME"), os.Getenv("NEO4J_PASSWORD")
	if user == "" || pass == "" {
		return violation("NEO4J_USERNAME / NEO4J_PASSWORD not set")
	}
	scheme, host, _ := strings.Cut(address, "://")
	servers := strings.Split(env("STANDIN_SERVERS", "server-0:7687"), ",")
	if contains(strings.Split(os.Getenv("STANDIN_UNREACHABLE"), ","), host) || !contains(servers, host) {
		fmt.Fprintf(os.Stderr, "Unable to connect to %s, ensure the database is running and that there is a working network connection to it.\n", host)
		return 1
	}
	switch {
	case scheme == "neo4j" && os.Getenv("STANDIN_BOLT_TLS") == "required":
		fmt.Fprintf(os.Stderr, "Connection to the database terminated. Please ensure that your database is listening on the correct host and port and that you have compatible encryption settings both on Neo4j server and driver.\n")
		return 1
	case scheme == "neo4j+s" && os.Getenv("STANDIN_BOLT_CERT") == "self-signed":
		fmt.Fprintf(os.Stderr, "Failed to establish secured connection with the server: PKIX path building failed: unable to find valid certification path to requested target\n")
		return 1
	}
	if user != env("STANDIN_USER", "neo4j") || pass != env("STANDIN_PASSWORD", "secret") {
		fmt.Fprintln(os.Stderr, "The client is unauthorized due to authentication failure.")
		return 1
	}
	language := "CYPHER_5"
	if atLeast(major, minor, 2025, 6) {
		// "db.query.default_language (default value: CYPHER_5)" (2025.10.1,
		// cypher-version-configuration.adoc:13); "Starting from Neo4j 2026.02, the distributed
		// neo4j.conf explicitly sets db.query.default_language=CYPHER_25" (dev :18).
		if atLeast(major, minor, 2026, 2) {
			language = "CYPHER_25"
		}
		language = env("STANDIN_DEFAULT_LANGUAGE", language)
	}
	if m := prefixRE.FindStringSubmatch(statement); m != nil {
		// "The default language for a specific query can be set by prepending the query with the
		// CYPHER 5 or CYPHER 25 keyword" (2025.10.1 cypher-version-configuration.adoc:36-37);
		// Cypher 25 and its versions exist from 2025.06 (partials/cypher-versions.adoc).
		if !atLeast(major, minor, 2025, 6) {
			fmt.Fprintf(os.Stderr, "Invalid input '%s': expected a statement\n", m[0])
			return 1
		}
		language, statement = "CYPHER_"+m[1], statement[len(m[0]):]
	}
	if m := showRE.FindStringSubmatch(statement); m != nil {
		return show(state, unquote(m[1]), servers)
	}
	if m := dropRE.FindStringSubmatch(statement); m != nil {
		// "DROP [COMPOSITE] DATABASE name [IF EXISTS] ... [WAIT ...|NOWAIT]" (5.x
		// delete-databases.adoc:20).
		return drop(state, unquote(m[1]))
	}
	if m := createRE.FindStringSubmatch(statement); m != nil {
		replace, name, opts := m[1] != "", unquote(m[2]), m[3]
		om := optionsRE.FindStringSubmatch(opts)
		if om == nil {
			return violation("OPTIONS {%s}: want [existingData: 'use', ]seedURI: '<uri>'", opts)
		}
		existingData := om[1] != ""
		switch {
		case replace && !atLeast(major, minor, 2025, 1):
			// "The existingData, ... seedURI, seedConfig, and seedCredentials options cannot be
			// combined with the OR REPLACE part of this command." (5.26.2
			// create-databases.adoc:127); lifted "Starting from Neo4j 2025.01" (2025.01.0 :126).
			fmt.Fprintln(os.Stderr, "Failed to create the specified database: the seedURI option cannot be combined with OR REPLACE.")
			return 1
		case language == "CYPHER_5" && !existingData:
			// "The existingData option is required in Cypher 5 and deprecated in Cypher 25."
			// (2025.10.1 seed-from-uri.adoc:33)
			fmt.Fprintln(os.Stderr, "Failed to create the specified database: the existingData option is required with seedURI.")
			return 1
		case language == "CYPHER_25" && existingData:
			// "deprecated in Cypher 25" (2025.10.1 seed-from-uri.adoc:33) but "existingData
			// (removed in Cypher 25)" (dev create-databases.adoc:256): the stand-in refuses it.
			fmt.Fprintln(os.Stderr, "Invalid input 'existingData': the option was removed in Cypher 25.")
			return 1
		}
		if om[3] != "" && !atLeast(major, minor, 2025, 1) {
			// "Starting from Neo4j 2025.01, ... via the seedRestoreUntil option" (2025.10.1
			// seed-from-uri.adoc:285).
			return violation("seedRestoreUntil on %d.%d: the option is new in 2025.01", major, minor)
		}
		return create(state, name, seed{uri: strings.ReplaceAll(om[2], `\'`, `'`), until: om[3], major: major, minor: minor}, replace)
	}
	fmt.Fprintf(os.Stderr, "Invalid input: %s\n", statement)
	return violation("statement the agent never sends: %s", statement)
}

func atLeast(major, minor, wantMajor, wantMinor int) bool {
	return major > wantMajor || (major == wantMajor && minor >= wantMinor)
}

var (
	quotedName = "`((?:[^`]|``)+)`"
	showRE     = regexp.MustCompile("^SHOW DATABASE " + quotedName + " YIELD name, address, currentStatus, statusMessage$")
	createRE   = regexp.MustCompile("^CREATE (OR REPLACE )?DATABASE " + quotedName + " OPTIONS \\{(.*)\\}$")
	dropRE     = regexp.MustCompile("^DROP DATABASE " + quotedName + " IF EXISTS WAIT$")
	prefixRE   = regexp.MustCompile(`^CYPHER (5|25) `)
	schemeRE   = regexp.MustCompile(`^neo4j(\+s|\+ssc)?://[^/]+:[0-9]+$`)
	optionsRE  = regexp.MustCompile(`^(existingData: 'use', )?seedURI: '((?:[^'\\]|\\.)*)'(?:, seedRestoreUntil: (datetime\('[^']+'\)|[0-9]+))?$`)
)

func unquote(n string) string { return strings.ReplaceAll(n, "``", "`") }

func dbPath(state, name string) string { return filepath.Join(state, strconv.Quote(name)+".json") }

func load(state, name string) (*database, error) {
	data, err := os.ReadFile(dbPath(state, name))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := &database{}
	return d, json.Unmarshal(data, d)
}

func save(state, name string, d *database) error {
	data, _ := json.Marshal(d)
	return os.WriteFile(dbPath(state, name), data, 0o644)
}

// show prints the database on every server, as --format plain does: a header row, then one
// row per server with strings double-quoted; nothing at all when the database does not exist.
func show(state, name string, servers []string) int {
	d, err := load(state, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if d == nil {
		return 0
	}
	d.Polls++
	if err := save(state, name, d); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	after, _ := strconv.Atoi(env("STANDIN_ONLINE_AFTER", "2"))
	fmt.Println("name, address, currentStatus, statusMessage")
	for i, s := range servers {
		status, msg := "store copying", ""
		switch {
		case d.Broken != "" || (os.Getenv("STANDIN_SEED_FAIL") == "1" && i == len(servers)-1 && d.Polls > after):
			// "If it fails, the database is not available and it has the statusMessage: Unable to
			// start database" (5.x seed-from-uri.adoc:16-17; the example row: "offline", "Unable to
			// start database `DatabaseId{3fe1a59b[seed3]}`").
			status, msg = "offline", env("STANDIN_STATUS_MESSAGE", fmt.Sprintf("Unable to start database `DatabaseId{3fe1a59b[%s]}`", name))
		case d.Polls > after:
			status = "online"
		}
		fmt.Printf("%s, %s, %s, %s\n", javaString(name), javaString(s), javaString(status), javaString(msg))
	}
	return 0
}

// javaString prints a string cell as --format plain does, through the Java driver's
// StringValue.toString: String.format("\"%s\"", val.replace("\"", "\\\"")) (neo4j/neo4j-java-
// driver, driver/src/main/java/org/neo4j/driver/internal/value/StringValue.java). The manual
// shows no plain output ("plain displays data with minimal formatting", 5.x cypher-shell.adoc:72).
func javaString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// drop removes the database, if it exists.
func drop(state, name string) int {
	if err := os.Remove(dbPath(state, name)); err != nil && !os.IsNotExist(err) {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// seed is a CREATE DATABASE's seed: its URI, seedRestoreUntil as written, and the version.
type seed struct {
	uri, until   string
	major, minor int
}

// create registers the database and fetches its seed as the servers would.
func create(state, name string, sd seed, replace bool) int {
	d, err := load(state, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if d != nil && !replace {
		fmt.Fprintf(os.Stderr, "Failed to create the specified database '%s': Database already exists.\n", name)
		return 1
	}
	d = &database{SeedURI: sd.uri}
	var what string
	if cloudRE.MatchString(sd.uri) {
		what, err = fetchFromBucket(sd)
	} else if sd.until != "" {
		return violation("seedRestoreUntil with %s: the option is CloudSeedProvider's and FileSeedProvider's (2025.10.1 seed-from-uri.adoc:287)", sd.uri)
	} else {
		err = fetch(sd.uri)
	}
	if err != nil {
		d.Broken = err.Error()
		logLine("SEED %s: %v", sd.uri, err)
	} else {
		logLine("SEED %s: fetched%s", sd.uri, what)
	}
	if err := save(state, name, d); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// cloudRE is a bucket URI: scheme, bucket (for azb: the account) and the key.
var cloudRE = regexp.MustCompile(`^(s3|gs|azb)://([^/]+)/(.+)$`)

// fetchFromBucket is what the servers do with a bucket seed: the first provider of their list
// for its scheme, their own credentials (fetchSeed), and for a backup the chain ending at it in
// its folder. It says what was fetched.
func fetchFromBucket(sd seed) (string, error) {
	scheme := cloudRE.FindStringSubmatch(sd.uri)[1]
	providers := "S3SeedProvider" // before 5.26
	switch {
	case atLeast(sd.major, sd.minor, 2025, 1):
		providers = "CloudSeedProvider"
	case atLeast(sd.major, sd.minor, 5, 26):
		providers = "S3SeedProvider,CloudSeedProvider"
	}
	provider := ""
	for _, p := range strings.Split(env("STANDIN_SEED_PROVIDERS", providers), ",") {
		p = strings.TrimSpace(p)
		if p == "CloudSeedProvider" || (p == "S3SeedProvider" && scheme == "s3") {
			provider = p
			break
		}
	}
	switch {
	case provider == "":
		return "", fmt.Errorf("no seed provider in dbms.databases.seed_from_uri_providers takes %s:", scheme)
	case provider == "S3SeedProvider":
		return "", fmt.Errorf("S3SeedProvider picked for %s: it needs seedConfig and seedCredentials", sd.uri)
	case !atLeast(sd.major, sd.minor, 5, 25):
		return "", fmt.Errorf("CloudSeedProvider is new in 5.25")
	}
	// The servers fetch it, with their environment: a process of its own, as each server is
	// (the cloud SDKs read their environment when they start).
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(self, sd.uri, sd.until)
	cmd.Env = append([]string{"STANDIN_SEED_FETCH=1", "STANDIN_NEO4J_VERSION=" + os.Getenv("STANDIN_NEO4J_VERSION")},
		strings.Split(os.Getenv("STANDIN_SERVER_ENV"), "\n")...)
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			return "", errors.New(strings.TrimSpace(string(exit.Stderr)))
		}
		return "", err
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// fetchSeed is the servers' side of fetchFromBucket (STANDIN_SEED_FETCH): it reads the seed
// uri from its bucket with this process's environment, and for a backup the chain ending at it
// in its folder, and prints what it fetched.
func fetchSeed(uri, until string) int {
	major, minor, _ := parseVersion(os.Getenv("STANDIN_NEO4J_VERSION"))
	m := cloudRE.FindStringSubmatch(uri)
	if m == nil {
		fmt.Fprintf(os.Stderr, "%s is not a bucket URI\n", uri)
		return 1
	}
	what, err := fetchChain(m[1], m[2], m[3], uri, until, major, minor)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(what)
	return 0
}

func fetchChain(scheme, bucket, key, uri, until string, major, minor int) (string, error) {
	sd := seed{uri: uri, until: until, major: major, minor: minor}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := buckets.Open(ctx, scheme, bucket)
	if err != nil {
		return "", err
	}
	data, err := b.Get(ctx, key)
	if err != nil {
		return "", err
	}
	h, err := artifact.ParseHeader(sd.uri, data)
	if err != nil {
		return "", err
	}
	folder, file := path.Split(key)
	folder = strings.TrimSuffix(folder, "/")
	chain := []string{file}
	if !h.Full {
		if !atLeast(sd.major, sd.minor, 5, 26) {
			return "", fmt.Errorf("%s is a differential backup: CloudSeedProvider seeds from those from 5.26", sd.uri)
		}
		names, err := b.List(ctx, folder)
		if err != nil {
			return "", err
		}
		heads := map[string]artifact.Header{}
		var backups []string
		for _, n := range names {
			if !strings.HasSuffix(n, ".backup") {
				continue
			}
			data, err := b.Get(ctx, buckets.PrefixOf(folder)+n)
			if err != nil {
				return "", err
			}
			if h, err := artifact.ParseHeader(n, data); err == nil {
				heads[n], backups = h, append(backups, n)
			}
		}
		sort.Slice(backups, func(i, j int) bool { return heads[backups[i]].Time > heads[backups[j]].Time })
		if chain, _, err = artifact.ChainEndingAt(scheme+"://"+path.Join(bucket, folder), backups, heads, file); err != nil {
			return "", err
		}
	}
	what := " chain " + strings.Join(chain, ",")
	if sd.until != "" {
		what += " until " + sd.until
	}
	return what, nil
}

// fetch reads the seed over HTTP and checks it is a backup artifact or a dump of the stand-in
// neo4j-admin (its first line is a JSON header).
func fetch(uri string) error {
	if !strings.HasPrefix(uri, "http://") && !strings.HasPrefix(uri, "https://") {
		return fmt.Errorf("no seed provider for %s in this stand-in", uri)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(uri)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", uri, resp.Status)
	}
	line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	var head map[string]any
	if err != nil || json.Unmarshal(line, &head) != nil {
		return fmt.Errorf("%s is not a backup or a dump", uri)
	}
	return nil
}

func parseVersion(s string) (major, minor int, ok bool) {
	m := regexp.MustCompile(`^([0-9]+)\.([0-9]+)`).FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, true
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
