// Command box runs the cluster in a box in the foreground until Ctrl-C (or SIGTERM), then stops
// every process it started (the real node's containers included) and removes its folder. `make
// demo` runs it with the demo story: the operator (as its ServiceAccount, elected leader), a
// simulated three-server Neo4j cluster in zone-a and zone-b, a BackupSchedule every minute whose
// backup pods run for real on the real node, a restore drill of its newest backup every three
// minutes (restored into a scratch claim, checked, discarded: the schedule's Verified column),
// and, once the first backup is in, a Restore of it there; beside it a BackupSchedule every five
// minutes into an S3 bucket (the box's S3-compatible server, inside the real node's pod network)
// and a Restore of its first backup from the bucket; with a live view of what happens. The real
// node needs root (and runc).
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
	"github.com/graphkeeper/neo4j-backup-operator/test/images"
)

var (
	//go:embed demo.yaml
	demoManifest string
	//go:embed restore.yaml
	restoreManifest string
	//go:embed restore-s3.yaml
	restoreS3Manifest string
)

func main() {
	keep := flag.Bool("keep", false, "keep the cluster's folder (certificates, etcd data, logs) after stopping")
	story := flag.Bool("story", true, "run the operator and the demo story (false: the bare cluster)")
	realNode := flag.Bool("real-node", true, "add the real node (kubelet, containerd, runc; needs root); the story needs it")
	flag.Parse()
	var node *cluster.NodeOptions
	if *realNode {
		// Each restore drill restores into a claim of its own, deleted afterwards, and each backup
		// into the bucket stages on one; the volumes are pre-made and kept (Retain), so one goes
		// per drill (20 an hour) and per bucket backup (12 an hour): 128 last over three hours.
		node = &cluster.NodeOptions{Volumes: 128}
	} else if *story {
		fmt.Fprintln(os.Stderr, "box: the demo story runs its backups on the real node: use -story=false with -real-node=false")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	box, err := cluster.Start(ctx, cluster.Options{Log: os.Stdout, KeepDir: *keep, VolumesPerZone: 8, RealNode: node})
	if err != nil {
		fmt.Fprintln(os.Stderr, "box:", err)
		os.Exit(1)
	}
	code := 0
	fmt.Printf(`
The cluster in a box is up. In another terminal:

    export KUBECONFIG=%s
    %s/kubectl get nodes -L topology.kubernetes.io/zone

Component logs: %s/logs. Press Ctrl-C to stop everything.
`, box.Kubeconfig, box.BinDir, box.Dir)
	if *story {
		if err := runStory(ctx, box); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "box: demo:", err)
			code = 1
		}
	}
	<-ctx.Done()
	fmt.Println("\nstopping the cluster in a box...")
	if err := box.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "box:", err)
		os.Exit(1)
	}
	fmt.Println("stopped; no process left behind")
	os.Exit(code)
}

