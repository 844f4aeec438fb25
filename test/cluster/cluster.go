// Package cluster starts and stops the cluster in a box: real etcd, kube-apiserver (RBAC on),
// kube-controller-manager and kube-scheduler built from Go modules by hack/build-k8s.sh, plus kwok
// running fake nodes in three zones, all on 127.0.0.1 with free ports.
//
// What is real: every API object, admission (RBAC, Pod Security, CRD validation), the Job, PV
// binding, garbage-collection and node-lifecycle controllers, and the scheduler's placement
// (zone affinity, volume topology). What is simulated: kwok's nodes run no containers; kwok Stages
// (stages/*.yaml) move pods to Running and then to Succeeded, or to the outcome a test asked for
// with the sim.graphkeeper.dev/* annotations. Pod and Service addresses are made up (10.x):
// nothing listens there and nothing may dial them.
package cluster

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ZoneLabel is the well-known topology label the operator reads zones from.
const ZoneLabel = corev1.LabelTopologyZone

// StorageClassName is the zonal, no-provisioner StorageClass backed by pre-made volumes.
const StorageClassName = "zonal-local"

//go:embed stages/*.yaml
var stages embed.FS

// Options shape the cluster. The zero value gives three zones with one node and four volumes each.
type Options struct {
	// BinDir holds kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok and kubectl.
	// Default: $KUBEBUILDER_ASSETS, else bin/k8s found above the working directory.
	BinDir string
	// Dir is where certificates, data and logs go. Default: a new folder under $NBO_TEST_TMP or the
	// system temp dir. It is removed by Stop unless KeepDir is set.
	Dir string
	// KeepDir keeps Dir (logs included) after Stop; tests set it when they failed.
	KeepDir bool
	// Profiling has the API server serve /debug/pprof to its authorized clients (the bench
	// profiles it); off otherwise, as in a hardened control plane.
	Profiling bool
	// Zones are the values of topology.kubernetes.io/zone, one node group each.
	Zones []string
	// NodesPerZone is how many fake nodes each zone gets (default 1).
	NodesPerZone int
	// VolumesPerZone is how many pre-made PersistentVolumes each zone gets (default 4).
	VolumesPerZone int
	// VolumeSize is each pre-made volume's capacity (default 100Gi).
	VolumeSize resource.Quantity
	// NodeCapacity is each node's capacity and allocatable (default 32 CPU, 256Gi, 110 pods).
	NodeCapacity corev1.ResourceList
	// Log receives progress lines (default: discarded).
	Log io.Writer
	// RealNode, when set, adds one real node (kubelet, containerd, runc) in RealZone, whose
	// pods really run (node.go). It needs root and runc.
	RealNode *NodeOptions
}

// Cluster is a running cluster in a box.
type Cluster struct {
	Dir        string
	BinDir     string
	Kubeconfig string
	Config     *rest.Config
	Clientset  kubernetes.Interface
	Zones      []string
	// Nodes maps each zone to its node names.
	Nodes map[string][]string
	// Node is the real node, when Options.RealNode asked for one.
	Node *Node

	opts    Options
	procs   []*process
	outages int
}

// Start brings every component up and returns once the nodes are Ready and the default
// ServiceAccount exists (pods can be admitted). On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	opts = withDefaults(opts)
	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		base := os.Getenv("NBO_TEST_TMP")
		if base != "" {
			if err := os.MkdirAll(base, 0o755); err != nil {
				return nil, err
			}
		}
		if dir, err = os.MkdirTemp(base, "cluster-"); err != nil {
			return nil, err
		}
	}
	c := &Cluster{Dir: dir, BinDir: binDir, Zones: opts.Zones, Nodes: map[string][]string{}, opts: opts}
	defer func() {
		if err != nil {
			c.opts.KeepDir = true
			_ = c.Stop()
			err = fmt.Errorf("%w (logs in %s)", err, filepath.Join(dir, "logs"))
		}
	}()
	began := time.Now()
	if err := c.start(ctx); err != nil {
		return c, err
	}
	c.logf("cluster in a box up in %s: %d nodes in zones %s; export KUBECONFIG=%s",
		time.Since(began).Round(10*time.Millisecond), len(opts.Zones)*opts.NodesPerZone, strings.Join(opts.Zones, ","), c.Kubeconfig)
	if c.Node != nil {
		c.logf("real node %s in zone %s (cgroup root %s, pods need the toleration %s)", c.Node.Name, RealZone, c.Node.CgroupRoot, RealNodeTaint)
	}
	return c, nil
}

