// Package retention_test runs two months of a nightly schedule against a real API server
// (envtest) with the operator's controllers, and plays each pod the controllers make with the
// real agent binary against the stand-in neo4j-admin on real files: backups write artifacts into
// a folder that plays the claim, prunes delete from it, restores read it. It has a suite of its
// own because its clock runs nine weeks ahead of the API server's, which the controllers suite's
// start timeout (sized for its own specs) would take for pods that never started.
package retention_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/controllers"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/test/jobsim"
)

const ns = "prod"

// The run: Sunday 3 January 2027 to Saturday 6 March 2027, a backup every night at 02:00 UTC, a
// FULL on Sundays. Some nights go wrong, each on purpose.
var (
	first = time.Date(2027, 1, 3, 2, 0, 0, 0, time.UTC)
	days  = 63
	// Nothing written: two DIFF nights, a Sunday FULL (the next night must then be a FULL) and a
	// DIFF inside the chain that stays.
	failedNights = []string{"2027-01-11", "2027-01-19", "2027-02-07", "2027-02-25"}
	// The last Sunday's FULL fails its consistency check: the newest chain is not clean.
	inconsistentNights = []string{"2027-02-28"}
)

// What the rules keep at the end, worked out by hand (not by the retention package):
//   - keepLast 7, of the restorable backups: 6 Mar back to 28 Feb.
//   - keepWeekly 4, the newest of each ISO week (Monday to Sunday): 6 Mar (week of 1 Mar),
//     28 Feb (week of 22 Feb), 21 Feb (week of 15 Feb) and 14 Feb (week of 8 Feb); 21 and 14 Feb
//     are Sunday FULLs.
//   - The chain of each kept DIFF back to its FULL: 1-6 Mar need 28 Feb.
//   - The newest chain (28 Feb's) is not clean, so the newest clean one stays whole: the chain of
//     21 Feb, up to 27 Feb (its DIFF of 25 Feb failed and wrote nothing).
//
// Of the four failed Backups, failedBackupsHistoryLimit (3) keeps the newest three.
var (
	keptNights   = []string{"2027-02-14", "2027-02-21", "2027-02-22", "2027-02-23", "2027-02-24", "2027-02-26", "2027-02-27", "2027-02-28", "2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04", "2027-03-05", "2027-03-06"}
	keptFailures = []string{"2027-01-19", "2027-02-07", "2027-02-25"}
)

func backupName(night time.Time) string { return "nightly-" + night.Format("200601021504") }

