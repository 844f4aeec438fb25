// Command bench measures the operator against the Kubernetes CronJob controller on the cluster
// in a box (`make bench`): schedule lateness at scale, memory with and without unrelated
// objects, API requests per scheduled backup, and cold start. It prints one table and writes it,
// with the machine's facts, to docs/benchmarks.md.
//
// The operator runs as a process with the chart's Deployment's arguments and as the chart's
// ServiceAccount, through a counting proxy on 127.0.0.1 (so its API cost is measured outside it).
// The peer is kube-controller-manager's CronJob controller in the same cluster, with its defaults.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
)

const ns = "bench"

var (
	schedules = flag.Int("schedules", 1000, "BackupSchedules, and as many CronJobs")
	slots     = flag.Int("slots", 3, "every-minute slots to measure lateness over")
	costN     = flag.Int("cost-schedules", 50, "schedules whose backups run to completion for the API cost")
	pods      = flag.Int("pods", 10000, "unrelated Pods for the memory measurement")
	jobs      = flag.Int("jobs", 5000, "unrelated Jobs for the memory measurement")
	out       = flag.String("out", "docs/benchmarks.md", "where the report goes (\"\" = only stdout)")
	keep      = flag.Bool("keep", false, "keep the cluster's folder (logs) afterwards")
)

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	r, err := run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	r.total = time.Since(start)
	report := r.markdown()
	fmt.Println(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "bench: written to %s\n", *out)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05.000")}, a...)...)
}

func run(ctx context.Context) (*results, error) {
	big := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("100k"), corev1.ResourceMemory: resource.MustParse("1000Ti"),
		corev1.ResourcePods: resource.MustParse("30000"),
	}
	box, err := cluster.Start(ctx, cluster.Options{Log: os.Stderr, NodeCapacity: big, KeepDir: *keep, Profiling: true})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := box.Stop(); err != nil {
			logf("stopping the cluster: %v", err)
		}
	}()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1.AddToScheme(scheme)
	fast := rest.CopyConfig(box.Config)
	fast.QPS, fast.Burst = -1, 0 // the bench's own requests are not what is measured
	c, err := client.NewWithWatch(fast, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(fast)
	if err != nil {
		return nil, err
	}

	logf("installing the chart")
	op, err := box.InstallChart(ctx, filepath.Join("charts", "neo4j-backup-operator"), "neo4j-backup-system", "nbo", "image.tag=bench")
	if err != nil {
		return nil, err
	}
	kubeconfig, token, err := viaProxy(op.Kubeconfig)
	if err != nil {
		return nil, err
	}
	proxy, err := startProxy(box.Config.Host, box.Config.CAData, token)
	if err != nil {
		return nil, err
	}
	if err := pointAt(kubeconfig, proxy.URL); err != nil {
		return nil, err
	}
	bin := filepath.Join(box.Dir, "neo4j-backup-operator")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building the operator: %w", err)
	}

	r := &results{schedules: *schedules, pods: *pods, jobs: *jobs, costN: *costN}
	if err := setup(ctx, c); err != nil {
		return nil, err
	}

	// 1. Cold start: every schedule exists (on a yearly slot) before the operator starts.
	logf("creating %d BackupSchedules", *schedules)
	if err := parallel(*schedules, func(i int) error { return c.Create(ctx, schedule(i)) }); err != nil {
		return nil, err
	}
	want := time.Date(time.Now().UTC().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	logf("starting the operator (args from the chart's Deployment)")
	t0 := time.Now()
	// Profiles and metrics on loopback, for the lateness run's measurements (after the chart's
	// arguments: the last of a flag wins).
	pprofAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append(append([]string(nil), op.Args...), "--pprof-bind-address="+pprofAddr, "--metrics-bind-address="+metricsAddr, "--metrics-secure=false")
	if _, err := box.Start("operator", bin, []string{"KUBECONFIG=" + kubeconfig}, args...); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 5*time.Minute, 100*time.Millisecond, func() (bool, error) {
		list := &v1.BackupScheduleList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		done := 0
		for _, s := range list.Items {
			if s.Status.ObservedGeneration == s.Generation && s.Status.NextScheduleTime != nil && s.Status.NextScheduleTime.Time.Equal(want) {
				done++
			}
		}
		return done == *schedules, nil
	}); err != nil {
		return nil, fmt.Errorf("cold start: %w", err)
	}
	r.coldStart = time.Since(t0)
	logf("cold start: %s", r.coldStart)
	pid := box.PIDs()["operator"]

	// 2. API cost: a few schedules on * * * * * whose backups run to completion, on a calm cluster.
	if err := apiCost(ctx, c, proxy, r); err != nil {
		return nil, err
	}

	// 3. Memory: settle, then the same after adding unrelated Pods and Jobs.
	time.Sleep(10 * time.Second)
	r.rssBefore = rssSettled(pid)
	logf("operator RSS with its own objects: %.1f MiB", mib(r.rssBefore))
	if err := noise(ctx, c, cs); err != nil {
		return nil, err
	}
	time.Sleep(15 * time.Second)
	r.rssAfter = rssSettled(pid)
	logf("operator RSS after %d unrelated Pods and %d Jobs: %.1f MiB", *pods, *jobs, mib(r.rssAfter))

	// 4. Lateness: a tenth of the schedules and as many CronJobs on * * * * *, then all of them,
	// with where the time goes measured during the second.
	m := &measures{box: box, cs: cs, proxy: proxy, bin: bin, pprof: pprofAddr, metrics: metricsAddr}
	for _, n := range []int{max(*schedules/10, 1), *schedules} {
		run, err := lateness(ctx, c, cs, n, m, n == *schedules)
		if err != nil {
			return nil, err
		}
		r.runs = append(r.runs, run)
	}
	r.rssEnd = rss(pid)
	return r, nil
}

