package cluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/graphkeeper/neo4j-backup-operator/test/images"
)

// The real node: one kubelet (v1.37, built with the control plane) with containerd (v2.4) and
// runc (apt) beside kwok's nodes, so the pods scheduled onto it really run. It is measured on
// these machines in shared/notes/real-node.md, whose settings this follows; each one that is
// not a default says why here.
//
// Everything is unique per run, so runs side by side do not meet: the node's name and address
// (127.a.b.c), its ports, its cgroup root and network namespace (named after the run), the
// containerd socket, root and state, runc's root. Teardown goes by cgroup, not by command
// line, because container processes do not carry the run's folder in theirs.
const (
	// RealZone is the real node's zone: no kwok node is in it, so a pod placed there runs.
	RealZone = "zone-real"
	// RealStorageClassName is the class of the real node's local volumes (folders under the
	// run's folder, so a pod's files can be read on the host).
	RealStorageClassName = "real-local"
	// RealNodeTaint keeps pods off the real node unless they tolerate it: the simulated pods
	// (Neo4j servers, most backup pods) stay on kwok's nodes.
	RealNodeTaint = "sim.graphkeeper.dev/real-node"
	// PauseImage is the pod sandbox image the node is given (images.Pause).
	PauseImage = "nbo-pause:1"
)

// RealToleration lets a pod onto the real node.
var RealToleration = corev1.Toleration{Key: RealNodeTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}

// NodeOptions shape the real node.
type NodeOptions struct {
	// Volumes is how many local PersistentVolumes of RealStorageClassName it gets (default 8).
	Volumes int
	// VolumeSize is their capacity (default 10Gi; nothing enforces it).
	VolumeSize resource.Quantity
	// Images are image tarballs (docker-archive, e.g. from test/images) imported before the node
	// registers; pods use them with imagePullPolicy IfNotPresent or Never (nothing is pulled).
	Images []string
}

// Node is the running real node.
type Node struct {
	// Name is its Node name and address (127.a.b.c).
	Name string
	// Dir is its folder: containerd's root and state, the kubelet's root, the volumes.
	Dir string
	// CgroupRoot is its cgroup root (/<run>), in every cgroup v1 hierarchy.
	CgroupRoot string

	netns      string
	socket     string
	binDir     string
	kubelet    *process
	containerd *process
}

// VolumePath is the host folder of the real node's local volume i.
func (n *Node) VolumePath(i int) string {
	return filepath.Join(n.Dir, "volumes", fmt.Sprintf("pv-%d", i))
}