func withDefaults(o Options) Options {
	if len(o.Zones) == 0 {
		o.Zones = []string{"zone-a", "zone-b", "zone-c"}
	}
	if o.NodesPerZone == 0 {
		o.NodesPerZone = 1
	}
	if o.VolumesPerZone == 0 {
		o.VolumesPerZone = 4
	}
	if o.VolumeSize.IsZero() {
		o.VolumeSize = resource.MustParse("100Gi")
	}
	if o.NodeCapacity == nil {
		o.NodeCapacity = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// findBinDir resolves the folder of built binaries and checks they are all there.
func findBinDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if dir == "" {
		wd, _ := os.Getwd()
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "bin", "k8s", "kube-apiserver")); err == nil {
				dir = filepath.Join(d, "bin", "k8s")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if dir == "" {
		return "", errors.New("no Kubernetes binaries: run hack/build-k8s.sh (make k8s) or set KUBEBUILDER_ASSETS")
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("%s missing from %s: run hack/build-k8s.sh (make k8s)", b, dir)
		}
	}
	return filepath.Abs(dir)
}

func (c *Cluster) logf(format string, args ...any) {
	fmt.Fprintf(c.opts.Log, format+"\n", args...)
}

func (c *Cluster) start(ctx context.Context) error {
	logDir := filepath.Join(c.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	certs, err := newPKI(filepath.Join(c.Dir, "pki"))
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)

	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, server, certs); err != nil {
		return err
	}
	c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	c.Config.QPS, c.Config.Burst = 100, 200
	if c.Clientset, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := c.run("etcd", "--name=box", "--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=box="+peerURL, "--unsafe-no-fsync=true", "--log-level=warn"); err != nil {
		return err
	}
	if err := c.run("kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--tls-cert-file="+certs.servingCert, "--tls-private-key-file="+certs.servingK,
		"--client-ca-file="+certs.caCert,
		"--service-account-key-file="+certs.saPub,
		"--service-account-signing-key-file="+certs.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		// A loopback advertise address is fatal to the endpoint reconciler.
		"--endpoint-reconciler-type=none",
		"--profiling="+strconv.FormatBool(c.opts.Profiling), "--v=0"); err != nil {
		return err
	}
	if err := c.waitAPIServer(ctx); err != nil {
		return err
	}
	if err := c.run("kube-controller-manager",
		"--kubeconfig="+c.Kubeconfig,
		"--authentication-kubeconfig="+c.Kubeconfig, "--authorization-kubeconfig="+c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(cmPort),
		"--leader-elect=false", "--controllers=*",
		"--root-ca-file="+certs.caCert,
		"--service-account-private-key-file="+certs.saKey,
		"--use-service-account-credentials=false",
		"--node-monitor-grace-period=50s",
		"--profiling=false"); err != nil {
		return err
	}
	if err := c.run("kube-scheduler",
		"--kubeconfig="+c.Kubeconfig,
		"--authentication-kubeconfig="+c.Kubeconfig, "--authorization-kubeconfig="+c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort),
		"--leader-elect=false", "--profiling=false"); err != nil {
		return err
	}
	stagesFile, err := writeStages(c.Dir)
	if err != nil {
		return err
	}
	if err := c.run("kwok",
		"--kubeconfig="+c.Kubeconfig,
		"--config="+stagesFile,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-lease-duration-seconds=40",
		"--server-address=127.0.0.1:"+strconv.Itoa(kwokPort)); err != nil {
		return err
	}
	if err := writePIDs(filepath.Join(c.Dir, "pids"), c.procs); err != nil {
		return err
	}
	if err := c.createNodes(ctx); err != nil {
		return err
	}
	if err := c.createStorage(ctx); err != nil {
		return err
	}
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	if c.opts.RealNode != nil {
		return c.startNode(ctx, *c.opts.RealNode)
	}
	return nil
}

func (c *Cluster) run(name string, args ...string) error {
	p, err := startProcess(name, filepath.Join(c.BinDir, name), args, filepath.Join(c.Dir, "logs"))
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

// poll runs cond until it is true, ctx ends, or a component of the cluster exits (then its log's
// tail is in the error, which is what anybody debugging a failed start needs first).
func (c *Cluster) poll(ctx context.Context, what string, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, p := range c.procs {
			if p.exited() && !p.companion {
				return false, fmt.Errorf("%s %w: %v\n%s", p.name, errExited, p.err, tail(p.log, 20))
			}
		}
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		if last != nil && !errors.Is(err, errExited) {
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, err, last)
		}
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}

func (c *Cluster) waitAPIServer(ctx context.Context) error {
	return c.poll(ctx, "kube-apiserver /readyz", 60*time.Second, func(ctx context.Context) (bool, error) {
		body, err := c.Clientset.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", err
	})
}