// measures is what a lateness run reads where the time goes from.
type measures struct {
	box            *cluster.Cluster
	cs             kubernetes.Interface
	proxy          *countingProxy
	bin            string
	pprof, metrics string
}

// setup creates the namespace and a simulated three-server Neo4j cluster in zone-a and zone-b.
func setup(ctx context.Context, c client.Client) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}); err != nil {
		return err
	}
	for i, zone := range []string{"zone-a", "zone-b", "zone-a"} {
		lbls := map[string]string{"app.kubernetes.io/instance": "graph"}
		if i > 0 {
			lbls["neo4j.com/role"] = "secondary"
		}
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("graph-%d", i), Namespace: ns, Labels: lbls},
			Spec: corev1.PodSpec{
				Hostname: fmt.Sprintf("graph-%d", i), Subdomain: "graph", NodeName: "kwok-" + zone + "-0",
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](7474),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "neo4j", Image: "neo4j:5.26.2-enterprise",
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
						Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
			},
		}
		if err := c.Create(ctx, p); err != nil {
			return err
		}
	}
	return waitFor(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		list := &corev1.PodList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		ready := 0
		for _, p := range list.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == 3, nil
	})
}

var report = string(result.Encode(result.Backup{Databases: []result.Database{{Name: "neo4j", Type: "FULL",
	Artifact: "neo4j-2026-11-28T02-00-00.backup", Size: 1 << 20, LowTx: 1, HighTx: 100, Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"}}}, result.MaxMessage))

func schedule(i int) *v1.BackupSchedule {
	return &v1.BackupSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%04d", i), Namespace: ns},
		Spec: v1.BackupScheduleSpec{
			Schedule: "0 0 1 1 *",
			// Every slot fires whatever the previous one is doing, as the CronJobs below do:
			// lateness is about firing on time, not about how fast kwok ends pods.
			ConcurrencyPolicy: v1.ConcurrencyAllow,
			// A slot the operator sees late (it was down) is skipped after 20 s, as the
			// CronJobs below are.
			StartingDeadlineSeconds:       ptr.To[int64](20),
			SuccessfulBackupsHistoryLimit: ptr.To[int32](2),
			FailedBackupsHistoryLimit:     ptr.To[int32](2),
			Template: v1.BackupSpec{
				Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26",
					ServerSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}},
					ReadReplicaSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"neo4j.com/role": "secondary"}}},
				Databases: []string{"neo4j"},
				// A path of its own: one backup writes to a location at a time, and the CronJobs
				// compared with are not held to that.
				Storage: v1.StorageSpec{Path: fmt.Sprintf("bench/s-%04d", i), PersistentVolumeClaim: &v1.ClaimSource{Template: &v1.ClaimTemplate{
					StorageClassName: ptr.To(cluster.StorageClassName), Size: resource.MustParse("10Gi")}}},
				JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise", BackoffLimit: ptr.To[int32](0),
					PodMetadata: v1.PodMetadata{Annotations: map[string]string{
						"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "2s", "sim.graphkeeper.dev/message": report}}},
			},
		},
	}
}

func cronJob(i int) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c-%04d", i), Namespace: ns},
		Spec: batchv1.CronJobSpec{
			Schedule:                   "* * * * *",
			StartingDeadlineSeconds:    ptr.To[int64](20),
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			SuccessfulJobsHistoryLimit: ptr.To[int32](2),
			FailedJobsHistoryLimit:     ptr.To[int32](2),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit: ptr.To[int32](0),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "2s"}},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
							NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
								Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-c"}}}}}}}},
						SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](7474),
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
						Containers: []corev1.Container{{Name: "work", Image: "neo4j:5.26.2-enterprise",
							SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
								Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
					},
				},
			}},
		},
	}
}