// runName names this run's cgroup root and network namespace: after hack/run-tests.sh's
// folder, so its leftover check finds what a crashed run left, and random within it.
func runName() string {
	prefix := "nbo-box"
	if base := os.Getenv("NBO_TEST_TMP"); base != "" {
		prefix = filepath.Base(base) // nbo-test.XXXXXX
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// startNode brings the real node up: cgroups, network namespace, containerd, images, kubelet,
// and its storage; it returns once the node is Ready.
func (c *Cluster) startNode(ctx context.Context, o NodeOptions) error {
	if o.Volumes == 0 {
		o.Volumes = 8
	}
	if o.VolumeSize.IsZero() {
		o.VolumeSize = resource.MustParse("10Gi")
	}
	if err := nodePrerequisites(c.BinDir); err != nil {
		return err
	}
	run := runName()
	var ip [3]byte
	_, _ = rand.Read(ip[:])
	n := &Node{
		// 127.0.0.0/24 holds the control plane and the resolver's usual 127.0.0.53.
		Name:       fmt.Sprintf("127.%d.%d.%d", 1+ip[0]%250, ip[1], 2+ip[2]%250),
		Dir:        filepath.Join(c.Dir, "node"),
		CgroupRoot: "/" + run,
		netns:      run,
		binDir:     c.BinDir,
	}
	n.socket = filepath.Join(n.Dir, "containerd.sock")
	sweepStaleNodes()
	if err := n.record(); err != nil {
		return err
	}
	c.Node = n
	for _, d := range []string{"volumes", "cni/conf", "cni/ipam", "containerd/root", "containerd/state", "runc", "kubelet", "pod-logs", "volume-plugins", "opt"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := n.makeCgroups(); err != nil {
		return err
	}
	// containerd runs in a network namespace of the run's: the CNI bridge (10.244.0.0/24) exists
	// only there, with no uplink and no route out, so nothing a pod sends leaves it. The
	// kubelet stays in the host's namespace, where the API server reaches it.
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", n.netns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %w: %s", n.netns, err, out)
	}
	if out, err := exec.CommandContext(ctx, "ip", "-n", n.netns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("loopback in %s: %w: %s", n.netns, err, out)
	}
	if err := n.writeConfig(); err != nil {
		return err
	}
	// nsenter, not `ip netns exec`, which remounts /sys and hides the cgroup mounts.
	p, err := startProcessEnv("containerd", "nsenter",
		[]string{"--net=/run/netns/" + n.netns, filepath.Join(n.binDir, "containerd"), "--config", filepath.Join(n.Dir, "containerd.toml"), "--log-level=warn"},
		// The shim containerd starts is found on PATH: ours, never another one's.
		[]string{"PATH=" + n.binDir + ":" + os.Getenv("PATH")}, filepath.Join(c.Dir, "logs"), "containerd")
	if err != nil {
		return err
	}
	n.containerd = p
	if err := c.poll(ctx, "containerd", 30*time.Second, func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("containerd exited: %s", tail(p.log, 10))
		}
		return n.ctr(ctx, "version") == nil, nil
	}); err != nil {
		return err
	}
	// The sandbox image first (containerd.toml names it), then the test's images.
	pause, err := images.Pause(ctx, n.Dir, PauseImage)
	if err != nil {
		return err
	}
	for _, img := range append([]string{pause}, o.Images...) {
		if err := n.Import(ctx, img); err != nil {
			return err
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	if err := n.writeKubeletConfig(ports[0], ports[1]); err != nil {
		return err
	}
	p, err = startProcess("kubelet", filepath.Join(n.binDir, "kubelet"), []string{
		"--config=" + filepath.Join(n.Dir, "kubelet.yaml"),
		// The admin credentials: the box's API server authorizes by RBAC only (no Node
		// authorizer), and a node certificate would add nothing the tests use.
		"--kubeconfig=" + c.Kubeconfig,
		// A loopback --node-ip is refused, and without a name the kubelet would look its own
		// up in DNS (the machine's resolver is not to be asked): the name is the address.
		"--hostname-override=" + n.Name,
		"--root-dir=" + filepath.Join(n.Dir, "kubelet"),
		"--cert-dir=" + filepath.Join(n.Dir, "kubelet-pki"),
		"--node-labels=" + ZoneLabel + "=" + RealZone + ",type=real",
		"--v=1",
	}, filepath.Join(c.Dir, "logs"))
	if err != nil {
		return err
	}
	n.kubelet = p
	if err := c.waitNodeReady(ctx, n.Name, 90*time.Second, func() error {
		if p.exited() {
			return fmt.Errorf("kubelet exited: %s", tail(p.log, 20))
		}
		return nil
	}); err != nil {
		return err
	}
	c.Nodes[RealZone] = []string{n.Name}
	return c.createNodeStorage(ctx, n, o)
}

// nodePrerequisites names what the real node needs and the machine lacks.
func nodePrerequisites(binDir string) error {
	if os.Geteuid() != 0 {
		return errors.New("the real node needs root (cgroups, mounts, network namespaces)")
	}
	for _, b := range []string{"kubelet", "containerd", "containerd-shim-runc-v2", "ctr", "cni/bridge", "cni/host-local", "cni/loopback"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return fmt.Errorf("%s missing from %s: run hack/build-k8s.sh (make k8s)", b, binDir)
		}
	}
	for _, b := range []string{"runc", "ip", "nsenter"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("the real node needs %s (apt-get install runc iproute2 util-linux): %w", b, err)
		}
	}
	return nil
}

// cgroupMounts are the mount points of the machine's cgroup v1 hierarchies, and with v2 the
// cgroup v2 one as well (the kubelet makes its root there too). The real node needs v1 here:
// the v2 hierarchy of these machines offers no memory controller.
func cgroupMounts(v2 bool) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		fields := strings.Fields(s.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && (fields[i+1] == "cgroup" || v2 && fields[i+1] == "cgroup2") {
				out = append(out, fields[4])
			}
		}
	}
	return out, s.Err()
}

