package agent

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// SeedConfig is one online SeedFromURI restore, run in the Neo4j image: wait until the seed is
// served, refuse an existing target unless Replace, CREATE DATABASE seeded from the URI, then
// poll SHOW DATABASE until the database is online on every server or a server reports the
// seed failed (that is the only place a seed's failure shows).
type SeedConfig struct {
	Version  neo4j.Version
	Database string
	SeedURI  string
	// Servers are Bolt addresses (host:port), tried in order.
	Servers []string
	// Scheme is the Bolt URI scheme: neo4j, neo4j+s or neo4j+ssc.
	Scheme  string
	Replace bool
	// Chain is what the seed holds, for the report.
	Chain []string
	// UntilTx (with ChainHighTx, the chain's last) and UntilTime: seedRestoreUntil, for a seed
	// straight from a bucket (neo4j.SeedRequest).
	UntilTx, ChainHighTx int64
	UntilTime            *time.Time
	// Timeout bounds the whole run; Poll is the pause between checks.
	Timeout, Poll time.Duration
	// CypherShell is the cypher-shell command.
	CypherShell string
}

// seedMain runs `agent seed`. The credentials are NEO4J_USERNAME / NEO4J_PASSWORD, from the
// Secret, which cypher-shell reads itself: they are never arguments.
func seedMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("agent seed", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var cfg SeedConfig
	var servers, chain listFlag
	version := flags.String("neo4j-version", "", "Neo4j version of the cluster (5.x or 2025.x and later)")
	flags.StringVar(&cfg.Database, "database", "", "the database to create")
	flags.StringVar(&cfg.SeedURI, "seed-uri", "", "where the servers fetch the seed")
	flags.Var(&servers, "server", "a server's Bolt address, host:port; repeat, in the order to try")
	flags.StringVar(&cfg.Scheme, "bolt-scheme", neo4j.SchemePlain, "Bolt URI scheme: neo4j, neo4j+s (TLS) or neo4j+ssc (TLS, any certificate)")
	flags.Var(&chain, "chain", "an artifact the seed holds, FULL first (for the report); repeat")
	flags.BoolVar(&cfg.Replace, "replace", false, "replace an existing database of that name")
	flags.Int64Var(&cfg.UntilTx, "until-tx", 0, "seed up to and including this transaction (a seed in a bucket, 2025.01+)")
	flags.Int64Var(&cfg.ChainHighTx, "chain-high-tx", 0, "the chain's last transaction (with --until-tx)")
	untilTime := flags.String("until-time", "", "seed up to this RFC 3339 time (a seed in a bucket, 2025.01+)")
	flags.DurationVar(&cfg.Timeout, "timeout", time.Hour, "give up after this long")
	flags.DurationVar(&cfg.Poll, "poll", 5*time.Second, "pause between checks")
	flags.StringVar(&cfg.CypherShell, "cypher-shell", "cypher-shell", "the cypher-shell command")
	termLog := flags.String("termination-log", "/dev/termination-log", "where the report goes")
	if err := flags.Parse(args); err != nil {
		return ExitInvalid
	}
	cfg.Servers, cfg.Chain = servers, chain
	rep := result.Restore{Database: cfg.Database, Chain: cfg.Chain}
	finish := restoreFinisher(&rep, *termLog, stdout, stderr)
	v, err := neo4j.ParseVersion(*version)
	if err != nil {
		return finish(ExitInvalid, "", "%v", err)
	}
	cfg.Version = v
	if *untilTime != "" {
		t, err := time.Parse(time.RFC3339, *untilTime)
		if err != nil {
			return finish(ExitInvalid, "", "--until-time: %v", err)
		}
		cfg.UntilTime = &t
	}
	if cfg.Database == "" || cfg.SeedURI == "" || len(cfg.Servers) == 0 {
		return finish(ExitInvalid, "", "--database, --seed-uri and --server are required")
	}
	switch cfg.Scheme {
	case neo4j.SchemePlain, neo4j.SchemeTLS, neo4j.SchemeSelfSigned:
	default:
		return finish(ExitInvalid, "", "--bolt-scheme %q: want neo4j, neo4j+s or neo4j+ssc", cfg.Scheme)
	}
	if os.Getenv("NEO4J_USERNAME") == "" || os.Getenv("NEO4J_PASSWORD") == "" {
		return finish(ExitInvalid, "", "NEO4J_USERNAME and NEO4J_PASSWORD are not set: the credentials Secret lacks a key")
	}
	code, reason, msg := Seed(ctx, cfg, stdout)
	if code == ExitOK {
		return finish(code, "", "")
	}
	return finish(code, reason, "%s", msg)
}

