package agent

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
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
	rest := args[1:]
	commands := map[string]func() int{
		"backup":  func() int { return backupMain(ctx, rest, stdout, stderr) },
		"prune":   func() int { return pruneMain(ctx, rest, stdout, stderr) },
		"restore": func() int { return restoreMain(ctx, rest, stdout, stderr) },
		"serve":   func() int { return serveMain(ctx, rest, stdout, stderr) },
		"seed":    func() int { return seedMain(ctx, rest, stdout, stderr) },
		"inspect": func() int { return inspectMain(ctx, rest, stdout, stderr) },
	}
	command, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "agent: unknown command %q\n", args[0])
		return ExitInvalid
	}
	fmt.Fprintf(stdout, "agent %s: %s\n", args[0], identity())
	return command()
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
	fs.StringVar(&cfg.Dir, "dir", "", "backup folder inside the mounted volume, or a bucket folder (s3://, gs://, azb://)")
	fs.Int64Var(&cfg.PageCache, "pagecache-bytes", 0, "page cache for neo4j-admin, in bytes")
	fs.BoolVar(&cfg.Check, "check", true, "check the consistency of what was backed up")
	fs.StringVar(&cfg.TempDir, "temp-dir", os.TempDir(), "scratch space")
	fs.StringVar(&cfg.BackupName, "backup-name", "", "the Backup's name, which names the folder where an inconsistency report is kept")
	tlsDir := fs.String("tls-dir", "", "folder with the backup SSL policy files (tls.key, tls.crt, ca.crt, or private.key, public.crt, trusted-*.crt)")
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
//
// The Secret may use the names of a kubernetes.io/tls Secret or cert-manager (tls.key, tls.crt,
// ca.crt) or Neo4j's own (private.key, public.crt, trusted-*.crt). A trusted CA is required:
// client_auth defaults to "REQUIRE for cluster and backup" (ssl-framework.adoc, 4.4, 5.x, dev),
// so the server checks our certificate and we must check its; and with an empty trusted_dir the
// policy cannot verify anyone (the manual says "the existence of the directories, the
// certificate file, and the private key are mandatory" and no more; failing here says why).
// The key is written as PKCS #8: "Private keys must be in the standard format ... PKCS #8 and
// saved as a PEM-encoded file" (5.x), while cert-manager writes PKCS #1 unless told otherwise.
func writeTLSConfig(secretDir, base string) (string, error) {
	if err := os.MkdirAll(filepath.Join(base, "trusted"), 0o700); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(secretDir)
	if err != nil {
		return "", err
	}
	var key, cert []byte
	trusted := 0
	for _, e := range entries {
		name := e.Name()
		var dst string
		switch {
		case name == "private.key" || name == "tls.key":
		case name == "public.crt" || name == "tls.crt":
			dst = filepath.Join(base, "public.crt")
		case name == "ca.crt":
			// Not trusted/ca.crt: a trusted-ca.crt key would land on the same file.
			dst = filepath.Join(base, "trusted", "secret-ca.crt")
		case strings.HasPrefix(name, "trusted-") && strings.HasSuffix(name, ".crt"):
			dst = filepath.Join(base, "trusted", strings.TrimPrefix(name, "trusted-"))
		default:
			continue
		}
		data, err := os.ReadFile(filepath.Join(secretDir, name))
		if err != nil {
			return "", err
		}
		switch {
		case dst == "":
			if key != nil {
				return "", errors.New("the TLS Secret has both private.key and tls.key: keep one")
			}
			key = data
			continue
		case strings.HasSuffix(dst, "public.crt"):
			if cert != nil {
				return "", errors.New("the TLS Secret has both public.crt and tls.crt: keep one")
			}
			cert = data
		default:
			if len(strings.TrimSpace(string(data))) == 0 {
				continue // cert-manager writes an empty ca.crt when the issuer has no CA
			}
			trusted++
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			return "", err
		}
	}
	switch {
	case key == nil || cert == nil:
		return "", errors.New("the TLS Secret needs a key pair: tls.key and tls.crt (or private.key and public.crt)")
	case trusted == 0:
		return "", errors.New("the TLS Secret has no trusted CA (ca.crt or trusted-*.crt): the backup port's SSL policy requires the client to verify the server (client_auth REQUIRE)")
	}
	pkcs8, err := toPKCS8(key)
	if err != nil {
		return "", fmt.Errorf("the TLS Secret's private key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(base, "private.key"), pkcs8, 0o600); err != nil {
		return "", err
	}
	conf := filepath.Join(base, "neo4j-backup-ssl.conf")
	body := "dbms.ssl.policy.backup.enabled=true\n" +
		"dbms.ssl.policy.backup.base_directory=" + base + "\n" +
		"dbms.ssl.policy.backup.private_key=private.key\n" +
		"dbms.ssl.policy.backup.public_certificate=public.crt\n" +
		"dbms.ssl.policy.backup.trusted_dir=trusted\n"
	return conf, os.WriteFile(conf, []byte(body), 0o600)
}

// toPKCS8 returns a PEM private key as PKCS #8 ("PRIVATE KEY"), converting PKCS #1 ("RSA PRIVATE
// KEY") and SEC 1 ("EC PRIVATE KEY"). Encrypted keys are refused: neo4j-admin gets no password.
func toPKCS8(data []byte) ([]byte, error) {
	// The first private-key block: `openssl ecparam -genkey` writes an EC PARAMETERS block
	// before it.
	var block *pem.Block
	for rest := data; ; {
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "EC PARAMETERS" {
			break
		}
	}
	if block == nil {
		return nil, errors.New("not PEM")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			return nil, fmt.Errorf("not a PKCS #8 key: %w", err)
		}
		return pem.EncodeToMemory(block), nil
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("it is encrypted; store it unencrypted in the Secret")
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
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
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			// Killed by a signal (the kernel's out-of-memory killer sends SIGKILL): the
			// shell's 128 + signal, and a last line that says so (the JVM printed nothing).
			fmt.Fprintf(w, "neo4j-admin was killed by signal %d (%s)\n", int(ws.Signal()), ws.Signal())
			return 128 + int(ws.Signal()), tail.String(), nil
		}
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