// noise adds unrelated Pods (bound to the kwok nodes directly) and suspended Jobs in their own
// namespace: objects a filtered cache never holds.
func noise(ctx context.Context, c client.Client, cs kubernetes.Interface) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "noise"}}); err != nil {
		return err
	}
	logf("creating %d unrelated Pods and %d unrelated Jobs", *pods, *jobs)
	nodes := []string{"kwok-zone-a-0", "kwok-zone-b-0", "kwok-zone-c-0"}
	if err := parallel(*pods, func(i int) error {
		return c.Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("noise-%05d", i), Namespace: "noise", Labels: map[string]string{"app": "noise"}},
			Spec: corev1.PodSpec{NodeName: nodes[i%len(nodes)], Containers: []corev1.Container{{Name: "app", Image: "app:1",
				Env: []corev1.EnvVar{{Name: "PAYLOAD", Value: strings.Repeat("x", 512)}}}}},
		})
	}); err != nil {
		return err
	}
	if err := parallel(*jobs, func(i int) error {
		return c.Create(ctx, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("noise-%05d", i), Namespace: "noise", Labels: map[string]string{"app": "noise"}},
			Spec: batchv1.JobSpec{Suspend: ptr.To(true), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}},
		})
	}); err != nil {
		return err
	}
	// Settled when kwok has every Pod running and the Job controller has marked every Job
	// suspended (5,000 status writes at its 50 QPS): the lateness run must not pay for them.
	return waitFor(ctx, 8*time.Minute, 2*time.Second, func() (bool, error) {
		list, err := cs.CoreV1().Pods("noise").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
		if err != nil || len(list.Items) != *pods {
			return false, err
		}
		js, err := cs.BatchV1().Jobs("noise").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		suspended := 0
		for _, j := range js.Items {
			for _, c := range j.Status.Conditions {
				if c.Type == batchv1.JobSuspended && c.Status == corev1.ConditionTrue {
					suspended++
				}
			}
		}
		return suspended == *jobs, nil
	})
}

// apiCost switches costN schedules to * * * * * (Forbid: one backup of a schedule at a time,
// each running to completion) for two slots, and counts the operator's requests over exactly
// those slots per Backup that completed in them.
func apiCost(ctx context.Context, c client.WithWatch, proxy *countingProxy, r *results) error {
	done := &jobLog{at: map[string]time.Time{}}
	bw, err := c.Watch(ctx, &v1.BackupList{}, client.InNamespace(ns))
	if err != nil {
		return err
	}
	defer bw.Stop()
	go func() {
		for ev := range bw.ResultChan() {
			if b, ok := ev.Object.(*v1.Backup); ok && b.Status.Phase == v1.BackupSucceeded {
				done.add(b.Name, time.Now(), time.Time{})
			}
		}
	}()
	set := func(patch string) error {
		return parallel(*costN, func(i int) error {
			s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%04d", i), Namespace: ns}}
			return c.Patch(ctx, s, client.RawPatch("application/merge-patch+json", []byte(patch)))
		})
	}
	for s := time.Now().Second(); s < 25 || s > 40; s = time.Now().Second() {
		time.Sleep(500 * time.Millisecond)
	}
	logf("API cost: %d schedules on * * * * * (Forbid) for 2 slots", *costN)
	if err := set(`{"spec":{"schedule":"* * * * *","concurrencyPolicy":"Forbid"}}`); err != nil {
		return err
	}
	first := time.Now().Truncate(time.Minute).Add(time.Minute)
	time.Sleep(time.Until(first.Add(-2 * time.Second)))
	before := proxy.snapshot()
	begin := time.Now()
	end := first.Add(2*time.Minute - 2*time.Second)
	time.Sleep(time.Until(end))
	after := proxy.snapshot()
	r.api = diff(before, after)
	for _, t := range done.snapshot() {
		if t.After(begin) && !t.After(end) {
			r.completed++
		}
	}
	logf("API cost: %d backups completed in the window", r.completed)
	return set(`{"spec":{"schedule":"0 0 1 1 *","concurrencyPolicy":"Allow"}}`)
}