// Seed runs the restore and returns the exit code, a condition reason and a message.
func Seed(ctx context.Context, cfg SeedConfig, log io.Writer) (code int, reason, msg string) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	bin, err := exec.LookPath(cfg.CypherShell)
	if err != nil {
		return ExitInvalid, "", fmt.Sprintf("cypher-shell not found (%v): is spec.image a Neo4j image?", err)
	}
	stmts, err := neo4j.SeedStatements(neo4j.SeedRequest{Version: cfg.Version, Database: cfg.Database, SeedURI: cfg.SeedURI, Replace: cfg.Replace,
		UntilTx: cfg.UntilTx, ChainHighTx: cfg.ChainHighTx, UntilTime: cfg.UntilTime})
	if err != nil {
		return ExitInvalid, "", err.Error()
	}
	failed := func(format string, a ...any) (int, string, string) {
		if ctx.Err() != nil {
			return ExitFailed, reasonTimedOut, fmt.Sprintf("gave up after %s: ", cfg.Timeout) + fmt.Sprintf(format, a...)
		}
		return ExitFailed, "RestoreFailed", fmt.Sprintf(format, a...)
	}
	// A seed in a bucket is fetched by the servers themselves (CloudSeedProvider): there is no
	// seed server to wait for, and nothing this pod could check with the servers' credentials.
	fromBucket := neo4j.CloudPath(cfg.SeedURI)
	if !fromBucket {
		if err := waitServed(ctx, cfg.SeedURI, cfg.Poll, log); err != nil {
			return failed("the seed %s was not served: %v", cfg.SeedURI, err)
		}
	}
	sh := &cypherShell{bin: bin, log: log, servers: cfg.Servers, scheme: cfg.Scheme}
	before, err := sh.show(ctx, cfg.Database)
	if err != nil {
		return failed("%v", err)
	}
	if len(before) > 0 && !cfg.Replace {
		return ExitTargetExists, "TargetExists", fmt.Sprintf(
			"database %s already exists in the cluster (%s on %s); set replaceExisting to replace it", cfg.Database, before[0].CurrentStatus, before[0].Address)
	}
	for i, stmt := range stmts {
		if _, err := sh.run(ctx, stmt); err != nil {
			if i > 0 {
				// Before 2025.01 a replace drops first: say that the old database is gone.
				return failed("%v (the existing database %s was dropped first: Neo4j %s cannot replace it with a seed in one statement)", err, cfg.Database, cfg.Version)
			}
			return failed("%v", err)
		}
	}
	fmt.Fprintf(log, "agent: %s created; waiting for it to be online on every server\n", cfg.Database)
	for {
		states, err := sh.show(ctx, cfg.Database)
		if err == nil {
			online, failed := neo4j.Online(states)
			switch {
			case failed != "" && fromBucket:
				// Neo4j reports only "Unable to start database" (its cause is in the server's
				// debug.log): name what a seed from a bucket needs of the servers.
				return ExitFailed, v1.ReasonSeedFromBucketFailed, result.Clean("the seed did not start: "+failed+
					"; the servers fetch "+cfg.SeedURI+" themselves: each needs read access to the bucket (as the backup pods have it) and CloudSeedProvider in dbms.databases.seed_from_uri_providers"+
					" (see the servers' debug.log); or drop the offline "+cfg.Database+" and restore with seedFrom: SeedServer", 900)
			case failed != "":
				return ExitFailed, "RestoreFailed", result.Clean("the seed did not start: "+failed, 600)
			case online:
				fmt.Fprintf(log, "agent: %s is online on %d server(s)\n", cfg.Database, len(states))
				return ExitOK, "", ""
			}
		}
		select {
		case <-ctx.Done():
			last := "no answer"
			if err != nil {
				last = err.Error()
			} else if len(states) > 0 {
				last = describe(states)
			}
			return ExitFailed, reasonTimedOut, fmt.Sprintf("%s not online on every server within %s (last seen: %s)", cfg.Database, cfg.Timeout, last)
		case <-time.After(cfg.Poll):
		}
	}
}

