// Command box runs the cluster in a box in the foreground until Ctrl-C (or SIGTERM), then stops
// every process it started and removes its folder. `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
)

func main() {
	keep := flag.Bool("keep", false, "keep the cluster's folder (certificates, etcd data, logs) after stopping")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	box, err := cluster.Start(ctx, cluster.Options{Log: os.Stdout, KeepDir: *keep})
	if err != nil {
		fmt.Fprintln(os.Stderr, "box:", err)
		os.Exit(1)
	}
	fmt.Printf(`
The cluster in a box is up. In another terminal:

    export KUBECONFIG=%s
    %s/kubectl get nodes -L topology.kubernetes.io/zone

Component logs: %s/logs. Press Ctrl-C to stop everything.
`, box.Kubeconfig, box.BinDir, box.Dir)
	<-ctx.Done()
	fmt.Println("\nstopping the cluster in a box...")
	if err := box.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "box:", err)
		os.Exit(1)
	}
	fmt.Println("stopped; no process left behind")
}
