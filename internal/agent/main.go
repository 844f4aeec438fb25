package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// Main runs `agent <command> [flags]` and returns the process's exit code: backup, restore
// (offline, into a data directory), prune (delete named artifacts), serve (a chain's files, or a
// dump prepared from them, read-only, for a SeedFromURI restore), seed (CREATE DATABASE from
// that seed with cypher-shell, and wait for it online), or inspect (resolve a restore's chain in
// a location no Backup describes).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: agent backup|restore|prune|serve|seed|inspect [flags]")
		return ExitInvalid
	}
	switch args[0] {
	case "backup":
		return backupMain(ctx, args[1:], stdout, stderr)
	case "prune":
		return pruneMain(args[1:], stdout, stderr)
	case "restore":
		return restoreMain(ctx, args[1:], stdout, stderr)
	case "serve":
		return serveMain(ctx, args[1:], stdout, stderr)
	case "seed":
		return seedMain(ctx, args[1:], stdout, stderr)
	case "inspect":
		return inspectMain(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "agent: unknown command %q\n", args[0])
		return ExitInvalid
	}
}

type memberFlags []Member

func (m *memberFlags) String() string { return fmt.Sprint(*m) }

// Set reads name/zone/host:port.
func (m *memberFlags) Set(v string) error {
	parts := strings.SplitN(v, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" || !strings.Contains(parts[2], ":") {
		return fmt.Errorf("member %q: want name/zone/host:port", v)
	}
	*m = append(*m, Member{Name: parts[0], Zone: parts[1], Address: parts[2]})
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func backupMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		members   memberFlags
		databases listFlag
		cfg       BackupConfig
	)
	version := fs.String("neo4j-version", "", "Neo4j version of the cluster (4.4, 5.26, 2025.10, ...)")
	fs.Var(&members, "member", "a server to back up from, name/zone/host:port; repeat, in the order to try")
	fs.Var(&databases, "database", "a database name or glob; repeat")
	fs.StringVar(&cfg.Type, "type", "AUTO", "FULL, DIFF or AUTO")
	fs.StringVar(&cfg.Dir, "dir", "", "backup folder inside the mounted volume")
	fs.Int64Var(&cfg.PageCache, "pagecache-bytes", 0, "page cache for neo4j-admin, in bytes")
	fs.BoolVar(&cfg.Check, "check", true, "check the consistency of what was backed up")
	fs.StringVar(&cfg.TempDir, "temp-dir", os.TempDir(), "scratch space")
	tlsDir := fs.String("tls-dir", "", "folder with the backup SSL policy files (private.key, public.crt, trusted-*.crt)")
	admin := fs.String("neo4j-admin", "neo4j-admin", "the neo4j-admin command")
	termLog := fs.String("termination-log", "/dev/termination-log", "where the report goes (the container's termination message)")
	if err := fs.Parse(args); err != nil {
		return ExitInvalid
	}
	fail := func(format string, a ...any) int {
		rep := result.Backup{Error: fmt.Sprintf(format, a...)}
		writeReport(rep, *termLog, stdout, stderr)
		return ExitInvalid
	}
	var err error
	if cfg.Version, err = neo4j.ParseVersion(*version); err != nil {
		return fail("%v", err)
	}
	cfg.Members, cfg.Databases = members, databases
	switch {
	case len(cfg.Members) == 0:
		return fail("no --member to back up from")
	case len(cfg.Databases) == 0:
		return fail("no --database to back up")
	case cfg.Dir == "":
		return fail("no --dir to back up into")
	case cfg.PageCache <= 0:
		return fail("--pagecache-bytes must be set: without it the backup may take the server's page cache")
	case cfg.Type != "FULL" && cfg.Type != "DIFF" && cfg.Type != "AUTO":
		return fail("--type %q: want FULL, DIFF or AUTO", cfg.Type)
	case os.Getenv("HEAP_SIZE") == "":
		return fail("HEAP_SIZE is not set: an unbounded JVM sizes its heap from the host")
	}
	if cfg.TempDir != os.TempDir() {
		// Scratch (consistency-check recovery, TLS layout) is the agent's alone; the
		// backups beside it are never touched.
		defer os.RemoveAll(cfg.TempDir)
	}
	if *tlsDir != "" {
		// The key pair goes to the pod's own /tmp (an emptyDir), never to the backup volume,
		// where a killed run would leave it for whatever reads the backups next.
		tlsBase, terr := os.MkdirTemp("", "neo4j-backup-tls-")
		if terr != nil {
			return fail("TLS: %v", terr)
		}
		defer os.RemoveAll(tlsBase)
		if cfg.AdditionalConfig, err = writeTLSConfig(*tlsDir, tlsBase); err != nil {
			return fail("TLS: %v", err)
		}
	}
	bin, err := exec.LookPath(*admin)
	if err != nil {
		return fail("neo4j-admin not found (%v): is spec.image a Neo4j Enterprise image?", err)
	}
	rep, code := Backup(ctx, cfg, &execRunner{bin: bin, log: stdout}, time.Now)
	writeReport(rep, *termLog, stdout, stderr)
	return code
}