// lateness switches n schedules to * * * * *, creates as many CronJobs, and watches Jobs appear
// for the given number of full slots; a minute after the count it counts again (the Jobs made
// after the count) and reads what each side says of the slots it did not take. With profile, it
// measures where the time goes over the slots: CPU per process, the operator's and the API
// server's CPU profiles, the operator's goroutines 10 s into the first slot, and the operator's
// requests with their latencies.
func lateness(ctx context.Context, c client.WithWatch, cs kubernetes.Interface, n int, m *measures, profile bool) (latenessRun, error) {
	run := latenessRun{n: n}
	// Switch between :25 and :40 of a minute: past the 20 s starting deadline of the slot just
	// gone (no catch-up run for either side) and done before the next slot.
	for s := time.Now().Second(); s < 25 || s > 40; s = time.Now().Second() {
		time.Sleep(500 * time.Millisecond)
	}
	seen := &jobLog{at: map[string]time.Time{}}
	w, err := cs.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return run, err
	}
	defer w.Stop()
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			if j, ok := ev.Object.(*batchv1.Job); ok {
				seen.add(j.Name, time.Now(), j.CreationTimestamp.Time)
			}
		}
	}()
	missedBefore, err := scrape(ctx, m.metrics, "neo4j_backup_schedule_missed_slots_total", "reason")
	if err != nil {
		return run, fmt.Errorf("reading the operator's metrics: %w", err)
	}
	statusBefore, err := missedInStatus(ctx, c, n)
	if err != nil {
		return run, err
	}
	logf("switching %d BackupSchedules to * * * * * and creating %d CronJobs", n, n)
	if err := parallel(n, func(i int) error {
		s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%04d", i), Namespace: ns}}
		return c.Patch(ctx, s, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"schedule":"* * * * *","suspend":false}}`)))
	}); err != nil {
		return run, err
	}
	if err := parallel(n, func(i int) error { return c.Create(ctx, cronJob(i)) }); err != nil {
		return run, err
	}
	first := time.Now().Truncate(time.Minute).Add(time.Minute)
	if time.Until(first) < 5*time.Second {
		first = first.Add(time.Minute)
	}
	last := first.Add(time.Duration(*slots-1) * time.Minute)
	// Jobs of the last slot come in up to a minute later on a saturated cluster.
	counted := last.Add(time.Minute - 2*time.Second)
	begin := first.Add(-2 * time.Second)
	logf("measuring the slots %s to %s (%d schedules)", first.Format("15:04"), last.Format("15:04"), n)
	time.Sleep(time.Until(begin))
	cpuBefore := cpuTimes(m.box.PIDs())
	var profiles sync.WaitGroup
	if profile {
		run.profileDir, err = profileDir()
		if err != nil {
			return run, err
		}
		seconds := int(counted.Sub(begin).Seconds())
		run.opProfile = filepath.Join(run.profileDir, "operator-cpu.pprof")
		run.apiProfile = filepath.Join(run.profileDir, "kube-apiserver-cpu.pprof")
		goroutines := filepath.Join(run.profileDir, "operator-goroutines.txt")
		profiles.Add(3)
		go func() {
			defer profiles.Done()
			url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", m.pprof, seconds)
			if err := fetch(ctx, url, run.opProfile); err != nil {
				logf("the operator's CPU profile: %v", err)
			}
		}()
		go func() {
			defer profiles.Done()
			if err := apiServerProfile(ctx, m.cs, seconds, run.apiProfile); err != nil {
				logf("the API server's CPU profile: %v", err)
			}
		}()
		go func() {
			defer profiles.Done()
			time.Sleep(time.Until(first.Add(10 * time.Second)))
			if err := fetch(ctx, "http://"+m.pprof+"/debug/pprof/goroutine?debug=1", goroutines); err != nil {
				logf("the operator's goroutines: %v", err)
				return
			}
			run.goroutines = goroutineSummary(goroutines, 12)
		}()
	}
	time.Sleep(time.Until(counted))
	run.cpu = cpuDiff(cpuBefore, cpuTimes(m.box.PIDs()))
	run.window = counted.Sub(begin)
	run.requests = m.proxy.requests(begin, counted)
	count := func() []slot {
		var out []slot
		snap := seen.snapshot()
		for s := first; !s.After(last); s = s.Add(time.Minute) {
			sl := slot{at: s}
			stamp := s.UTC().Format("200601021504")
			minutes := strconv.FormatInt(s.Unix()/60, 10)
			for name, t := range snap {
				switch {
				case strings.HasPrefix(name, "s-") && strings.HasSuffix(name, "-"+stamp):
					sl.ours = append(sl.ours, t.Sub(s))
				case strings.HasPrefix(name, "c-") && strings.HasSuffix(name, "-"+minutes):
					sl.peer = append(sl.peer, t.Sub(s))
				}
			}
			out = append(out, sl)
		}
		return out
	}
	run.slots = count()
	for _, sl := range run.slots {
		logf("slot %s: %d Backup Jobs, %d CronJob Jobs", sl.at.Format("15:04"), len(sl.ours), len(sl.peer))
	}
	// Stop the load, then look again a minute later: what came in after the count.
	logf("suspending the schedules and deleting the CronJobs")
	_ = parallel(n, func(i int) error {
		s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%04d", i), Namespace: ns}}
		return c.Patch(ctx, s, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"suspend":true}}`)))
	})
	_ = parallel(n, func(i int) error {
		return client.IgnoreNotFound(c.Delete(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c-%04d", i), Namespace: ns}}))
	})
	time.Sleep(time.Minute)
	for i, sl := range count() {
		run.lateOurs += len(sl.ours) - len(run.slots[i].ours)
		run.latePeer += len(sl.peer) - len(run.slots[i].peer)
	}
	missedAfter, err := scrape(ctx, m.metrics, "neo4j_backup_schedule_missed_slots_total", "reason")
	if err != nil {
		return run, fmt.Errorf("reading the operator's metrics: %w", err)
	}
	run.missedOurs = map[string]int{}
	for reason, v := range missedAfter {
		if d := int(v - missedBefore[reason]); d > 0 {
			run.missedOurs[reason] = d
		}
	}
	statusAfter, err := missedInStatus(ctx, c, n)
	if err != nil {
		return run, err
	}
	run.missedStatus = int(statusAfter - statusBefore)
	if run.missedPeer, err = peerMissed(ctx, cs, ns, begin); err != nil {
		return run, err
	}
	logf("after another minute: %d more Backup Jobs, %d more CronJob Jobs; missed: ours %v (status %d), peer %d",
		run.lateOurs, run.latePeer, run.missedOurs, run.missedStatus, run.missedPeer)
	profiles.Wait()
	if profile {
		run.opTop = pprofTop(m.bin, run.opProfile, 25, false)
		run.opCum = pprofTop(m.bin, run.opProfile, 25, true)
		run.apiTop = pprofTop("", run.apiProfile, 25, true)
	}
	// The next run creates CronJobs of the same names.
	return run, waitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		list := &batchv1.CronJobList{}
		err := c.List(ctx, list, client.InNamespace(ns))
		return err == nil && len(list.Items) == 0, err
	})
}

