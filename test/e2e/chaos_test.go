package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// Faults on the cluster in a box. The figures each spec prints go to docs/reliability.md.

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// waitAPIServer waits until the API server answers again.
func waitAPIServer() {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.List(ctx, &corev1.NamespaceList{})).To(Succeed())
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// figure reports a fault spec's figures: in Ginkgo's report, and appended to the file
// NBO_FAULT_FIGURES names (make chaos; docs/reliability.md is written from them).
func figure(name, text string) {
	AddReportEntry(name, text)
	if path := os.Getenv("NBO_FAULT_FIGURES"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		fmt.Fprintf(f, "%s  %s: %s\n", time.Now().UTC().Format(time.RFC3339), name, text)
	}
}

// restarts numbers the operator processes started by fault specs, so each keeps its own log.
var restarts int

func restartOperator() {
	GinkgoHelper()
	restarts++
	operator = startOperator(fmt.Sprintf("operator-%d", restarts))
}

// invariants checks a namespace after faults: one Job per Backup, every Job owned by an
// existing Backup, every Backup finished.
func invariants(g Gomega, ns string) (backups int) {
	bs := &v1.BackupList{}
	g.Expect(k8sClient.List(ctx, bs, client.InNamespace(ns))).To(Succeed())
	jobs := &batchv1.JobList{}
	g.Expect(k8sClient.List(ctx, jobs, client.InNamespace(ns))).To(Succeed())
	byOwner := map[string]int{}
	uids := map[string]bool{}
	for _, b := range bs.Items {
		uids[string(b.UID)] = true
		g.Expect(b.Status.Phase).To(Equal(v1.BackupSucceeded), "Backup %s is stuck or failed: %+v", b.Name, b.Status.Conditions)
	}
	for _, j := range jobs.Items {
		owner := metav1.GetControllerOf(&j)
		g.Expect(owner).NotTo(BeNil(), "Job %s has no owner", j.Name)
		g.Expect(uids[string(owner.UID)]).To(BeTrue(), "Job %s is an orphan", j.Name)
		byOwner[string(owner.UID)]++
	}
	for _, b := range bs.Items {
		g.Expect(byOwner[string(b.UID)]).To(Equal(1), "Backup %s has %d Jobs", b.Name, byOwner[string(b.UID)])
	}
	return len(bs.Items)
}