// reasonTimedOut is the condition reason for a restore that ran out of time.
const reasonTimedOut = "TimedOut"

func describe(states []neo4j.DatabaseState) string {
	parts := make([]string, 0, len(states))
	for _, s := range states {
		parts = append(parts, s.Address+" "+s.CurrentStatus)
	}
	return result.Clean(strings.Join(parts, ", "), 300)
}

// waitServed waits until a HEAD of the seed answers 200: the seed server has prepared it.
func waitServed(ctx context.Context, uri string, poll time.Duration, log io.Writer) error {
	c := &http.Client{Timeout: 10 * time.Second}
	var last error
	for i := 0; ; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, uri, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HEAD: %s", resp.Status)
		}
		last = err
		if i == 0 {
			fmt.Fprintf(log, "agent: waiting for the seed server (%v)\n", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(poll):
		}
	}
}

// cypherShell runs statements against the system database through the first server that
// answers.
type cypherShell struct {
	bin     string
	log     io.Writer
	servers []string
	scheme  string
}

func (c *cypherShell) show(ctx context.Context, database string) ([]neo4j.DatabaseState, error) {
	out, err := c.run(ctx, neo4j.ShowStatement(database))
	if err != nil {
		return nil, err
	}
	return neo4j.ParseShow(out)
}

// run returns the statement's standard output from the first server that runs it.
func (c *cypherShell) run(ctx context.Context, statement string) (string, error) {
	var errs []string
	for _, s := range c.servers {
		out, errOut, code, err := runCapture(ctx, c.bin, neo4j.CypherArgs(c.scheme, s, statement), c.log)
		switch {
		case err != nil:
			return "", err
		case code == 0:
			return out, nil
		}
		errs = append(errs, fmt.Sprintf("%s: exit %d: %s", s, code, lastLine(errOut)))
		if strings.Contains(errOut, "already exists") || strings.Contains(errOut, "unauthorized") {
			break // the cluster answered: another server would answer the same
		}
	}
	return "", fmt.Errorf("cypher-shell: %s", result.Clean(strings.Join(errs, "; "), 600))
}

// runCapture runs bin with args, keeping stdout (up to 1 MiB) apart from stderr (its tail), and
// kills the process group when ctx ends.
func runCapture(ctx context.Context, bin string, args []string, log io.Writer) (stdout, stderr string, code int, err error) {
	cmd := exec.Command(bin, args...)
	out := &limitBuffer{max: 1 << 20}
	tail := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, io.MultiWriter(log, tail)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(log, "agent: cypher-shell %s\n", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return "", "", 0, fmt.Errorf("starting cypher-shell: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return "", tail.String(), 0, fmt.Errorf("cypher-shell stopped: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), tail.String(), exit.ExitCode(), nil
	}
	return out.String(), tail.String(), 0, err
}

// limitBuffer keeps the first max bytes written to it.
type limitBuffer struct {
	buf bytes.Buffer
	max int
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

func (l *limitBuffer) String() string { return l.buf.String() }