func TestTwoMonthsOfANightlySchedule(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS must name the folder with kube-apiserver and etcd: run the tests with make test")
	}
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(30 * time.Second)
	g.SetDefaultEventuallyPollingInterval(20 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { cancel(); _ = env.Stop() })
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	g.Expect(v1.AddToScheme(scheme)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{ByObject: controllers.CachedByLabel()}})
	g.Expect(err).NotTo(HaveOccurred())
	// At the first slot from the start: the schedule's first look is at it. An earlier time would
	// have it catch up the slot before (it is after the schedule's creation), which Forbid would
	// then hold the first slot behind.
	clock := clocktesting.NewFakePassiveClock(first.Add(time.Second))
	// The clock runs weeks ahead of the API server's timestamps: a start timeout of years keeps
	// the controllers from taking a pod the test has not played yet for one that never started.
	g.Expect(controllers.Setup(mgr, controllers.Config{Clock: clock, Options: resources.Options{OperatorImage: "neo4j-backup-operator:test"},
		StartTimeout: 10 * 365 * 24 * time.Hour})).To(Succeed())
	go func() {
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("the manager stopped: %v", err)
		}
	}()
	g.Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())

	bin := buildAgent(t)
	volume := t.TempDir() // the claim neo4j-backups-graph
	p := &pods{t: t, c: c, bin: bin, volume: volume, played: map[types.UID]bool{}}
	world(g, c)

	s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns}, Spec: v1.BackupScheduleSpec{
		Schedule: "0 2 * * *", FullBackupSchedule: "0 2 * * 0",
		Retention: &v1.RetentionSpec{KeepLast: ptr.To[int32](7), KeepWeekly: ptr.To[int32](4)},
		Template: v1.BackupSpec{
			Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26",
				ServerSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}},
				ReadReplicaSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"neo4j.com/role": "secondary"}}},
			Databases: []string{"neo4j"},
			Storage: v1.StorageSpec{PersistentVolumeClaim: &v1.ClaimSource{
				Template: &v1.ClaimTemplate{StorageClassName: ptr.To("zonal"), Size: resource.MustParse("50Gi")}}},
			JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise",
				Memory: v1.MemorySpec{HeapSize: ptr.To(resource.MustParse("1Gi")), PageCache: ptr.To(resource.MustParse("512Mi"))}},
		},
	}}
	g.Expect(c.Create(ctx, s)).To(Succeed())

	artifactOf := map[string]string{} // Backup -> the artifact it recorded
	typeOf := map[string]v1.BackupType{}
	for d := range days {
		night := first.AddDate(0, 0, d)
		name := backupName(night)
		clock.SetTime(night.Add(time.Second))
		poke(g, c, s)
		b := &v1.Backup{}
		g.Eventually(func() error { return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, b) }).Should(Succeed(), "the slot of %s", night)
		typeOf[name] = b.Spec.Type
		job := &batchv1.Job{}
		g.Eventually(func() error {
			// A Backup the schedule expired since the last look is pruned first (the backup
			// waits LocationBusy meanwhile).
			p.playPrunes()
			return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: resources.ChildName(name, resources.RoleBackup)}, job)
		}).Should(Succeed(), func() string {
			_ = c.Get(ctx, client.ObjectKeyFromObject(b), b)
			return fmt.Sprintf("the backup Job of %s: %+v", name, b.Status.Conditions)
		})
		extra := []string{"STANDIN_NOW=" + night.Add(5*time.Minute).Format(time.RFC3339)}
		switch date := night.Format(time.DateOnly); {
		case slices.Contains(failedNights, date):
			extra = append(extra, "STANDIN_FAIL_DATABASES=neo4j")
		case slices.Contains(inconsistentNights, date):
			extra = append(extra, "STANDIN_INCONSISTENT=neo4j")
		}
		p.run(g, job, night.Add(10*time.Minute), extra...)
		g.Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
			g.Expect(b.Status.Phase.Finished()).To(BeTrue(), "%s is %s", name, b.Status.Phase)
		}).Should(Succeed())
		for _, db := range b.Status.Databases {
			if db.Artifact != "" {
				artifactOf[name] = db.Artifact
			}
		}
		// The morning after: retention runs, and the prune Jobs it leads to are played until
		// every expired Backup is gone.
		clock.SetTime(night.Add(11 * time.Minute))
		poke(g, c, s)
		p.settle(g)
	}

	// The schedule took a FULL on Sundays, and on the night after the failed Sunday FULL.
	for d := range days {
		night := first.AddDate(0, 0, d)
		want := v1.BackupAuto
		if night.Weekday() == time.Sunday || night.Format(time.DateOnly) == "2027-02-08" {
			want = v1.BackupFull
		}
		g.Expect(typeOf[backupName(night)]).To(Equal(want), "the type of %s", night.Format(time.DateOnly))
	}

	// Exactly the Backups the rules keep.
	var want []string
	for _, n := range append(slices.Clone(keptNights), keptFailures...) {
		night, _ := time.Parse(time.DateOnly, n)
		want = append(want, backupName(night.Add(2*time.Hour)))
	}
	sort.Strings(want)
	poke(g, c, s)
	g.Eventually(func(g Gomega) {
		p.playPrunes()
		list := &v1.BackupList{}
		g.Expect(c.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		var live []string
		for _, b := range list.Items {
			live = append(live, b.Name)
		}
		g.Expect(live).To(Equal(want))
	}).Should(Succeed())

	// Exactly the other restorable Backups' artifacts were pruned, each once, and exactly the
	// kept ones' are on the volume.
	var kept, gone []string
	for name, a := range artifactOf {
		if slices.Contains(want, name) {
			kept = append(kept, a)
		} else {
			gone = append(gone, a)
		}
	}
	sort.Strings(kept)
	sort.Strings(gone)
	pruned := slices.Clone(p.pruned)
	sort.Strings(pruned)
	g.Expect(pruned).To(Equal(gone))
	g.Expect(len(kept)).To(Equal(len(keptNights)))
	onDisk, _ := filepath.Glob(filepath.Join(volume, ns, "graph", "*.backup"))
	for i := range onDisk {
		onDisk[i] = filepath.Base(onDisk[i])
	}
	sort.Strings(onDisk)
	g.Expect(onDisk).To(Equal(kept))

	// Every kept Backup restores, through the Restore controller's own Jobs.
	for i, n := range keptNights {
		night, _ := time.Parse(time.DateOnly, n)
		source := backupName(night.Add(2 * time.Hour))
		rs := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("drill-%02d", i), Namespace: ns}, Spec: v1.RestoreSpec{
			Source: v1.RestoreSource{BackupName: source}, Database: "neo4j",
			Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26"}, Mode: v1.RestoreVolume,
			Target:     &v1.RestoreTarget{ClaimName: "drill-data"},
			JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise"},
		}}
		g.Expect(c.Create(ctx, rs)).To(Succeed())
		data := p.restore(g, rs)
		from, err := os.ReadFile(filepath.Join(data, "databases", "neo4j", "restored-from"))
		g.Expect(err).NotTo(HaveOccurred(), "%s restored nothing", source)
		g.Expect(string(from)).To(ContainSubstring(artifactOf[source]), "%s restored from %s", source, from)
	}
}