// makeCgroups creates the node's cgroup root in every hierarchy; cpuset needs its cpus and mems
// copied from the parent before anything can join it.
func (n *Node) makeCgroups() error {
	mounts, err := cgroupMounts(false)
	if err != nil {
		return err
	}
	if len(mounts) == 0 {
		return errors.New("no cgroup v1 hierarchy mounted: the real node is set up for cgroup v1 machines")
	}
	for _, m := range mounts {
		d := filepath.Join(m, n.CgroupRoot)
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cgroup %s: %w", d, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(m, f))
			if err != nil {
				continue // not the cpuset hierarchy
			}
			if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
				return fmt.Errorf("cgroup %s/%s: %w", d, f, err)
			}
		}
	}
	return nil
}

func (n *Node) writeConfig() error {
	d := n.Dir
	// The CNI network: a bridge in the run's namespace, addresses from host-local kept under
	// the run's folder (its default, /var/lib/cni, is the machine's).
	cni := `{"cniVersion": "1.0.0", "name": "nbo", "plugins": [{"type": "bridge", "bridge": "nbo0", "isGateway": true,
  "ipMasq": false, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "dataDir": "` + d + `/cni/ipam"}}]}
`
	if err := os.WriteFile(filepath.Join(d, "cni/conf/10-nbo.conflist"), []byte(cni), 0o644); err != nil {
		return err
	}
	q := strconv.Quote
	toml := `version = 3
root = ` + q(d+"/containerd/root") + `
state = ` + q(d+"/containerd/state") + `
# The machine's root lacks CAP_SYS_RESOURCE: containerd must not lower oom_score_adj.
oom_score = 0
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = ` + q(n.socket) + `

[debug]
  address = ""

[metrics]
  address = ""

[plugins.'io.containerd.internal.v1.opt']
  path = ` + q(d+"/opt") + `

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = ` + q(PauseImage) + `

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  disable_apparmor = true
  # runc cannot lower oom_score_adj either (every sandbox would fail to start).
  restrict_oom_score_adj = true
  # Pod network namespaces under the state folder, not the machine's /var/run/netns.
  netns_mounts_under_state_dir = true
  cdi_spec_dirs = []
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [` + q(n.binDir+"/cni") + `]
    conf_dir = ` + q(d+"/cni/conf") + `
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        Root = ` + q(d+"/runc") + `
        SystemdCgroup = false
`
	return os.WriteFile(filepath.Join(d, "containerd.toml"), []byte(toml), 0o644)
}

func (n *Node) writeKubeletConfig(port, healthz int) error {
	d := n.Dir
	// Pods resolve through a loopback resolver that is not there: nothing is looked up outside.
	if err := os.WriteFile(filepath.Join(d, "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		return err
	}
	cfg := `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ` + n.Name + `
port: ` + strconv.Itoa(port) + `
readOnlyPort: 0
healthzBindAddress: ` + n.Name + `
healthzPort: ` + strconv.Itoa(healthz) + `
# These machines have cgroup v1 only for memory, and PID 1 is not systemd.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: ` + n.CgroupRoot + `
containerRuntimeEndpoint: unix://` + n.socket + `
# The box's API server presents no kubelet client certificate.
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
failSwapOn: false
resolvConf: ` + d + `/resolv.conf
# Imported images cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A nearly full disk of the machine's must not evict the tests' pods.
evictionHard:
  memory.available: "1%"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
syncFrequency: 10s
volumePluginDir: ` + d + `/volume-plugins
podLogsDir: ` + d + `/pod-logs
registerWithTaints:
- key: ` + RealNodeTaint + `
  effect: NoSchedule
serializeImagePulls: false
`
	return os.WriteFile(filepath.Join(d, "kubelet.yaml"), []byte(cfg), 0o644)
}

// ctr runs containerd's ctr against the node's containerd, in the namespace the CRI uses.
func (n *Node) ctr(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(n.binDir, "ctr"), append([]string{"--address", n.socket, "-n", "k8s.io"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Import loads an image tarball (docker-archive) into the node's containerd.
func (n *Node) Import(ctx context.Context, tarball string) error {
	return n.ctr(ctx, "images", "import", tarball)
}

// createNodeStorage makes the real node's StorageClass and its local volumes, folders under the
// run's folder: the box's other volumes point at paths only kwok pretends to have.
func (c *Cluster) createNodeStorage(ctx context.Context, n *Node, o NodeOptions) error {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: RealStorageClassName},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &mode,
	}
	if _, err := c.Clientset.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("storage class %s: %w", RealStorageClassName, err)
	}
	for i := range o.Volumes {
		if err := os.MkdirAll(n.VolumePath(i), 0o755); err != nil {
			return err
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pv-real-%d", i), Labels: map[string]string{ZoneLabel: RealZone}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: o.VolumeSize},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              RealStorageClassName,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: n.VolumePath(i)}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
						Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{n.Name},
					}}}},
				}},
			},
		}
		if _, err := c.Clientset.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("volume %s: %w", pv.Name, err)
		}
	}
	return nil
}