func (c *Cluster) createNodes(ctx context.Context) error {
	for _, zone := range c.Zones {
		for i := range c.opts.NodesPerZone {
			if err := c.createNode(ctx, zone, fmt.Sprintf("kwok-%s-%d", zone, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// createNode registers a node kwok runs (it marks it Ready and keeps its lease).
func (c *Cluster) createNode(ctx context.Context, zone, name string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				corev1.LabelHostname:   name,
				ZoneLabel:              zone,
				corev1.LabelOSStable:   "linux",
				corev1.LabelArchStable: "amd64",
				"type":                 "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: c.opts.NodeCapacity, Allocatable: c.opts.NodeCapacity},
	}
	if _, err := c.Clientset.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	c.Nodes[zone] = append(c.Nodes[zone], name)
	return nil
}

// LoseNode takes a node away as a cloud does when its machine is gone: the Node object is
// deleted, and the real controller-manager's pod garbage collector fails and removes the pods
// bound to it (after its 40 s quarantine).
func (c *Cluster) LoseNode(ctx context.Context, name string) error {
	if err := c.Clientset.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("deleting node %s: %w", name, err)
	}
	for zone, names := range c.Nodes {
		c.Nodes[zone] = slices.DeleteFunc(names, func(n string) bool { return n == name })
	}
	return nil
}

// AddNode registers a new node in zone and waits until kwok has made it Ready.
func (c *Cluster) AddNode(ctx context.Context, zone, name string) error {
	if err := c.createNode(ctx, zone, name); err != nil {
		return err
	}
	return c.waitNodeReady(ctx, name, 60*time.Second, nil)
}

// waitNodeReady waits until node name is Ready; alive, when set, fails the wait early (the
// process that makes the node Ready has exited).
func (c *Cluster) waitNodeReady(ctx context.Context, name string, timeout time.Duration, alive func() error) error {
	return c.poll(ctx, "node "+name+" Ready", timeout, func(ctx context.Context) (bool, error) {
		if alive != nil {
			if err := alive(); err != nil {
				return false, err
			}
		}
		n, err := c.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return nodeReady(n), nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// createStorage makes the zonal StorageClass and its pre-made volumes. With no provisioner and
// WaitForFirstConsumer, the real PV controller binds a claim to a volume in the zone the real
// scheduler picked for the first pod that uses it: the topology behaviour of a cloud's zonal disks.
func (c *Cluster) createStorage(ctx context.Context) error {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: StorageClassName},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &mode,
	}
	if _, err := c.Clientset.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("storage class: %w", err)
	}
	for _, zone := range c.Zones {
		for i := range c.opts.VolumesPerZone {
			name := fmt.Sprintf("pv-%s-%d", zone, i)
			pv := &corev1.PersistentVolume{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{ZoneLabel: zone}},
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: c.opts.VolumeSize},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					StorageClassName:              StorageClassName,
					PersistentVolumeSource: corev1.PersistentVolumeSource{
						Local: &corev1.LocalVolumeSource{Path: "/mnt/backups/" + name},
					},
					NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
						NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
							Key: ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
						}}}},
					}},
				},
			}
			if _, err := c.Clientset.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("volume %s: %w", name, err)
			}
		}
	}
	return nil
}