// world is three Ready nodes in zones a, b and c, and a cluster of three servers (a primary and
// a secondary in zone-a, a secondary in zone-b): the backups go to zone-c.
func world(g *WithT, c client.Client) {
	ctx := context.Background()
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	for _, z := range []string{"a", "b", "c"} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + z, Labels: map[string]string{corev1.LabelTopologyZone: "zone-" + z}}}
		g.Expect(c.Create(ctx, n)).To(Succeed())
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
		g.Expect(c.Status().Update(ctx, n)).To(Succeed())
	}
	for _, s := range []struct {
		name, node string
		replica    bool
	}{{"graph-0", "node-a", false}, {"graph-1", "node-b", true}, {"graph-2", "node-a", true}} {
		lbls := map[string]string{"app.kubernetes.io/instance": "graph"}
		if s.replica {
			lbls["neo4j.com/role"] = "secondary"
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns, Labels: lbls},
			Spec: corev1.PodSpec{NodeName: s.node, Hostname: s.name, Subdomain: "graph",
				Containers: []corev1.Container{{Name: "neo4j", Image: "neo4j:5.26.2-enterprise"}}}}
		g.Expect(c.Create(ctx, p)).To(Succeed())
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		g.Expect(c.Status().Update(ctx, p)).To(Succeed())
	}
}

var pokes int

// poke has the schedule's controller look now, at the clock's time, instead of at the requeue it
// computed.
func poke(g *WithT, c client.Client, obj client.Object) {
	pokes++
	g.Eventually(func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		a := obj.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a["test/poke"] = fmt.Sprint(pokes)
		obj.SetAnnotations(a)
		return c.Update(context.Background(), obj)
	}).Should(Succeed())
}

// buildAgent builds the operator binary (the agent the pods run) and the neo4j-admin stand-in.
func buildAgent(t *testing.T) string {
	dir := t.TempDir()
	for pkg, out := range map[string]string{
		"github.com/graphkeeper/neo4j-backup-operator":                          "neo4j-backup-operator",
		"github.com/graphkeeper/neo4j-backup-operator/test/standin/neo4j-admin": "neo4j-admin",
	} {
		if b, err := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, b)
		}
	}
	return dir
}

// pods plays the kubelet and the Job controller for the Jobs the controllers make: it runs a
// Job's container as the real agent binary, the claim's volume a folder, and records the end as
// a pod's termination message and the Job's conditions.
type pods struct {
	t      *testing.T
	c      client.Client
	bin    string
	volume string
	// pruned lists every artifact a prune Job was given, one entry a time.
	pruned []string
	played map[types.UID]bool
	n      int
}

// run plays job's pod, ending at end, with extra environment for the stand-in.
func (p *pods) run(g *WithT, job *batchv1.Job, end time.Time, extra ...string) (data string) {
	c := job.Spec.Template.Spec.Containers[0]
	g.Expect(filepath.Base(c.Command[0])).To(Equal("neo4j-backup-operator"), "Job %s runs the agent", job.Name)
	// Each mount a folder: the backup claim the shared volume, the others fresh.
	dirs := map[string]string{}
	env := []string{"PATH=" + p.bin, "STANDIN_NEO4J_VERSION=5.26", "TZ=UTC"}
	for _, m := range c.VolumeMounts {
		switch m.Name {
		case "agent":
			continue
		case "backups":
			dirs[m.MountPath] = p.volume
			if m.ReadOnly {
				env = append(env, "STANDIN_READONLY="+p.volume)
			}
		default:
			dirs[m.MountPath] = p.t.TempDir()
			if m.Name == "data" {
				data = dirs[m.MountPath]
				env = append(env, "STANDIN_DATA_DIR="+data)
			}
		}
	}
	args := make([]string, 0, len(c.Args)+1)
	for _, a := range c.Args {
		if k, v, ok := strings.Cut(a, "="); ok {
			for mount, dir := range dirs {
				if v == mount || strings.HasPrefix(v, mount+"/") {
					a = k + "=" + dir + strings.TrimPrefix(v, mount)
				}
			}
		}
		args = append(args, a)
	}
	termLog := filepath.Join(p.t.TempDir(), "termination-log")
	if c.Args[1] != "prune" { // a prune reports by its exit code alone
		args = append(args, "--termination-log="+termLog)
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	if c.Args[1] == "prune" {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--artifact="); ok {
				p.pruned = append(p.pruned, v)
			}
		}
	}
	cmd := exec.Command(filepath.Join(p.bin, "neo4j-backup-operator"), args...)
	cmd.Env = append(env, extra...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("running %s: %v", job.Name, err)
	}
	if strings.Contains(string(out), "VIOLATION") {
		p.t.Fatalf("Job %s broke neo4j-admin's contract:\n%s", job.Name, out)
	}
	msg, _ := os.ReadFile(termLog)
	p.end(g, job, c.Name, int32(code), string(msg), end)
	return data
}

