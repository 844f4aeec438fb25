// Command neo4j-backup-operator runs the operator's manager: the controllers of BackupSchedule,
// Backup and Restore (backup.graphkeeper.dev/v1alpha1). The same binary is the agent that runs
// inside backup and restore pods:
//
//	neo4j-backup-operator                  the manager (flags: -h)
//	neo4j-backup-operator agent backup     in a backup pod, drives neo4j-admin
//	neo4j-backup-operator install-agent D  copies this binary to D (the pods' init container)
//	neo4j-backup-operator next-slots ...   prints a schedule's next slots (flags: -h)
//	neo4j-backup-operator install-crds     installs or upgrades the CRDs built into it (the chart's
//	                                       pre-upgrade hook; flags: -h)
//	neo4j-backup-operator check-install    what helm test checks of an install (flags: -h)
package main

import (
	"context"
	"crypto/tls"
	"embed"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	// The image is FROM scratch: no zone database but the one built in, so every
	// BackupSchedule's timeZone means the same in the container as on a developer's machine.
	_ "time/tzdata"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	backupv1alpha1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/controllers"
	"github.com/graphkeeper/neo4j-backup-operator/internal/agent"
	"github.com/graphkeeper/neo4j-backup-operator/internal/install"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/schedule"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(backupv1alpha1.AddToScheme(scheme))
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "agent":
			// SIGTERM (pod deleted, deadline passed) stops neo4j-admin and still reports.
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			code := agent.Main(ctx, os.Args[2:], os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		case "next-slots":
			if err := nextSlots(os.Args[2:], os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "next-slots:", err)
				os.Exit(2)
			}
			return
		case "install-crds":
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			err := installCRDs(ctx, os.Args[2:])
			stop()
			if err != nil {
				fmt.Fprintln(os.Stderr, "install-crds:", err)
				os.Exit(1)
			}
			return
		case "check-install":
			if err := checkInstall(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "check-install:", err)
				os.Exit(1)
			}
			return
		case "install-agent":
			if err := installAgent(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "install-agent:", err)
				os.Exit(1)
			}
			return
		}
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "neo4j-backup-operator:", err)
		os.Exit(1)
	}
}