// recordDir holds a record of every real node running on the machine: its owner (this
// process), folder, cgroup root and namespace. A node whose owner died without Stop (a SIGKILL of
// `make demo`, a test binary killed outright) leaves its shims, containers, mounts and cgroups;
// the next node started anywhere on the machine tears it down from its record. (Under `make
// test`, hack/run-tests.sh also finds them by name.)
const recordDir = "/run/nbo-real-nodes"

type nodeRecord struct {
	Owner      int    `json:"owner"`
	Dir        string `json:"dir"`
	CgroupRoot string `json:"cgroupRoot"`
	Netns      string `json:"netns"`
}

func (n *Node) record() error {
	if err := os.MkdirAll(recordDir, 0o755); err != nil {
		return err
	}
	data, _ := json.Marshal(nodeRecord{Owner: os.Getpid(), Dir: n.Dir, CgroupRoot: n.CgroupRoot, Netns: n.netns})
	return os.WriteFile(filepath.Join(recordDir, n.netns+".json"), data, 0o644)
}

// sweepStaleNodes tears down the nodes whose owners are gone.
func sweepStaleNodes() {
	files, _ := filepath.Glob(filepath.Join(recordDir, "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		var r nodeRecord
		if err != nil || json.Unmarshal(data, &r) != nil || r.Netns == "" || r.CgroupRoot == "" {
			continue
		}
		if syscall.Kill(r.Owner, 0) == nil {
			continue // still running (or the pid was reused: left alone, the safe side)
		}
		stale := &Node{Dir: r.Dir, CgroupRoot: r.CgroupRoot, netns: r.Netns, socket: filepath.Join(r.Dir, "containerd.sock")}
		_ = stale.stop()
	}
}

// stop tears the node down, whatever state it is in: the kubelet first (so it restarts
// nothing), then every process in the node's cgroups, the shims of its containerd, containerd,
// every mount under its folder (deepest first: the kubelet bind-mounts its root onto itself),
// the cgroups and the network namespace. Safe to call more than once.
func (n *Node) stop() error {
	var errs []error
	if n.kubelet != nil {
		if err := n.kubelet.stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := killCgroup(n.CgroupRoot); err != nil {
		errs = append(errs, err)
	}
	killShims(n.socket)
	if n.containerd != nil {
		if err := n.containerd.stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountUnder(n.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroup(n.CgroupRoot); err != nil {
		errs = append(errs, err)
	}
	if _, err := os.Stat("/run/netns/" + n.netns); err == nil {
		if out, err := exec.Command("ip", "netns", "delete", n.netns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip netns delete %s: %w: %s", n.netns, err, out))
		}
	}
	if len(errs) == 0 {
		_ = os.Remove(filepath.Join(recordDir, n.netns+".json"))
	}
	return errors.Join(errs...)
}

// killCgroup SIGKILLs every process in root's pids cgroup tree until none is left (a process
// may fork while it is being killed).
func killCgroup(root string) error {
	base := filepath.Join("/sys/fs/cgroup/pids", root)
	if _, err := os.Stat(base); err != nil {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pids []int
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still in cgroup %s", pids, root)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killShims SIGKILLs the containerd shims started for the containerd at socket: they leave
// containerd's process group and outlive it.
func killShims(socket string) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(cmd), "containerd-shim") || !strings.Contains(string(cmd), socket) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder detaches every mount at or under dir, deepest first.
func unmountUnder(dir string) error {
	for range 5 {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return err
		}
		var points []string
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) > 4 {
				p := unescapeMount(fields[4])
				if p == dir || strings.HasPrefix(p, dir+"/") {
					points = append(points, p)
				}
			}
		}
		f.Close()
		if len(points) == 0 {
			return nil
		}
		sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
		for _, p := range points {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	}
	return fmt.Errorf("mounts left under %s", dir)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroup removes root's cgroup tree, children first, in every hierarchy.
func removeCgroup(root string) error {
	mounts, err := cgroupMounts(true)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		base := filepath.Join(m, root)
		var dirs []string
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			// A cgroup is removed with rmdir even though it lists files.
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("rmdir %s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}