// end records a pod of job whose container ended with code and message at t, then the Job's
// terminal condition, as the kubelet and the Job controller would.
func (p *pods) end(g *WithT, job *batchv1.Job, container string, code int32, message string, t time.Time) {
	ctx := context.Background()
	p.n++
	now := metav1.NewTime(t.Truncate(time.Second))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", job.Name, p.n), Namespace: job.Namespace,
			Labels:          map[string]string{batchv1.JobNameLabel: job.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}},
		Spec: job.Spec.Template.Spec,
	}
	for k, v := range job.Spec.Template.Labels {
		pod.Labels[k] = v
	}
	pod.Spec.NodeName = "node-c"
	g.Expect(p.c.Create(ctx, pod)).To(Succeed())
	pod.Status.Phase = corev1.PodSucceeded
	if code != 0 {
		pod.Status.Phase = corev1.PodFailed
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: container, Image: "x",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: message, StartedAt: now, FinishedAt: now}}}}
	g.Expect(p.c.Status().Update(ctx, pod)).To(Succeed())
	g.Eventually(func() error {
		if err := p.c.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			return err
		}
		job.Status.StartTime = &now
		jobsim.End(job, code == 0, "BackoffLimitExceeded", "", now)
		return p.c.Status().Update(ctx, job)
	}).Should(Succeed())
}

// playPrunes plays the prune Jobs not played yet.
func (p *pods) playPrunes() {
	jobs := &batchv1.JobList{}
	if err := p.c.List(context.Background(), jobs, client.InNamespace(ns), client.MatchingLabels{resources.LabelComponent: resources.RolePrune}); err != nil {
		p.t.Fatal(err)
	}
	for i := range jobs.Items {
		job := &jobs.Items[i]
		if p.played[job.UID] || job.DeletionTimestamp != nil {
			continue
		}
		p.played[job.UID] = true
		p.run(NewWithT(p.t), job, time.Now())
	}
}

// settle plays prune Jobs until no Backup is being deleted.
func (p *pods) settle(g *WithT) {
	g.Eventually(func(g Gomega) {
		p.playPrunes()
		list := &v1.BackupList{}
		g.Expect(p.c.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
		for _, b := range list.Items {
			g.Expect(b.DeletionTimestamp).To(BeNil(), "Backup %s is being deleted", b.Name)
		}
	}).Should(Succeed())
}

// restore plays the Jobs of a Restore (an inspection, then the restore) until it has ended, and
// returns the restored data folder.
func (p *pods) restore(g *WithT, rs *v1.Restore) (data string) {
	ctx := context.Background()
	g.Eventually(func(g Gomega) {
		for _, role := range []string{resources.RoleInspect, resources.RoleRestore} {
			job := &batchv1.Job{}
			err := p.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: resources.ChildName(rs.Name, role)}, job)
			if apierrors.IsNotFound(err) || p.played[job.UID] {
				continue
			}
			g.Expect(err).NotTo(HaveOccurred())
			p.played[job.UID] = true
			if d := p.run(NewWithT(p.t), job, time.Now()); d != "" {
				data = d
			}
		}
		got := &v1.Restore{}
		g.Expect(p.c.Get(ctx, client.ObjectKeyFromObject(rs), got)).To(Succeed())
		g.Expect(got.Status.Phase).To(Equal(v1.RestoreSucceeded), "%s: %v", rs.Name, got.Status.Conditions)
	}).Should(Succeed())
	return data
}