// waitReady waits for kwok to mark every node Ready and for the controller-manager to create the
// default ServiceAccount, without which no pod is admitted.
func (c *Cluster) waitReady(ctx context.Context) error {
	if err := c.poll(ctx, "nodes Ready", 60*time.Second, func(ctx context.Context) (bool, error) {
		nodes, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for i := range nodes.Items {
			if nodeReady(&nodes.Items[i]) {
				ready++
			}
		}
		return ready == len(c.Zones)*c.opts.NodesPerZone, nil
	}); err != nil {
		return err
	}
	return c.poll(ctx, "default ServiceAccount", 60*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.Clientset.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// Stop stops every component, newest first, by pid and process group, and removes Dir unless
// KeepDir is set. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var errs []error
	if c.Node != nil {
		// First, while the API server is up: the kubelet stops cleanly.
		if err := c.Node.stop(); err != nil {
			errs = append(errs, fmt.Errorf("real node: %w", err))
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		if err := c.procs[i].stop(15 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	c.procs = nil
	if len(errs) == 0 && !c.opts.KeepDir {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Process is a program a test runs beside the cluster (the operator), stopped with it.
type Process struct{ p *process }

// Start runs bin with args and env (added to this process's environment) until Stop, or until
// the cluster stops; its output goes to logs/<name>.log in the cluster's folder.
func (c *Cluster) Start(name, bin string, env []string, args ...string) (*Process, error) {
	p, err := startProcessEnv(name, bin, args, env, filepath.Join(c.Dir, "logs"), name)
	if err != nil {
		return nil, err
	}
	p.companion = true
	c.procs = append(c.procs, p)
	return &Process{p: p}, nil
}

// PodGateway is the real node's pod bridge address (its CNI config's 10.244.0.0/24 gateway): a
// process started with StartInPodNetwork listens there, inside the run's network namespace, and
// the real node's pods reach it; nothing outside the namespace can.
const PodGateway = "10.244.0.1"

// StartInPodNetwork is Start inside the real node's network namespace.
func (c *Cluster) StartInPodNetwork(name, bin string, args ...string) (*Process, error) {
	if c.Node == nil {
		return nil, errors.New("no real node: its pod network is where the process would listen")
	}
	return c.Start(name, "nsenter", nil, append([]string{"--net=/run/netns/" + c.Node.netns, bin}, args...)...)
}

// Stop terminates the process (SIGTERM, then SIGKILL after grace).
func (p *Process) Stop(grace time.Duration) error { return p.p.stop(grace) }

// Outage kills the running component name ("kube-apiserver", "etcd", ...) with SIGKILL, as a
// crash or a node's power loss would (a graceful API server stop drains watches for 15 s and
// more), keeps it down for down, and starts it again with the same command line (its log
// continues in logs/<name>-<n>.log). It returns when the new process has started, not when it
// is ready.
func (c *Cluster) Outage(name string, down time.Duration) error {
	var old *process
	at := 0
	for i, p := range c.procs {
		if p.name == name && !p.exited() {
			old, at = p, i
		}
	}
	if old == nil {
		return fmt.Errorf("no running %s", name)
	}
	if err := old.kill(); err != nil {
		return err
	}
	time.Sleep(down)
	c.outages++
	p, err := startProcessEnv(name, old.cmd.Path, old.cmd.Args[1:], old.cmd.Env, filepath.Join(c.Dir, "logs"), fmt.Sprintf("%s-%d", name, c.outages))
	if err != nil {
		return err
	}
	// In the crashed one's place: the cluster is whole again, and stops in its order.
	c.procs[at] = p
	return nil
}

// Kill ends the process group at once (SIGKILL: no deferred cleanup, no lease released, as
// when a node dies or the OOM killer strikes) and waits until it has exited.
func (p *Process) Kill() error { return p.p.kill() }

// Pid is the process's id.
func (p *Process) Pid() int { return p.p.pid() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.p.exited() }

// Log is the path of the process's log.
func (p *Process) Log() string { return p.p.log }

// ServiceAccountKubeconfig writes a kubeconfig that acts as the existing ServiceAccount
// namespace/name, with a token from the TokenRequest API: the identity an in-cluster pod has, so
// RBAC is enforced on every request made with it.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name string) (string, error) {
	token, err := c.Kubectl(ctx, nil, "create", "token", name, "-n", namespace, "--duration=24h")
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["box"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: strings.TrimSpace(token)}
	cfg.Contexts["box"] = &clientcmdapi.Context{Cluster: "box", AuthInfo: name}
	cfg.CurrentContext = "box"
	path := filepath.Join(c.Dir, name+".kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// Helm runs the helm built with the cluster (v3.22) against it, with its own config and cache
// folders under Dir, and returns its stdout; stderr is in the error.
func (c *Cluster) Helm(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "helm"), append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(c.Dir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(c.Dir, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(c.Dir, "helm", "data"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// KeepLogs makes Stop leave Dir (with logs/) in place; call it when a test failed.
func (c *Cluster) KeepLogs() { c.opts.KeepDir = true }

// PIDs returns the pids of the running components by name.
func (c *Cluster) PIDs() map[string]int {
	m := map[string]int{}
	for _, p := range c.procs {
		if !p.exited() {
			m[p.name] = p.pid()
		}
	}
	return m
}

// Kubectl runs the kubectl built with the cluster (v1.37, unlike an older one on PATH) against it
// and returns its stdout; stderr is in the error.
func (c *Cluster) Kubectl(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "kubectl"), append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func writeKubeconfig(path, server string, p *pki) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["box"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: p.adminCertPEM, ClientKeyData: p.adminKeyPEM}
	cfg.Contexts["box"] = &clientcmdapi.Context{Cluster: "box", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "box"
	return clientcmd.WriteToFile(*cfg, path)
}

// writeStages joins the embedded Stage manifests into the one file kwok's --config reads.
func writeStages(dir string) (string, error) {
	entries, err := stages.ReadDir("stages")
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		data, err := stages.ReadFile("stages/" + n)
		if err != nil {
			return "", err
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	path := filepath.Join(dir, "kwok-stages.yaml")
	return path, os.WriteFile(path, b.Bytes(), 0o600)
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