var _ = Describe("faults", func() {
	var ns string
	BeforeEach(func() {
		ns = restrictedNamespace("faults")
		neo4jServer(ns, "graph-0", "zone-a", false)
		neo4jServer(ns, "graph-1", "zone-b", true)
		waitServersReady(ns, 2)
	})
	msg := simulated(result.Database{Name: "neo4j", Type: "FULL", Artifact: "neo4j-2026-11-28T02-00-00.backup", Size: 4096,
		LowTx: 1, HighTx: 42, Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"})

	It("takes exactly one Backup and one Job per trigger while the operator is SIGKILLed at random points", func() {
		rounds := envInt("CHAOS_ROUNDS", 20)
		seed := time.Now().UnixNano()
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		GinkgoWriter.Printf("kill rounds: %d, seed %d\n", rounds, seed)
		spec := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "1s", "sim.graphkeeper.dev/message": msg})
		spec.Databases = []string{"neo4j"}
		s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: "chaos", Namespace: ns}, Spec: v1.BackupScheduleSpec{
			Schedule: "0 0 1 1 *", ConcurrencyPolicy: v1.ConcurrencyAllow,
			SuccessfulBackupsHistoryLimit: ptr.To[int32](100), Template: spec}}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		var recoveries []time.Duration
		for i := 0; i < rounds; i++ {
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
				s.Annotations = map[string]string{v1.TriggerAnnotation: fmt.Sprintf("round-%d", i)}
				g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
			}).WithTimeout(30 * time.Second).Should(Succeed())
			// A random point of the work the trigger starts: reading it, creating the Backup,
			// writing the schedule's status, creating the Job, writing the Backup's.
			time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
			Expect(operator.Kill()).To(Succeed())
			killed := time.Now()
			restartOperator()
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
				g.Expect(s.Status.LastTrigger).To(Equal(fmt.Sprintf("round-%d", i)))
				jobs := &batchv1.JobList{}
				g.Expect(k8sClient.List(ctx, jobs, client.InNamespace(ns))).To(Succeed())
				g.Expect(jobs.Items).To(HaveLen(i + 1))
			}).WithTimeout(60 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
			recoveries = append(recoveries, time.Since(killed))
		}
		var n int
		Eventually(func(g Gomega) { n = invariants(g, ns) }).WithTimeout(90 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		Expect(n).To(Equal(rounds), "one Backup per trigger: no duplicate, none lost")
		var max, sum time.Duration
		for _, r := range recoveries {
			sum += r
			if r > max {
				max = r
			}
		}
		figure("kill rounds", fmt.Sprintf("%d SIGKILLs, %d Backups, %d Jobs, 0 duplicates, 0 orphans, 0 stuck; kill-to-Job recovery mean %s, max %s",
			rounds, n, n, (sum/time.Duration(len(recoveries))).Round(time.Millisecond), max.Round(time.Millisecond)))
	})

	It("takes exactly one Backup per scheduled slot while the operator is SIGKILLed around each slot (make chaos)", func() {
		slots := envInt("CHAOS_SLOTS", 0)
		if slots == 0 {
			Skip("real minutes: run with CHAOS_SLOTS=20 (make chaos)")
		}
		seed := time.Now().UnixNano()
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		spec := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "2s", "sim.graphkeeper.dev/message": msg})
		spec.Databases = []string{"neo4j"}
		s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: "minutely", Namespace: ns}, Spec: v1.BackupScheduleSpec{
			Schedule: "* * * * *", SuccessfulBackupsHistoryLimit: ptr.To[int32](100), Template: spec}}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		first := time.Now().Truncate(time.Minute).Add(time.Minute)
		var kills []string
		for i := 0; i < slots; i++ {
			slot := first.Add(time.Duration(i) * time.Minute)
			// A random point from 1 s before the slot to 3 s after it: before the requeue fires,
			// while the Backup is being created, while its Job is.
			at := slot.Add(time.Duration(rng.IntN(4000)-1000) * time.Millisecond)
			time.Sleep(time.Until(at))
			Expect(operator.Kill()).To(Succeed())
			kills = append(kills, at.Sub(slot).Round(time.Millisecond).String())
			restartOperator()
		}
		time.Sleep(time.Until(first.Add(time.Duration(slots)*time.Minute - 5*time.Second)))
		Eventually(func(g Gomega) {
			g.Expect(invariants(g, ns)).To(Equal(slots))
			bs := &v1.BackupList{}
			g.Expect(k8sClient.List(ctx, bs, client.InNamespace(ns))).To(Succeed())
			seen := map[string]bool{}
			for _, b := range bs.Items {
				seen[b.Name] = true
			}
			for i := 0; i < slots; i++ {
				name := "minutely-" + first.Add(time.Duration(i)*time.Minute).UTC().Format("200601021504")
				g.Expect(seen).To(HaveKey(name), "slot %d lost", i)
			}
		}).WithTimeout(90 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		figure("slot kills", fmt.Sprintf("%d slots of * * * * *, one SIGKILL each at %v from the slot (seed %d): %d Backups, one per slot, one Job each, 0 duplicates, 0 lost, 0 stuck", slots, kills, seed, slots))
	})

	It("hands over to the standby replica when the leader is killed mid-backup, without a duplicate", func() {
		standby := startOperator("operator-standby")
		b := e2eBackup(ns, "long", map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "25s", "sim.graphkeeper.dev/message": msg})
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
			g.Expect(b.Status.JobName).NotTo(BeEmpty())
		}).WithTimeout(60 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		lease := &coordinationv1.Lease{}
		key := client.ObjectKey{Namespace: "neo4j-backup-system", Name: "neo4j-backup-operator.backup.graphkeeper.dev"}
		Expect(k8sClient.Get(ctx, key, lease)).To(Succeed())
		leader := ptr.Deref(lease.Spec.HolderIdentity, "")
		Expect(operator.Kill()).To(Succeed())
		killed := time.Now()
		// The standby takes the Lease once it expires (15 s, controller-runtime's default),
		// then finishes the Backup the dead leader started.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, lease)).To(Succeed())
			g.Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).NotTo(Or(BeEmpty(), Equal(leader)))
		}).WithTimeout(40 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
		takeover := time.Since(killed)
		operator = standby
		after := e2eBackup(ns, "after", map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": msg})
		Eventually(func(g Gomega) {
			for _, x := range []*v1.Backup{b, after} {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(x), x)).To(Succeed())
				g.Expect(x.Status.Phase).To(Equal(v1.BackupSucceeded))
			}
			g.Expect(invariants(g, ns)).To(Equal(2))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(takeover).To(BeNumerically("<", 20*time.Second), "the lease is 15 s")
		figure("leader failover", fmt.Sprintf("leader SIGKILLed mid-backup; standby acquired the lease after %s; the running Backup finished once, one Job; a new Backup ran", takeover.Round(time.Millisecond)))
	})

	It("rides out an API server restart and an etcd stop during a backup, without restarting", func() {
		running, pid := operator, operator.Pid()
		b := e2eBackup(ns, "outage", map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "10s", "sim.graphkeeper.dev/message": msg})
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
			g.Expect(b.Status.JobName).NotTo(BeEmpty())
		}).WithTimeout(60 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		// A blip, not an outage: the leader must renew its Lease within 10 s (controller-runtime's
		// renew deadline) or it exits by design, so that no second leader ever acts beside it.
		// The API server's own stop and start take ~4-6 s here.
		By("crashing the API server (down 1 s), then etcd (down 3 s)")
		down := time.Now()
		Expect(box.Outage("kube-apiserver", time.Second)).To(Succeed())
		waitAPIServer()
		apiBack := time.Now()
		unreachable := apiBack.Sub(down)
		Expect(box.Outage("etcd", 3*time.Second)).To(Succeed())
		waitAPIServer()
		back := time.Now()

		waitBackup(b, v1.BackupSucceeded, 120*time.Second)
		converged := time.Since(back)
		after := e2eBackup(ns, "after-outage", map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": msg})
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(after), after)).To(Succeed())
			g.Expect(after.Status.Phase).To(Equal(v1.BackupSucceeded))
			g.Expect(invariants(g, ns)).To(Equal(2))
		}).WithTimeout(120 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(running.Exited()).To(BeFalse(), "the operator exited")
		Expect(operator.Pid()).To(Equal(pid), "the operator was restarted")
		figure("API server and etcd outages", fmt.Sprintf("kube-apiserver crashed and restarted (SIGKILL, down 1 s, started: %s unreachable), then etcd killed and down 3 s, during a backup; the operator (same pid) converged %s after etcd was back (%s after the API server's restart); one Job per Backup; a new Backup ran",
			unreachable.Round(time.Millisecond), converged.Round(time.Millisecond), time.Since(apiBack).Round(time.Millisecond)))
	})

	It("retries a failing backup pod exactly backoffLimit times, then names the cause", func() {
		fail := simulated(result.Database{Name: "neo4j", Error: "every member failed: graph-1: exit 1: Unable to connect to graph-1:6362"})
		spec := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Failed", "sim.graphkeeper.dev/exit-code": "1", "sim.graphkeeper.dev/message": fail})
		spec.Databases = []string{"neo4j"}
		spec.BackoffLimit = ptr.To[int32](2)
		b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "flaky", Namespace: ns}, Spec: spec}
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		waitBackup(b, v1.BackupFailed, 120*time.Second)
		job := &batchv1.Job{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: b.Status.JobName}, job)).To(Succeed())
		Expect(job.Status.Failed).To(BeEquivalentTo(3), "backoffLimit 2: the first try and two retries")
		ready := e2eReady(b)
		Expect(ready.Reason).To(Equal(v1.ReasonBackupFailed))
		Expect(ready.Message).To(And(ContainSubstring("Unable to connect to graph-1:6362"), ContainSubstring("BackoffLimitExceeded")))
		figure("pod failures", fmt.Sprintf("backoffLimit 2: %d pods failed, then the Backup failed with: %s", job.Status.Failed, ready.Message))
	})

	It("fails a backup whose storage-zone node is lost with NodeLost, and keeps the next slot in the storage zone", func() {
		const lostNode, zone = "kwok-zone-c-0", "zone-c"
		By("running the operator with a 30 s start timeout (a graceful stop hands the Lease over at once)")
		Expect(operator.Stop(10 * time.Second)).To(Succeed())
		operator = startOperator("operator-node-loss", "--start-timeout=30s")
		DeferCleanup(func() {
			Expect(operator.Stop(10 * time.Second)).To(Succeed())
			restartOperator()
		})

		spec := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "300s", "sim.graphkeeper.dev/message": msg})
		spec.Databases = []string{"neo4j"}
		s := &v1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: "lossy", Namespace: ns}, Spec: v1.BackupScheduleSpec{
			Schedule: "0 0 1 1 *", Template: spec}}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		trigger := func(name string) *v1.Backup {
			GinkgoHelper()
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
				s.Annotations = map[string]string{v1.TriggerAnnotation: name}
				g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
			}).WithTimeout(30 * time.Second).Should(Succeed())
			b := &v1.Backup{}
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
				g.Expect(s.Status.LastTrigger).To(Equal(name))
				bs := &v1.BackupList{}
				g.Expect(k8sClient.List(ctx, bs, client.InNamespace(ns))).To(Succeed())
				var found []v1.Backup
				for _, x := range bs.Items {
					if x.Annotations[v1.TriggerAnnotation] == name {
						found = append(found, x)
					}
				}
				g.Expect(found).To(HaveLen(1), "one Backup for the trigger")
				*b = found[0]
			}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
			return b
		}

		first := trigger("before-the-loss")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(first), first)).To(Succeed())
			g.Expect(first.Status.Phase).To(Equal(v1.BackupRunning))
			g.Expect(first.Status.Placement.StorageZone).To(Equal(zone))
			g.Expect(first.Status.Placement.Node).To(Equal(lostNode))
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		By("losing " + lostNode + ", the only node of the storage zone, mid-backup")
		Expect(box.LoseNode(ctx, lostNode)).To(Succeed())
		lost := time.Now()
		DeferCleanup(func() {
			// The specs after this one run their backups on it.
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: lostNode}, &corev1.Node{}); err != nil {
				Expect(box.AddNode(ctx, zone, lostNode)).To(Succeed())
			}
		})
		var noticed time.Duration
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(first), first)).To(Succeed())
			ready := e2eReady(first)
			if noticed == 0 && ready.Reason == v1.ReasonRestarting {
				noticed = time.Since(lost)
				g.Expect(ready.Message).To(ContainSubstring("node " + lostNode + " is gone"))
			}
			g.Expect(first.Status.Phase).To(Equal(v1.BackupFailed))
		}).WithTimeout(180 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		failed := time.Since(lost)
		ready := e2eReady(first)
		Expect(ready.Reason).To(Equal(v1.ReasonNodeLost))
		Expect(ready.Message).To(And(ContainSubstring("node "+lostNode+" is gone, where the backup pod ran"), ContainSubstring("Unschedulable")))
		Expect(noticed).NotTo(BeZero(), "the Backup said Restarting while the Job's new pod waited")
		Eventually(func(g Gomega) {
			jobs := &batchv1.JobList{}
			g.Expect(k8sClient.List(ctx, jobs, client.InNamespace(ns))).To(Succeed())
			g.Expect(jobs.Items).To(BeEmpty(), "the failed Backup's Job is deleted")
		}).WithTimeout(30 * time.Second).Should(Succeed())

		By("taking the next slot while the storage zone has no node: it waits for it, never moving to the servers' zones")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
			s.Spec.Template.PodMetadata.Annotations["sim.graphkeeper.dev/delay"] = "1s"
			g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
		}).WithTimeout(30 * time.Second).Should(Succeed())
		next := trigger("after-the-loss")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(next), next)).To(Succeed())
			g.Expect(next.Status.Phase).To(Equal(v1.BackupPending))
			g.Expect(e2eReady(next).Reason).To(Equal("NoNodesInZone"))
			g.Expect(e2eReady(next).Message).To(ContainSubstring("bound to a volume in " + zone))
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(next), next)).To(Succeed())
			g.Expect(next.Status.JobName).To(BeEmpty(), "no Job outside the storage zone")
		}).WithTimeout(5 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		By("replacing the node: the waiting slot runs in the storage zone")
		Expect(box.AddNode(ctx, zone, lostNode)).To(Succeed())
		waitBackup(next, v1.BackupSucceeded, 90*time.Second)
		Expect(next.Status.Placement.StorageZone).To(Equal(zone))
		Expect(next.Status.Placement.Node).To(Equal(lostNode))
		figure("node loss", fmt.Sprintf("the storage zone's only node deleted mid-backup: the Backup said Restarting %s later (the pod garbage collector's quarantine), failed NodeLost %s after the loss (start timeout 30 s), its Job deleted; the next slot waited with NoNodesInZone, no Job outside %s, and ran there once the node was back; message: %s",
			noticed.Round(time.Millisecond), failed.Round(time.Millisecond), zone, ready.Message))
	})

	It("never shows a credential in events, statuses, pod specs or the operator's logs", func() {
		const user, pass, key = "u-Zx81-user", "p-Qm27-pass", "k-Hy55-private"
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns},
			StringData: map[string]string{"username": user, "password": pass}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "backup-tls", Namespace: ns},
			StringData: map[string]string{"tls.key": key, "tls.crt": "c-" + key, "ca.crt": "ca-" + key}})).To(Succeed())
		spec := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": msg})
		spec.Databases = []string{"neo4j"}
		spec.Cluster.TLS = &v1.TLSSpec{SecretName: "backup-tls"}
		b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: ns}, Spec: spec}
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		waitBackup(b, v1.BackupSucceeded, 90*time.Second)
		rep := string(result.EncodeRestore(result.Restore{Database: "copy", Chain: []string{"neo4j-2026-11-28T02-00-00.backup"}}, result.MaxMessage))
		rs := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "seed", Namespace: ns}, Spec: v1.RestoreSpec{
			Source: v1.RestoreSource{BackupName: "tls"}, Database: "neo4j", TargetDatabase: "copy", Mode: v1.RestoreSeedFromURI,
			Cluster:           v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26", ServerSelector: spec.Cluster.ServerSelector},
			CredentialsSecret: &v1.CredentialsSecret{Name: "creds"},
			JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise", PodMetadata: v1.PodMetadata{Annotations: map[string]string{
				"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": rep}}}}}
		Expect(k8sClient.Create(ctx, rs)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rs), rs)).To(Succeed())
			g.Expect(rs.Status.Phase).To(Equal(v1.RestoreSucceeded))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		// Everything a user, a log shipper or another controller can read.
		var haystacks []string
		searched := map[string]int{}
		add := func(kind string, obj any) {
			data, err := json.Marshal(obj)
			Expect(err).NotTo(HaveOccurred())
			haystacks = append(haystacks, string(data))
			searched[kind]++
		}
		evs := &corev1.EventList{}
		Expect(k8sClient.List(ctx, evs)).To(Succeed())
		for _, e := range evs.Items {
			add("events (core)", e)
		}
		evs2 := &eventsv1.EventList{}
		Expect(k8sClient.List(ctx, evs2)).To(Succeed())
		for _, e := range evs2.Items {
			add("events (events.k8s.io)", e)
		}
		pods := &corev1.PodList{}
		Expect(k8sClient.List(ctx, pods)).To(Succeed())
		for _, p := range pods.Items {
			add("pods", p.Spec)
			add("pods", p.Status)
		}
		jobs := &batchv1.JobList{}
		Expect(k8sClient.List(ctx, jobs)).To(Succeed())
		for _, j := range jobs.Items {
			add("jobs", j.Spec)
		}
		bl := &v1.BackupList{}
		Expect(k8sClient.List(ctx, bl)).To(Succeed())
		for _, x := range bl.Items {
			add("backups", x.Status)
		}
		rl := &v1.RestoreList{}
		Expect(k8sClient.List(ctx, rl)).To(Succeed())
		for _, x := range rl.Items {
			add("restores", x.Status)
		}
		sl := &v1.BackupScheduleList{}
		Expect(k8sClient.List(ctx, sl)).To(Succeed())
		for _, x := range sl.Items {
			add("schedules", x.Status)
		}
		logs, err := os.ReadDir(box.Dir + "/logs")
		Expect(err).NotTo(HaveOccurred())
		for _, l := range logs {
			if strings.HasPrefix(l.Name(), "operator") {
				data, err := os.ReadFile(box.Dir + "/logs/" + l.Name())
				Expect(err).NotTo(HaveOccurred())
				haystacks = append(haystacks, string(data))
				searched["operator logs"]++
			}
		}
		hits := 0
		for _, h := range haystacks {
			for _, needle := range []string{user, pass, key} {
				hits += strings.Count(h, needle)
			}
		}
		Expect(hits).To(BeZero())
		Expect(searched["events (core)"]).To(BeNumerically(">", 0))
		Expect(searched["operator logs"]).To(BeNumerically(">", 0))
		figure("secrets", fmt.Sprintf("searched %v for 3 distinctive credential values: %d hits", searched, hits))
	})
})
