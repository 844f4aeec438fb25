package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/graphkeeper/neo4j-backup-operator/test/images"
)

// TestRealNode runs a pod on the real node and checks what only a real node does: an init
// container's binary from one image runs in another image's container as 7474 and writes onto a
// local volume with fsGroup, a container over its memory limit is OOMKilled by the kernel, and
// Stop leaves no process, mount, cgroup or network namespace.
func TestRealNode(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set (make test sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "nbo")
	if err := images.Binary(ctx, "", bin); err != nil {
		t.Fatal(err)
	}
	op, err := images.Operator(bin, dir, "nbo-test/operator:1")
	if err != nil {
		t.Fatal(err)
	}
	neo, err := images.Neo4j(ctx, dir, "nbo-test/neo4j:5.26", "5.26")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	c, err := Start(ctx, Options{Zones: []string{"zone-a"}, VolumesPerZone: 1, RealNode: &NodeOptions{Volumes: 1, Images: []string{op, neo}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("box with a real node up in %s", time.Since(began).Round(10*time.Millisecond))
	node, root := c.Node, c.Node.CgroupRoot
	stopped := false
	defer func() {
		if !stopped {
			c.KeepLogs()
			_ = c.Stop()
		}
	}()
	cs := c.Clientset

	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(RealStorageClassName),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := cs.CoreV1().PersistentVolumeClaims("default").Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	restricted := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "real", Namespace: "default"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Tolerations:   []corev1.Toleration{RealToleration},
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](7474), RunAsGroup: ptr.To[int64](7474),
				FSGroup: ptr.To[int64](7474), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			InitContainers: []corev1.Container{{Name: "install", Image: "nbo-test/operator:1", ImagePullPolicy: corev1.PullNever,
				Command: []string{"/neo4j-backup-operator", "install-agent", "/agent/agent"}, SecurityContext: restricted,
				VolumeMounts: []corev1.VolumeMount{{Name: "agent", MountPath: "/agent"}}}},
			Containers: []corev1.Container{
				{Name: "main", Image: "nbo-test/neo4j:5.26", ImagePullPolicy: corev1.PullNever, SecurityContext: restricted,
					// The agent's binary, copied in by the init container, copies itself onto the volume.
					Command:      []string{"/agent/agent", "install-agent", "/backups/copied"},
					VolumeMounts: []corev1.VolumeMount{{Name: "agent", MountPath: "/agent", ReadOnly: true}, {Name: "data", MountPath: "/backups"}}},
				{Name: "hog", Image: "nbo-test/neo4j:5.26", ImagePullPolicy: corev1.PullNever, SecurityContext: restricted,
					// The stand-in JVM takes its 64m heap and 64m page cache: over the 64Mi limit.
					Command: []string{"neo4j-admin", "database", "backup", "--pagecache=64m"}, Env: []corev1.EnvVar{{Name: "HEAP_SIZE", Value: "64m"}},
					Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}},
			},
			Volumes: []corev1.Volume{
				{Name: "agent", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			},
		},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err = cs.CoreV1().Pods("default").Get(ctx, "real", metav1.GetOptions{})
		return err == nil && (got.Status.Phase == corev1.PodSucceeded || got.Status.Phase == corev1.PodFailed), nil
	}); err != nil {
		c.KeepLogs()
		t.Fatalf("pod did not end: %v; status %+v", err, got.Status)
	}
	if got.Spec.NodeName != node.Name {
		t.Errorf("pod ran on %s, want the real node %s", got.Spec.NodeName, node.Name)
	}
	for _, s := range got.Status.ContainerStatuses {
		term := s.State.Terminated
		if term == nil {
			t.Errorf("%s: not terminated: %+v", s.Name, s.State)
			continue
		}
		switch s.Name {
		case "main":
			if term.ExitCode != 0 {
				t.Errorf("main exited %d (%s): %s", term.ExitCode, term.Reason, term.Message)
			}
		case "hog":
			if term.Reason != "OOMKilled" || term.ExitCode != 137 {
				t.Errorf("hog ended %s, exit %d; want OOMKilled, 137 (a kernel memory-cgroup kill)", term.Reason, term.ExitCode)
			}
		}
	}
	copied := filepath.Join(node.VolumePath(0), "copied")
	st, err := os.Stat(copied)
	if err != nil {
		t.Fatalf("the pod's file is not on the local volume: %v", err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 7474 {
		t.Errorf("the pod's file is owned by %d, want 7474", sys.Uid)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	assertNoLeftovers(t, root, node)
}

// assertNoLeftovers checks what a real node could leave on the machine.
func assertNoLeftovers(t *testing.T, root string, n *Node) {
	t.Helper()
	mounts, err := cgroupMounts(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if _, err := os.Stat(filepath.Join(m, root)); err == nil {
			t.Errorf("cgroup %s left", filepath.Join(m, root))
		}
	}
	if _, err := os.Stat("/run/netns/" + n.netns); err == nil {
		t.Errorf("network namespace %s left", n.netns)
	}
	data, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(data), n.Dir) {
		t.Errorf("mounts left under %s", n.Dir)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmd, _ := os.ReadFile(p)
		if strings.Contains(string(cmd), n.socket) {
			t.Errorf("process left: %s", strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}

// TestRealNodeCrash kills a process that runs a real node with a pod on it, as a SIGKILL of
// `make demo` or of a test binary would: its kubelet and containerd die with it, its shim and
// container do not. The next node started on the machine finds the record and tears the crashed
// one down by cgroup.
func TestRealNodeCrash(t *testing.T) {
	if os.Getenv("NBO_CRASH_CHILD") == "1" {
		crashChild()
		return
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set (make test sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRealNodeCrash$")
	child.Env = append(os.Environ(), "NBO_CRASH_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var rec nodeRecord
	scan := bufio.NewScanner(out)
	for scan.Scan() {
		if line, ok := strings.CutPrefix(scan.Text(), "RUNNING "); ok {
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if rec.Netns == "" {
		_ = child.Process.Kill()
		t.Fatalf("the child never ran its pod: %v", child.Wait())
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	n := &Node{Dir: rec.Dir, CgroupRoot: rec.CgroupRoot, netns: rec.Netns, socket: filepath.Join(rec.Dir, "containerd.sock")}
	if procs := cgroupProcs(rec.CgroupRoot); len(procs) == 0 {
		t.Fatalf("the crash left nothing in %s: the test would prove nothing", rec.CgroupRoot)
	} else {
		t.Logf("after the crash: %d processes left in cgroup %s", len(procs), rec.CgroupRoot)
	}
	sweepStaleNodes()
	if procs := cgroupProcs(rec.CgroupRoot); len(procs) != 0 {
		t.Errorf("processes %v left in the crashed node's cgroup", procs)
	}
	assertNoLeftovers(t, rec.CgroupRoot, n)
	if _, err := os.Stat(filepath.Join(recordDir, rec.Netns+".json")); err == nil {
		t.Errorf("the crashed node's record is left")
	}
	_ = os.RemoveAll(filepath.Dir(rec.Dir))
}

// crashChild runs a node with a pause container until it is killed.
func crashChild() {
	ctx := context.Background()
	c, err := Start(ctx, Options{Zones: []string{"zone-a"}, VolumesPerZone: 1, RealNode: &NodeOptions{Volumes: 1}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "waits", Namespace: "default"},
		Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{RealToleration}, NodeSelector: map[string]string{ZoneLabel: RealZone},
			Containers: []corev1.Container{{Name: "waits", Image: PauseImage, ImagePullPolicy: corev1.PullNever}}},
	}
	if _, err := c.Clientset.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.Clientset.CoreV1().Pods("default").Get(ctx, "waits", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	})
	data, _ := json.Marshal(nodeRecord{Dir: c.Node.Dir, CgroupRoot: c.Node.CgroupRoot, Netns: c.Node.netns})
	fmt.Printf("RUNNING %s\n", data)
	select {}
}

func cgroupProcs(root string) []string {
	var out []string
	_ = filepath.WalkDir(filepath.Join("/sys/fs/cgroup/pids", root), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "cgroup.procs" {
			data, _ := os.ReadFile(p)
			out = append(out, strings.Fields(string(data))...)
		}
		return nil
	})
	return out
}