// nextSlots prints the next slots of a BackupSchedule's spec.schedule in its spec.timeZone, with
// the zone database built into this binary (the image has no other), as the operator takes them.
func nextSlots(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("next-slots", flag.ContinueOnError)
	expr := fs.String("schedule", "", `spec.schedule, a five-field cron expression or descriptor, e.g. "0 2 * * *"`)
	tz := fs.String("time-zone", "", "spec.timeZone, an IANA zone such as Europe/Berlin (default UTC)")
	from := fs.String("from", "", "RFC 3339 time to start after (default now)")
	count := fs.Int("count", 5, "how many slots")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := schedule.Parse(*expr, *tz)
	if err != nil {
		return err
	}
	start := time.Now()
	if *from != "" {
		if start, err = time.Parse(time.RFC3339, *from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	for _, t := range s.NextN(start, *count) {
		fmt.Fprintf(out, "%s  (%s)\n", t.In(s.Location()).Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("neo4j-backup-operator", flag.ContinueOnError)
	metricsAddr := fs.String("metrics-bind-address", ":8080", "address the Prometheus metrics endpoint binds to; \"0\" disables it")
	metricsSecure := fs.Bool("metrics-secure", false, "serve metrics over HTTPS, and only to clients whose bearer token the API server authenticates (TokenReview) and allows to get /metrics (SubjectAccessReview); the certificate is self-signed unless --metrics-cert-dir holds tls.crt and tls.key")
	metricsCertDir := fs.String("metrics-cert-dir", "", "folder of the metrics server's tls.crt and tls.key (watched, so a renewed certificate is taken up); with --metrics-secure")
	probeAddr := fs.String("health-probe-bind-address", ":8081", "address the liveness and readiness probes bind to")
	pprofAddr := fs.String("pprof-bind-address", "0", "address Go's profiles (/debug/pprof/) are served on, without authentication; \"0\" (the default) disables them")
	leaderElect := fs.Bool("leader-elect", false, "elect a leader, so that only one replica reconciles at a time")
	leaderNamespace := fs.String("leader-election-namespace", "", "namespace of the leader-election Lease (default: the pod's namespace)")
	watchNamespaces := fs.String("watch-namespaces", "", "comma-separated namespaces to watch (default: all)")
	agentImage := fs.String("agent-image", envOr("AGENT_IMAGE", "neo4j-backup-operator:dev"), "the operator's image, whose binary the backup pods run as their agent")
	agentPullPolicy := fs.String("agent-image-pull-policy", "IfNotPresent", "pull policy of the agent image")
	concurrency := fs.Int("max-concurrent-reconciles", 8, "objects of each kind reconciled at once (the work waits on the API server, not the CPU: a thousand schedules due in the same second are not taken one by one)")
	startTimeout := fs.Duration("start-timeout", 10*time.Minute, "how long a Backup or Restore waits for a ready server, an isolated zone, its claim, or a pod of its Job to run (the first, or the next after one was lost with its node or evicted) before it fails")
	opts := zap.Options{}
	opts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	// Only the operator's own Jobs, pods and claims are cached, and without managedFields.
	cacheOpts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         controllers.CachedByLabel(),
	}
	if *watchNamespaces != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range strings.Split(*watchNamespaces, ",") {
			if ns = strings.TrimSpace(ns); ns != "" {
				cacheOpts.DefaultNamespaces[ns] = cache.Config{}
			}
		}
	}

	metricsOpts := metricsserver.Options{BindAddress: *metricsAddr}
	if *metricsSecure {
		// As kubebuilder's scaffold serves them: authenticated and authorized by the API server,
		// over HTTP/1.1 only (HTTP/2's rapid-reset and stream-cancellation attacks,
		// CVE-2023-44487 and CVE-2023-39325, are not worth it for a scrape).
		metricsOpts.SecureServing = true
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
		metricsOpts.CertDir = *metricsCertDir
		metricsOpts.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		Metrics:                 metricsOpts,
		Controller:              ctrlconfig.Controller{MaxConcurrentReconciles: *concurrency},
		HealthProbeBindAddress:  *probeAddr,
		PprofBindAddress:        *pprofAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "neo4j-backup-operator.backup.graphkeeper.dev",
		LeaderElectionNamespace: *leaderNamespace,
		// The new leader waits for the old lease to expire anyway; releasing it on a clean
		// shutdown makes a rolling update hand over at once.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if err := controllers.Setup(mgr, controllers.Config{
		Clock:        clock.RealClock{},
		Options:      resources.Options{OperatorImage: *agentImage, OperatorImagePullPolicy: corev1.PullPolicy(*agentPullPolicy)},
		StartTimeout: *startTimeout,
	}); err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	log.Info("starting manager")
	return mgr.Start(ctrl.SetupSignalHandler())
}

// crdFiles are the CRDs of this build, as make manifests generated them (the chart's crds/ holds
// the same files).
//
//go:embed config/crd/bases/*.yaml
var crdFiles embed.FS

// installCRDs creates or upgrades the CRDs of this build in the cluster the pod (or KUBECONFIG)
// reaches, and waits until they are served.
func installCRDs(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("install-crds", flag.ContinueOnError)
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the CRDs to be Established")
	if err := fs.Parse(args); err != nil {
		return err
	}
	entries, err := crdFiles.ReadDir("config/crd/bases")
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if files[e.Name()], err = crdFiles.ReadFile("config/crd/bases/" + e.Name()); err != nil {
			return err
		}
	}
	want, err := install.ParseCRDs(files)
	if err != nil {
		return err
	}
	c, err := install.NewClient()
	if err != nil {
		return err
	}
	if err := install.ApplyCRDs(ctx, c, want, *timeout); err != nil {
		return err
	}
	for _, w := range want {
		fmt.Printf("CustomResourceDefinition %s is up to date and served\n", w.Name)
	}
	return nil
}

// checkInstall is helm test's check: the operator is available and the CRDs admit a
// BackupSchedule (and refuse a malformed one), by server-side dry runs.
func checkInstall(args []string) error {
	fs := flag.NewFlagSet("check-install", flag.ContinueOnError)
	namespace := fs.String("namespace", "", "the release's namespace: the operator's Deployment, and where the dry runs go")
	deployment := fs.String("deployment", "", "the operator's Deployment")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *namespace == "" || *deployment == "" {
		return fmt.Errorf("--namespace and --deployment are required")
	}
	c, err := install.NewClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := install.Check(ctx, c, *namespace, *deployment); err != nil {
		return err
	}
	fmt.Println("the operator is available, and the API server admits a BackupSchedule and refuses a malformed one")
	return nil
}

// installAgent copies this binary to the path given: the init container of a backup pod runs it
// from the operator image, so the Neo4j container can run the agent without any change to the
// Neo4j image (the pattern CloudNativePG uses for its instance manager).
func installAgent(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: install-agent DEST")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(args[0], os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o555)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