// missedInStatus sums status.missedSlots over the first n schedules.
func missedInStatus(ctx context.Context, c client.Client, n int) (int64, error) {
	list := &v1.BackupScheduleList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return 0, err
	}
	var sum int64
	for _, s := range list.Items {
		var i int
		if _, err := fmt.Sscanf(s.Name, "s-%d", &i); err == nil && i < n {
			sum += s.Status.MissedSlots
		}
	}
	return sum, nil
}

type jobLog struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (l *jobLog) add(name string, seen, _ time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.at[name]; !ok {
		l.at[name] = seen
	}
}

func (l *jobLog) snapshot() map[string]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]time.Time, len(l.at))
	for k, v := range l.at {
		out[k] = v
	}
	return out
}

// viaProxy writes a copy of kubeconfig without credentials (the counting proxy adds the token,
// speaking TLS to the API server) and returns its path and the token.
func viaProxy(kubeconfig string) (string, string, error) {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return "", "", err
	}
	token := ""
	for _, u := range cfg.AuthInfos {
		token, u.Token = u.Token, ""
	}
	path := strings.TrimSuffix(kubeconfig, ".kubeconfig") + "-via-proxy.kubeconfig"
	return path, token, clientcmd.WriteToFile(*cfg, path)
}

// pointAt sets the kubeconfig's server to the proxy's plain-HTTP loopback URL.
func pointAt(path, proxyURL string) error {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return err
	}
	for _, cl := range cfg.Clusters {
		cl.Server = proxyURL
		cl.CertificateAuthorityData = nil
	}
	return clientcmd.WriteToFile(*cfg, path)
}

func parallel(n int, f func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	return <-errs
}

func waitFor(ctx context.Context, timeout, every time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		// An error (a busy API server timing a list out) is retried until the deadline.
		ok, err := f()
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within %s (last error: %v)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// rss is the process's resident set size in bytes (VmRSS).
func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// rssSettled is the median of five samples a second apart.
func rssSettled(pid int) int64 {
	var s []int64
	for i := 0; i < 5; i++ {
		s = append(s, rss(pid))
		time.Sleep(time.Second)
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[2]
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