// writeReport puts the compact report on the termination message and the full one in the log.
func writeReport(rep result.Backup, termLog string, stdout, stderr io.Writer) {
	full, _ := json.Marshal(rep)
	fmt.Fprintf(stdout, "report: %s\n", full)
	if err := os.WriteFile(termLog, result.Encode(rep, result.MaxMessage), 0o644); err != nil {
		fmt.Fprintf(stderr, "agent: writing the report to %s: %v\n", termLog, err)
	}
}

// writeTLSConfig lays the Secret's files out as Neo4j's "backup" SSL policy expects (a base
// directory with the key pair and a trusted/ folder) and writes the config fragment naming it.
func writeTLSConfig(secretDir, base string) (string, error) {
	if err := os.MkdirAll(filepath.Join(base, "trusted"), 0o700); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(secretDir)
	if err != nil {
		return "", err
	}
	found := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		var dst string
		switch {
		case name == "private.key" || name == "public.crt":
			dst = filepath.Join(base, name)
		case strings.HasPrefix(name, "trusted-") && strings.HasSuffix(name, ".crt"):
			dst = filepath.Join(base, "trusted", strings.TrimPrefix(name, "trusted-"))
		default:
			continue
		}
		data, err := os.ReadFile(filepath.Join(secretDir, name))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			return "", err
		}
		found[name] = true
	}
	if !found["private.key"] || !found["public.crt"] {
		return "", errors.New("the TLS Secret needs the keys private.key and public.crt")
	}
	conf := filepath.Join(base, "neo4j-backup-ssl.conf")
	body := "dbms.ssl.policy.backup.enabled=true\n" +
		"dbms.ssl.policy.backup.base_directory=" + base + "\n" +
		"dbms.ssl.policy.backup.private_key=private.key\n" +
		"dbms.ssl.policy.backup.public_certificate=public.crt\n" +
		"dbms.ssl.policy.backup.trusted_dir=trusted\n"
	return conf, os.WriteFile(conf, []byte(body), 0o600)
}

// execRunner runs neo4j-admin with the agent's environment (HEAP_SIZE included), its output
// going to the pod's log and its last MiB kept: enough for --inspect-path's table of thousands
// of artifacts (which must arrive whole, header included), and errors use its last line.
type execRunner struct {
	bin string
	log io.Writer
}

func (r *execRunner) Run(ctx context.Context, args []string) (int, string, error) {
	cmd := exec.Command(r.bin, args...)
	tail := &tailBuffer{max: 1 << 20}
	w := io.MultiWriter(r.log, tail)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(r.log, "agent: neo4j-admin %s\n", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return 0, "", fmt.Errorf("starting neo4j-admin: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// The JVM and anything it started go together.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return 0, tail.String(), fmt.Errorf("neo4j-admin stopped: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), tail.String(), nil
	}
	if err != nil {
		return 0, tail.String(), err
	}
	return 0, tail.String(), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