func runStory(ctx context.Context, box *cluster.Cluster) error {
	step := func(s string) { fmt.Printf("\n==> %s\n", s) }
	step("installing the chart (charts/neo4j-backup-operator) with helm into neo4j-backup-system")
	install, err := box.InstallChart(ctx, filepath.Join("charts", "neo4j-backup-operator"), "neo4j-backup-system", "nbo", "image.tag=demo")
	if err != nil {
		return err
	}
	step("running the operator as the chart's ServiceAccount " + install.ServiceAccount + ", with its Deployment's arguments")
	fmt.Println("    (the Deployment's pod is on a kwok node, Running but empty; the operator runs here as a process)")
	bin := filepath.Join(box.Dir, "neo4j-backup-operator")
	if err := images.Binary(ctx, "", bin); err != nil {
		return fmt.Errorf("building the operator: %w", err)
	}
	step("building the operator image (that binary) and the Neo4j image stand-in without Docker, into the real node")
	opImage, err := images.Operator(bin, box.Dir, install.AgentImage)
	if err != nil {
		return err
	}
	neoImage, err := images.Neo4j(ctx, box.Dir, "neo4j:5.26.2-enterprise", "5.26")
	if err != nil {
		return err
	}
	for _, img := range []string{opImage, neoImage} {
		if err := box.Node.Import(ctx, img); err != nil {
			return err
		}
	}
	op, err := box.Start("operator", bin, []string{"KUBECONFIG=" + install.Kubeconfig}, install.Args...)
	if err != nil {
		return err
	}
	fmt.Printf("    operator log: %s\n", op.Log())

	step("an S3-compatible server (gofakes3) with bucket graph-backups, inside the real node's pod network at " + cluster.PodGateway + ":9000")
	s3bin := filepath.Join(box.Dir, "s3server")
	if err := images.Binary(ctx, "test/cmd/s3server", s3bin); err != nil {
		return fmt.Errorf("building the S3 server: %w", err)
	}
	s3, err := box.StartInPodNetwork("s3server", s3bin, "--listen=:9000", "--buckets=graph-backups")
	if err != nil {
		return err
	}
	fmt.Printf("    its log (one line per request the pods make): %s\n", s3.Log())

	step("a simulated Neo4j cluster (graph-0 primary in zone-a, graph-1 and graph-2 secondaries in zone-b and zone-a) and a BackupSchedule every minute")
	if _, err := box.Kubectl(ctx, strings.NewReader(demoManifest), "apply", "-f", "-"); err != nil {
		return err
	}
	fmt.Printf("    backups run on the real node %s (zone-real), their artifacts in %s/volumes; each takes ~5 s\n", box.Node.Name, box.Node.Dir)
	fmt.Println("    a backup pod's real log: kubectl logs -n graph -l batch.kubernetes.io/job-name -c backup --tail=-1 --prefix")
	fmt.Println("    every 3 minutes a drill (nrs graph-every-minute-verify-…, mode Verify) restores the newest backup into a scratch claim,")
	fmt.Println("    checks it and deletes the claim; kubectl describe nbs -n graph graph-every-minute shows status.verification and Verified")
	fmt.Println("    every 5 minutes graph-to-s3 backs up into s3://graph-backups/neo4j (status.placement.bucket, kubectl get nbk -o wide);")
	fmt.Println("    its first backup is then restored from the bucket (nrs graph-first-s3-backup)")

	restored, restoredS3 := false, false
	first := func(schedule string) string {
		out, _ := box.Kubectl(ctx, nil, "get", "nbk", "-n", "graph", "-l", "backup.graphkeeper.dev/schedule="+schedule, "-o",
			`jsonpath={range .items[?(@.status.phase=="Succeeded")]}{.metadata.name}{"\n"}{end}`)
		return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
		if name := first("graph-every-minute"); !restored && name != "" {
			step("the first backup is in: restoring it (mode Volume) into a new server's claim")
			if _, err := box.Kubectl(ctx, strings.NewReader(strings.ReplaceAll(restoreManifest, "BACKUP", name)), "apply", "-f", "-"); err != nil {
				return err
			}
			restored = true
		}
		if name := first("graph-to-s3"); !restoredS3 && name != "" {
			step("the first backup in the bucket is in: restoring it from s3://graph-backups (mode Volume) into another new server's claim")
			if _, err := box.Kubectl(ctx, strings.NewReader(strings.ReplaceAll(restoreS3Manifest, "BACKUP", name)), "apply", "-f", "-"); err != nil {
				return err
			}
			restoredS3 = true
		}
		view, err := box.Kubectl(ctx, nil, "get", "nbs,nbk,nrs,jobs,pods,pvc", "-n", "graph", "-o", "wide")
		if err != nil {
			return err
		}
		fmt.Printf("\n--- %s ---------------------------------------------\n%s", time.Now().UTC().Format("15:04:05"), view)
	}
}
