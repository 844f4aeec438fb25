package controllers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prometheus/client_golang/prometheus/testutil"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/test/jobsim"
)

// world is one namespace with nodes in zones and a simulated Neo4j cluster in it.
type world struct {
	ns string
}

var worldCount int

func newWorld() *world {
	worldCount++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("backup-%d", worldCount)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return &world{ns: ns.Name}
}

// node makes a Ready node in zone (idempotent: nodes are cluster-wide and shared by specs).
func node(name, zone string) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: zone}}}
	if err := k8sClient.Create(ctx, n); err != nil {
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
		return
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	Expect(k8sClient.Status().Update(ctx, n)).To(Succeed())
}

var _ = BeforeEach(func() {
	for _, z := range []string{"a", "b", "c"} {
		node("node-"+z, "zone-"+z)
	}
})

// server makes a Neo4j server pod on node, ready or not, a read replica or not.
func (w *world) server(name, nodeName string, replica, ready bool) {
	lbls := map[string]string{"app.kubernetes.io/instance": "graph"}
	if replica {
		lbls["neo4j.com/role"] = "secondary"
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns, Labels: lbls},
		Spec: corev1.PodSpec{NodeName: nodeName, Hostname: name, Subdomain: "graph",
			Containers: []corev1.Container{{Name: "neo4j", Image: "neo4j:5.26.2-enterprise"}}},
	}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	p.Status.Phase = corev1.PodRunning
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	Expect(k8sClient.Status().Update(ctx, p)).To(Succeed())
}

// cluster is three servers: a primary in zone-a, secondaries in zone-a and zone-b.
func (w *world) cluster() {
	w.server("graph-0", "node-a", false, true)
	w.server("graph-1", "node-b", true, true)
	w.server("graph-2", "node-a", true, true)
}

func backupSpec() v1.BackupSpec {
	return v1.BackupSpec{
		Cluster: v1.ClusterSpec{
			Name: "graph", Neo4jVersion: "5.26",
			ServerSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}},
			ReadReplicaSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"neo4j.com/role": "secondary"}},
		},
		Databases: []string{"neo4j", "movies"},
		Storage: v1.StorageSpec{PersistentVolumeClaim: &v1.ClaimSource{
			Template: &v1.ClaimTemplate{StorageClassName: ptr.To("zonal"), Size: resource.MustParse("50Gi")},
		}},
		JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise",
			Memory: v1.MemorySpec{HeapSize: ptr.To(resource.MustParse("2Gi")), PageCache: ptr.To(resource.MustParse("1Gi"))}},
	}
}

func (w *world) backup(name string, mut ...func(*v1.BackupSpec)) *v1.Backup {
	b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}, Spec: backupSpec()}
	for _, m := range mut {
		m(&b.Spec)
	}
	Expect(k8sClient.Create(ctx, b)).To(Succeed())
	return b
}

func get(b *v1.Backup) func(Gomega) *v1.Backup {
	return func(g Gomega) *v1.Backup {
		out := &v1.Backup{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), out)).To(Succeed())
		return out
	}
}

func eventually(f func(Gomega)) {
	GinkgoHelper()
	Eventually(f).WithTimeout(20 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
}

func readyCondition(b *v1.Backup) metav1.Condition {
	for _, c := range b.Status.Conditions {
		if c.Type == v1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

func jobOf(b *v1.Backup) *batchv1.Job {
	GinkgoHelper()
	job := &batchv1.Job{}
	eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: resources.ChildName(b.Name, resources.RoleBackup)}, job)).To(Succeed())
	})
	return job
}

// finish plays the kubelet and the Job controller: a pod of the Job whose backup container
// ended with exitCode and message, then the Job's terminal condition.
var finishes int

func finish(job *batchv1.Job, exitCode int32, message string) {
	GinkgoHelper()
	finishAs(job, exitCode, "", message)
}

// finishAs is finish with the container's reason of termination as the kubelet gives it
// (OOMKilled, Error, Completed).
func finishAs(job *batchv1.Job, exitCode int32, reason, message string) {
	GinkgoHelper()
	// Each finish a second after the one before: status times have one-second resolution, and
	// the order of backups is what chains are made of.
	finishes++
	now := metav1.NewTime(time.Now().Truncate(time.Second).Add(time.Duration(finishes) * time.Second))
	if job.Status.StartTime == nil {
		job.Status.StartTime = &now
	}
	job.Status.Active = 1
	Expect(k8sClient.Status().Update(ctx, job)).To(Succeed())

	// As the Job controller makes it: its labels and its owner reference.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x1", Namespace: job.Namespace,
			Labels:          mergeLabels(job.Spec.Template.Labels, map[string]string{batchv1.JobNameLabel: job.Name}),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}},
		Spec: job.Spec.Template.Spec,
	}
	pod.Spec.NodeName = "node-c"
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	phase := corev1.PodSucceeded
	if exitCode != 0 {
		phase = corev1.PodFailed
	}
	pod.Status.Phase = phase
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: resources.ContainerBackup, Image: job.Spec.Template.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Reason: reason, Message: message, FinishedAt: now, StartedAt: now}}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())

	job.Status.Active, job.Status.Ready = 0, ptr.To[int32](0)
	jobsim.End(job, exitCode == 0, "BackoffLimitExceeded", "Job has reached the specified backoff limit", now)
	Expect(k8sClient.Status().Update(ctx, job)).To(Succeed())
}

// jobPod plays the Job controller and the kubelet: a pod of job on node, ready or not; with
// no node, a pod the scheduler could not place.
func jobPod(job *batchv1.Job, name, nodeName string, ready bool) *corev1.Pod {
	GinkgoHelper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: job.Namespace,
			Labels:          mergeLabels(job.Spec.Template.Labels, map[string]string{batchv1.JobNameLabel: job.Name}),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}},
		Spec: job.Spec.Template.Spec,
	}
	pod.Spec.NodeName = nodeName
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	now := metav1.Now()
	if nodeName == "" {
		pod.Status.Phase = corev1.PodPending
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
			Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", LastTransitionTime: now}}
	} else {
		pod.Status.Phase = corev1.PodRunning
		cond := corev1.ConditionFalse
		if ready {
			cond = corev1.ConditionTrue
		}
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: cond, LastTransitionTime: now}}
	}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	return pod
}

// runningBackup is a Backup whose Job's pod runs on a node of its own in zone-c (deleted with
// the spec), as the Backup controller has seen it.
func (w *world) runningBackup(name string) (b *v1.Backup, job *batchv1.Job, pod *corev1.Pod, nodeName string) {
	GinkgoHelper()
	nodeName = "node-" + w.ns
	node(nodeName, "zone-c")
	DeferCleanup(func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}))).To(Succeed())
	})
	b = w.backup(name)
	job = jobOf(b)
	pod = jobPod(job, name+"-1", nodeName, true)
	jobCounts(job, 1, 1)
	eventually(func(g Gomega) {
		got := get(b)(g)
		g.Expect(got.Status.Phase).To(Equal(v1.BackupRunning))
		g.Expect(got.Status.Placement.Node).To(Equal(nodeName))
		g.Expect(readyCondition(got).Message).To(ContainSubstring("running on node " + nodeName))
	})
	return b, job, pod, nodeName
}

// disrupt marks a pod as the pod garbage collector, taint eviction, the Eviction API or the
// scheduler's preemption leave it: a DisruptionTarget with reason, no longer ready; failed,
// unless it is left terminating (deleted, on a node whose kubelet does not answer).
func disrupt(pod *corev1.Pod, reason string, failed bool) {
	GinkgoHelper()
	if failed {
		pod.Status.Phase = corev1.PodFailed
	}
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: metav1.Now()},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now()}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	if !failed {
		Expect(k8sClient.Delete(ctx, pod)).To(Succeed())
	}
}

// pastStartTimeout moves the operator's clock past the start timeout (back after the spec)
// and wakes obj's controller.
func pastStartTimeout(obj client.Object) {
	GinkgoHelper()
	clock.SetTime(time.Now().Add(startTimeout + time.Minute))
	DeferCleanup(func() { clock.SetTime(time.Now()) })
	poke(obj)
}

// jobCounts sets the Job's active and ready pod counts, as the Job controller would.
func jobCounts(job *batchv1.Job, active, ready int32) {
	GinkgoHelper()
	eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
		job.Status.Active, job.Status.Ready = active, ptr.To(ready)
		if job.Status.StartTime == nil {
			job.Status.StartTime = ptr.To(metav1.Now())
		}
		g.Expect(k8sClient.Status().Update(ctx, job)).To(Succeed())
	})
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// twoFulls makes two finished FULL Backups with deletionPolicy Delete on the template claim, so
// that the older's artifact is not the newest chain's and may be pruned.
func (w *world) twoFulls(older, newer string) (*v1.Backup, *v1.Backup) {
	GinkgoHelper()
	del := func(s *v1.BackupSpec) { s.Storage.DeletionPolicy = v1.DeletionDelete; s.Type = v1.BackupFull }
	o := w.backup(older, del)
	finish(jobOf(o), 0, report(good("neo4j", "FULL")))
	eventually(func(g Gomega) { g.Expect(get(o)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
	n := w.backup(newer, del)
	newerReport := good("neo4j", "FULL")
	newerReport.Artifact = "neo4j-2026-11-29T02-00-00.backup"
	finish(jobOf(n), 0, report(newerReport))
	eventually(func(g Gomega) { g.Expect(get(n)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
	return o, n
}

// completePrune plays the Job controller for a prune Job whose pod succeeded.
// deleteForPrune deletes b and returns the prune Job its deletion starts.
func deleteForPrune(b *v1.Backup) *batchv1.Job {
	GinkgoHelper()
	Expect(k8sClient.Delete(ctx, b)).To(Succeed())
	prune := &batchv1.Job{}
	eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: resources.PruneJobName(b.Name)}, prune)).To(Succeed())
	})
	return prune
}

func completePrune(prune *batchv1.Job) {
	GinkgoHelper()
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	prune.Status.StartTime = &now
	jobsim.End(prune, true, "", "", now)
	Expect(k8sClient.Status().Update(ctx, prune)).To(Succeed())
}

func report(dbs ...result.Database) string {
	return string(result.Encode(result.Backup{Databases: dbs}, result.MaxMessage))
}

func good(name, typ string) result.Database {
	return result.Database{Name: name, Type: typ, Artifact: name + "-2026-11-28T02-00-00.backup", Size: 1 << 20,
		LowTx: 1, HighTx: 42, Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"}
}

func eventsFor(ns, name string) []string {
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Type+" "+e.Reason+": "+e.Note)
		}
	}
	return out
}

var _ = Describe("Backup controller", func() {
	It("takes a backup from the read replicas into a zone without servers, and reports it", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("nightly")

		job := jobOf(b)
		By("building the Job the plan asks for")
		Expect(job.OwnerReferences).To(HaveLen(1))
		Expect(job.OwnerReferences[0].UID).To(Equal(get(b)(Default).UID))
		Expect(job.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values).
			To(Equal([]string{"zone-c"}))
		c := job.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(ContainElements(
			"--member=graph-1/zone-b/graph-1.graph."+w.ns+".svc:6362",
			"--member=graph-2/zone-a/graph-2.graph."+w.ns+".svc:6362",
			"--member=graph-0/zone-a/graph-0.graph."+w.ns+".svc:6362",
			"--database=neo4j", "--database=movies", "--pagecache-bytes=1073741824", "--dir=/backups/"+w.ns+"/graph"))
		Expect(strings.Index(strings.Join(c.Args, " "), "graph-1/")).To(BeNumerically("<", strings.Index(strings.Join(c.Args, " "), "graph-0/")),
			"read replicas come before the primary")
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "HEAP_SIZE", Value: "2g"}))
		Expect(c.Resources.Limits.Memory().String()).To(Equal("3584Mi"))
		Expect(c.Resources.Requests.Memory().String()).To(Equal("3584Mi"))

		claim := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "neo4j-backups-graph"}, claim)).To(Succeed())
		Expect(claim.OwnerReferences).To(BeEmpty(), "with deletionPolicy Retain the claim outlives every Backup")
		Expect(claim.Labels).To(HaveKeyWithValue(resources.LabelManagedBy, resources.ManagedBy))
		Expect(*claim.Spec.StorageClassName).To(Equal("zonal"))

		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPending))
			g.Expect(got.Status.JobName).To(Equal(job.Name))
			g.Expect(got.Status.Placement).To(Equal(&v1.Placement{ClusterZones: []string{"zone-a", "zone-b"}, StorageZone: "zone-c", CrossZone: true}))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		})

		By("following the Job to its end")
		finish(job, 0, report(good("neo4j", "FULL"), good("movies", "FULL")))
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupSucceeded))
			g.Expect(readyCondition(got).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(readyCondition(got).ObservedGeneration).To(Equal(got.Generation))
			g.Expect(got.Status.Type).To(Equal("FULL"))
			g.Expect(got.Status.Size.String()).To(Equal("2Mi"))
			g.Expect(got.Status.Placement.SourceMember).To(Equal("graph-1"))
			g.Expect(got.Status.Placement.SourceZone).To(Equal("zone-b"))
			g.Expect(got.Status.Placement.CrossZone).To(BeTrue())
			g.Expect(got.Status.Databases).To(HaveLen(2))
			g.Expect(got.Status.Databases[0].Name).To(Equal("movies"))
			g.Expect(got.Status.Databases[1].HighestTx).To(BeEquivalentTo(42))
			g.Expect(got.Status.StartTime).NotTo(BeNil())
			g.Expect(got.Status.CompletionTime).NotTo(BeNil())
		})
		// Metrics follow the status write.
		eventually(func(g Gomega) {
			g.Expect(testutil.ToFloat64(metrics.LastSuccess.WithLabelValues(w.ns, "graph", "", "neo4j"))).To(BeNumerically(">", 0))
			g.Expect(testutil.ToFloat64(metrics.Size.WithLabelValues(w.ns, "graph", "", "movies"))).To(BeEquivalentTo(1 << 20))
			g.Expect(testutil.ToFloat64(metrics.Backups.WithLabelValues(w.ns, "graph", "", "Succeeded"))).To(BeEquivalentTo(1))
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, b.Name)).To(ContainElements(
				ContainSubstring("Normal Pending: created Job nightly-backup in zone zone-c, members in order: graph-"),
				ContainSubstring("Normal Succeeded: backed up neo4j (FULL), movies (FULL)"),
			))
		})
	})

	It("backs up into a bucket: no claim, no zone to pin, cross-zone by nature; restores and prunes there", func() {
		w := newWorld()
		w.cluster()
		inS3 := func(s *v1.BackupSpec) {
			s.Storage.PersistentVolumeClaim = nil
			s.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "s3://graph-backups/neo4j/", Region: "eu-west-1", Endpoint: "https://minio.storage:9000",
				Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"}, Staging: &v1.ClaimTemplate{Size: resource.MustParse("20Gi")}}
			s.Storage.DeletionPolicy, s.Type = v1.DeletionDelete, v1.BackupFull
		}
		older := w.backup("older", inS3)
		job := jobOf(older)
		pod := job.Spec.Template.Spec
		c := pod.Containers[0]
		Expect(pod.Affinity).To(BeNil(), "a bucket is reached from every zone")
		Expect(c.Args).To(ContainElements("--dir=s3://graph-backups/neo4j/"+w.ns+"/graph", "--temp-dir=/staging/tmp"))
		Expect(c.Env).To(ContainElements(corev1.EnvVar{Name: "AWS_REGION", Value: "eu-west-1"}, corev1.EnvVar{Name: "AWS_ENDPOINT_URL_S3", Value: "https://minio.storage:9000"}))
		var staging *corev1.Volume
		for i := range pod.Volumes {
			Expect(pod.Volumes[i].PersistentVolumeClaim).To(BeNil(), "no backup claim is mounted")
			if pod.Volumes[i].Name == "staging" {
				staging = &pod.Volumes[i]
			}
		}
		Expect(staging).NotTo(BeNil())
		Expect(staging.Ephemeral.VolumeClaimTemplate.Spec.Resources.Requests.Storage().String()).To(Equal("20Gi"))
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "neo4j-backups-graph"}, &corev1.PersistentVolumeClaim{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no claim is made for a bucket: %v", err)
		where := &v1.StorageLocation{URI: "s3://graph-backups", Path: "neo4j/" + w.ns + "/graph", Endpoint: "https://minio.storage:9000"}
		eventually(func(g Gomega) {
			got := get(older)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPending))
			g.Expect(got.Status.Storage).To(Equal(where))
			g.Expect(got.Status.Placement).To(Equal(&v1.Placement{ClusterZones: []string{"zone-a", "zone-b"}, Bucket: "s3://graph-backups", Region: "eu-west-1", CrossZone: true}))
		})
		finish(job, 0, report(good("neo4j", "FULL")))
		eventually(func(g Gomega) {
			got := get(older)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupSucceeded))
			g.Expect(got.Status.Placement.CrossZone).To(BeTrue())
			g.Expect(got.Status.Placement.Bucket).To(Equal("s3://graph-backups"))
		})
		By("the finished Job goes, and with it its pods and their staging volumes")
		eventually(func(g Gomega) {
			j := &batchv1.Job{}
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(job), j)
			g.Expect(apierrors.IsNotFound(err) || j.DeletionTimestamp != nil).To(BeTrue(), "Job %s is still there", job.Name)
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "older")).To(ContainElement(ContainSubstring("Normal Pending: created Job older-backup to s3://graph-backups/neo4j/" + w.ns + "/graph, members in order")))
		})

		By("a Volume restore reads the bucket with the Backup's own access, and stages on the claim it restores into")
		rs := w.restore("from-bucket", func(s *v1.RestoreSpec) { s.Source.BackupName = "older" })
		restoreJob := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: resources.ChildName(rs.Name, resources.RoleRestore)}, restoreJob)).To(Succeed())
		})
		rpod := restoreJob.Spec.Template.Spec
		rc := rpod.Containers[0]
		Expect(rc.Args).To(ContainElements("--dir=s3://graph-backups/neo4j/"+w.ns+"/graph", "--artifact=neo4j-2026-11-28T02-00-00.backup", "--temp-dir=/data/.neo4j-restore-tmp"))
		Expect(rc.Env).To(ContainElement(corev1.EnvVar{Name: "AWS_ENDPOINT_URL_S3", Value: "https://minio.storage:9000"}))
		Expect(rpod.Affinity).To(BeNil())
		for _, v := range rpod.Volumes {
			if v.PersistentVolumeClaim != nil {
				Expect(v.PersistentVolumeClaim.ClaimName).To(Equal("new-server-data"), "the target is the only claim")
			}
		}
		Expect(k8sClient.Delete(ctx, rs)).To(Succeed())

		By("SeedFromURI from a bucket: the seed server fetches from the bucket with the Backup's access, in no particular zone")
		seed := w.restore("seed-from-bucket", func(s *v1.RestoreSpec) {
			s.Source.BackupName, s.Mode, s.Target = "older", v1.RestoreSeedFromURI, nil
			s.Cluster.ServerSelector = backupSpec().Cluster.ServerSelector
			s.CredentialsSecret = &v1.CredentialsSecret{Name: "neo4j-admin"}
		})
		server := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: resources.SeedServerName(seed.Name)}, server)).To(Succeed())
		})
		sc := server.Spec.Template.Spec.Containers[0]
		Expect(sc.Args).To(ContainElements("--dir=s3://graph-backups/neo4j/"+w.ns+"/graph", "--file=neo4j-2026-11-28T02-00-00.backup"))
		Expect(sc.Env).To(ContainElement(corev1.EnvVar{Name: "AWS_REGION", Value: "eu-west-1"}))
		Expect(server.Spec.Template.Spec.Affinity).To(BeNil())
		Expect(k8sClient.Delete(ctx, seed)).To(Succeed())

		By("SeedFromURI with seedFrom: Bucket: no seed server; the servers fetch the chain's last artifact from the bucket themselves")
		direct := w.restore("seed-straight", func(s *v1.RestoreSpec) {
			s.Source.BackupName, s.Mode, s.Target, s.SeedFrom = "older", v1.RestoreSeedFromURI, nil, v1.SeedFromBucket
			s.Cluster.ServerSelector = backupSpec().Cluster.ServerSelector
			s.CredentialsSecret = &v1.CredentialsSecret{Name: "neo4j-admin"}
		})
		seedJob := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: resources.ChildName(direct.Name, resources.RoleSeed)}, seedJob)).To(Succeed())
		})
		uri := "s3://graph-backups/neo4j/" + w.ns + "/graph/neo4j-2026-11-28T02-00-00.backup"
		Expect(seedJob.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--seed-uri=" + uri))
		err = k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: resources.SeedServerName(direct.Name)}, &batchv1.Job{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no seed server: %v", err)
		eventually(func(g Gomega) { g.Expect(getRestore(g, direct).Status.SeedURI).To(Equal(uri)) })
		finishRestore(seedJob, 1, result.Restore{Database: "neo4j-restored", Reason: v1.ReasonSeedFromBucketFailed,
			Error: "the seed did not start: graph-0: offline: Unable to start database; the servers fetch " + uri + " themselves: each needs read access to the bucket"})
		eventually(func(g Gomega) {
			got := getRestore(g, direct)
			g.Expect(got.Status.Phase).To(Equal(v1.RestoreFailed))
			g.Expect(restoreReason(got)).To(Equal(v1.ReasonSeedFromBucketFailed), "never 'the seed server Job was deleted': there is none")
			g.Expect(restoreReadyMessage(got)).To(ContainSubstring("each needs read access to the bucket"))
		})
		Expect(k8sClient.Delete(ctx, direct)).To(Succeed())

		By("a bucket folder no Backup describes is inspected there, with the Restore's access")
		other := w.restore("from-other-cluster", func(s *v1.RestoreSpec) {
			s.Source = v1.RestoreSource{Storage: &v1.StorageLocationSpec{Path: "prod/graph", ObjectStore: &v1.ObjectStoreSpec{
				URI: "gs://other-cluster-backups", Project: "graph-prod", Credentials: v1.ObjectStoreCredentials{SecretName: "gcs-key"}}}}
		})
		inspection := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: resources.InspectJobName(other.Name)}, inspection)).To(Succeed())
		})
		ic := inspection.Spec.Template.Spec.Containers[0]
		Expect(ic.Args).To(ContainElement("--dir=gs://other-cluster-backups/prod/graph"))
		Expect(ic.Env).To(ContainElements(corev1.EnvVar{Name: "GOOGLE_CLOUD_PROJECT", Value: "graph-prod"},
			corev1.EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: "/var/run/neo4j-backup/gcs/credentials.json"}))
		Expect(k8sClient.Delete(ctx, other)).To(Succeed())

		By("a newer FULL lets the older go: its prune deletes in the bucket, with the same credentials")
		newer := w.backup("newer", inS3)
		newerReport := good("neo4j", "FULL")
		newerReport.Artifact = "neo4j-2026-11-29T02-00-00.backup"
		finish(jobOf(newer), 0, report(newerReport))
		eventually(func(g Gomega) { g.Expect(get(newer)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
		prune := deleteForPrune(older)
		pc := prune.Spec.Template.Spec.Containers[0]
		Expect(pc.Args).To(Equal([]string{"agent", "prune", "--dir=s3://graph-backups/neo4j/" + w.ns + "/graph", "--artifact=neo4j-2026-11-28T02-00-00.backup"}))
		Expect(pc.Env).To(ContainElement(corev1.EnvVar{Name: "AWS_REGION", Value: "eu-west-1"}))
		Expect(prune.Spec.Template.Spec.Affinity).To(BeNil())
		Expect(prune.Labels[resources.LabelLocation]).To(Equal(job.Labels[resources.LabelLocation]), "one location: the one-writer rule holds across backup and prune")
		completePrune(prune)
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(older), &v1.Backup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "older")).To(ContainElement(ContainSubstring("PruneStarted: deleting 1 artifact, neo4j-2026-11-28T02-00-00.backup from s3://graph-backups/neo4j/" + w.ns + "/graph")))
		})
	})

	It("refuses a bucket folder another namespace's Backups use, however the spec spells it", func() {
		inS3 := func(uri, path string) func(*v1.BackupSpec) {
			return func(s *v1.BackupSpec) {
				s.Storage.PersistentVolumeClaim, s.Storage.Path = nil, path
				s.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: uri, Region: "eu-west-1",
					Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"}, Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}}
			}
		}
		a := newWorld()
		a.cluster()
		first := a.backup("first", inS3("s3://shared-backups/neo4j", "prod/graph"))
		jobOf(first)
		b := newWorld()
		b.cluster()
		second := b.backup("second", inS3("s3://shared-backups/neo4j/prod", "graph"))
		eventually(func(g Gomega) {
			got := get(second)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonLocationShared))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("the bucket folder s3://shared-backups/neo4j/prod/graph holds the backups of Backup " + a.ns + "/first"))
		})
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: b.ns, Name: resources.ChildName("second", resources.RoleBackup)}, &batchv1.Job{})).NotTo(Succeed())
		// Another folder of the same bucket is another location.
		third := b.backup("third", inS3("s3://shared-backups/neo4j", "staging/graph"))
		jobOf(third)

		By("the refused Backup wrote nothing there: it stops none of the folder's own namespace")
		finish(jobOf(first), 0, report(good("neo4j", "FULL")))
		eventually(func(g Gomega) { g.Expect(get(first)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
		fourth := a.backup("fourth", inS3("s3://shared-backups/neo4j", "prod/graph"))
		jobOf(fourth)
	})

	It("keeps a finished bucket backup's Job while its pod holds what nothing else does", func() {
		w := newWorld()
		w.cluster()
		inS3 := func(s *v1.BackupSpec) {
			s.Storage.PersistentVolumeClaim = nil
			s.Storage.ObjectStore = &v1.ObjectStoreSpec{URI: "s3://graph-backups", Region: "eu-west-1",
				Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"}, Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}}
		}
		// The report left databases out and no manifest could be written: only the pod's log
		// lists them.
		cut := w.backup("cut", inS3)
		cutJob := jobOf(cut)
		finish(cutJob, 0, string(result.Encode(result.Backup{Databases: []result.Database{good("neo4j", "FULL")}, Truncated: 3}, result.MaxMessage)))
		// An inconsistency report the agent could not upload is on the pod's staging volume only.
		bad := good("neo4j", "FULL")
		bad.Consistent, bad.Check, bad.Error = ptr.To(false), result.CheckFailed, "backed up, but the consistency check found inconsistencies; uploading the report to the bucket failed"
		unsent := w.backup("unsent", inS3)
		unsentJob := jobOf(unsent)
		finish(unsentJob, 0, report(bad))
		for _, b := range []*v1.Backup{cut, unsent} {
			eventually(func(g Gomega) { g.Expect(get(b)(g).Status.Phase.Finished()).To(BeTrue()) })
		}
		// A clean one's Job goes: the proof the operator has looked at the finished ones.
		clean := w.backup("clean", inS3)
		cleanJob := jobOf(clean)
		finish(cleanJob, 0, report(good("neo4j", "FULL")))
		eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(cleanJob), &batchv1.Job{}))).To(BeTrue())
		})
		for _, j := range []*batchv1.Job{cutJob, unsentJob} {
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(j), &batchv1.Job{})).To(Succeed(), "Job %s", j.Name)
		}
	})

	It("never lets the template claim go with its Backups, and disowns one an earlier version gave them", func() {
		w := newWorld()
		w.cluster()
		del := func(s *v1.BackupSpec) { s.Storage.DeletionPolicy = v1.DeletionDelete }
		first := w.backup("first", del)
		finish(jobOf(first), 0, report(good("neo4j", "FULL")))
		eventually(func(g Gomega) { g.Expect(get(first)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
		key := client.ObjectKey{Namespace: w.ns, Name: "neo4j-backups-graph"}
		claim := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, key, claim)).To(Succeed())
		Expect(claim.OwnerReferences).To(BeEmpty(), "with deletionPolicy Delete too: the newest chain on it must outlive its Backups")

		By("a claim an earlier version made owned by its Backups is disowned by the next one to start")
		claim.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Backup", Name: "first", UID: get(first)(Default).UID}}
		Expect(k8sClient.Update(ctx, claim)).To(Succeed())
		second := w.backup("second")
		jobOf(second)
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, claim)).To(Succeed())
			g.Expect(claim.OwnerReferences).To(BeEmpty())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "second")).To(ContainElement(ContainSubstring("ClaimDisowned: claim neo4j-backups-graph is no longer deleted with its Backups")))
		})
	})

	It("with deletionPolicy Delete, deletes a Backup's artifacts through a prune Job, but never the newest chain's", func() {
		w := newWorld()
		w.cluster()
		del := func(s *v1.BackupSpec) { s.Storage.DeletionPolicy = v1.DeletionDelete; s.Type = v1.BackupFull }
		older := w.backup("older", del)
		eventually(func(g Gomega) {
			g.Expect(get(older)(g).Finalizers).To(ContainElement("backup.graphkeeper.dev/artifacts"))
		})
		finish(jobOf(older), 0, report(good("neo4j", "FULL")))
		eventually(func(g Gomega) { g.Expect(get(older)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
		newer := w.backup("newer", del)
		newerReport := good("neo4j", "FULL")
		newerReport.Artifact = "neo4j-2026-11-29T02-00-00.backup"
		finish(jobOf(newer), 0, report(newerReport))
		eventually(func(g Gomega) { g.Expect(get(newer)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })

		By("deleting the newest: its artifacts are the newest restorable chain and stay")
		Expect(k8sClient.Delete(ctx, newer)).To(Succeed())
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(newer), &v1.Backup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "newer")).To(ContainElement(ContainSubstring("ArtifactsKept: kept 1 artifact, neo4j-2026-11-29T02-00-00.backup: neo4j: it belongs to the newest restorable chain")))
		})
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "newer-prune"}, &batchv1.Job{})).NotTo(Succeed())

		By("a third backup makes the older one deletable: a prune Job deletes exactly its artifact")
		third := w.backup("third", del)
		finish(jobOf(third), 0, report(newerReport))
		eventually(func(g Gomega) { g.Expect(get(third)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
		prune := deleteForPrune(older)
		c := prune.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(Equal([]string{"agent", "prune", "--dir=/backups/" + w.ns + "/graph", "--artifact=neo4j-2026-11-28T02-00-00.backup"}))
		Expect(prune.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName).To(Equal("neo4j-backups-graph"))
		Expect(prune.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values).To(Equal([]string{"zone-c"}))
		Expect(get(older)(Default).Finalizers).To(ContainElement("backup.graphkeeper.dev/artifacts"), "held until the prune is done")

		completePrune(prune)
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(older), &v1.Backup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "older")).To(ContainElement(ContainSubstring("ArtifactsDeleted: deleted 1 artifact, neo4j-2026-11-28T02-00-00.backup")))
		})
	})

	It("hands a kept artifact to the next link of its chain, so that it goes with it, whatever the order of deletion", func() {
		w := newWorld() // no servers: the Backups never start; their ends are written here
		del := func(s *v1.BackupSpec) { s.Storage.DeletionPolicy = v1.DeletionDelete }
		file := func(day int) string { return fmt.Sprintf("neo4j-2026-11-%02dT02-00-00.backup", day) }
		mk := func(name string, day int, typ v1.BackupType, low, high int64) *v1.Backup {
			b := w.backup(name, del)
			eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
				g.Expect(b.Finalizers).To(ContainElement(v1.ArtifactsFinalizer))
				at := metav1.NewTime(time.Date(2026, 11, day, 2, 0, 0, 0, time.UTC))
				b.Status = v1.BackupStatus{Phase: v1.BackupSucceeded, CompletionTime: &at, Type: string(typ),
					Storage:   &v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: w.ns + "/graph"},
					Databases: []v1.DatabaseResult{{Name: "neo4j", Type: typ, Artifact: file(day), LowestTx: low, HighestTx: high}}}
				g.Expect(k8sClient.Status().Update(ctx, b)).To(Succeed())
			})
			return b
		}
		a1 := mk("a1", 1, v1.BackupFull, 1, 10)
		a2 := mk("a2", 2, v1.BackupDiff, 11, 20)
		mk("b1", 3, v1.BackupFull, 1, 30) // a newer chain: a1 and a2's may go

		By("the FULL deleted first: a2 still needs it, so it is kept and handed to a2")
		Expect(k8sClient.Delete(ctx, a1)).To(Succeed())
		eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(a1), &v1.Backup{}))).To(BeTrue())
			g.Expect(get(a2)(g).Annotations).To(HaveKeyWithValue("backup.graphkeeper.dev/inherited-artifacts",
				`{"neo4j":[{"file":"`+file(1)+`","time":"2026-11-01T02:00:00Z","full":true,"clean":true,"lowTx":1,"highTx":10}]}`))
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "a1")).To(ContainElement(ContainSubstring("ArtifactsKept: kept 1 artifact, " + file(1) + ": neo4j: backup a2, a later part of its chain, still needs it")))
		})

		By("the DIFF deleted: its prune deletes both files")
		Expect(k8sClient.Delete(ctx, a2)).To(Succeed())
		prune := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "a2-prune"}, prune)).To(Succeed())
		})
		Expect(prune.Spec.Template.Spec.Containers[0].Args).To(Equal([]string{"agent", "prune", "--dir=/backups/" + w.ns + "/graph",
			"--artifact=" + file(2), "--artifact=" + file(1)}))
		completePrune(prune)
		eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(a2), &v1.Backup{}))).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "a2")).To(ContainElement(ContainSubstring("ArtifactsDeleted: deleted 2 artifacts")))
		})
	})

	It("neither waits on nor deletes a Job of another that holds its prune Job's name", func() {
		w := newWorld()
		w.cluster()
		old, _ := w.twoFulls("old", "newer")

		// Someone's Job named old-prune, running.
		foreign := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "old-prune", Namespace: w.ns},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "x", Image: "busybox"}}}}},
		}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		written := foreign.ResourceVersion
		Expect(k8sClient.Delete(ctx, old)).To(Succeed())
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(old), &v1.Backup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "old")).To(ContainElement(ContainSubstring("PruneJobConflict: a Job named old-prune exists and is not this Backup's prune Job")))
		})
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
		Expect(foreign.ResourceVersion).To(Equal(written), "the foreign Job is untouched")
	})

	It("refuses to store backups beside the servers: NoIsolatedZone, no Job, then Failed after the start timeout", func() {
		w := newWorld()
		w.cluster()
		w.server("graph-3", "node-c", true, true)
		b := w.backup("spread")

		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPending))
			ready := readyCondition(got)
			g.Expect(ready.Reason).To(Equal(v1.ReasonNoIsolatedZone))
			g.Expect(ready.Message).To(ContainSubstring("servers run in zone-a, zone-b, zone-c"))
		})
		Consistently(func(g Gomega) {
			jobs := &batchv1.JobList{}
			g.Expect(k8sClient.List(ctx, jobs, client.InNamespace(w.ns))).To(Succeed())
			g.Expect(jobs.Items).To(BeEmpty())
		}).WithTimeout(time.Second).Should(Succeed())

		By("advancing the clock past the start timeout")
		// The poke wakes the controller at once (instead of its 15 s requeue).
		pastStartTimeout(b)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonNoIsolatedZone))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("gave up after 30m0s"))
		})
	})

	It("stops a backup whose pod never starts, so a schedule is not held forever", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("stuck")
		job := jobOf(b)
		eventually(func(g Gomega) { g.Expect(get(b)(g).Status.Phase).To(Equal(v1.BackupPending)) })
		pastStartTimeout(b)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonNotStarted))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("no pod of the Job exists"))
		})
		// Deleted by the pass after the verdict was written (status first, then the Job).
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the stuck Job is deleted")
		})
	})

	It("fails a running backup with NodeLost when its node is gone and the Job's next pod cannot start", func() {
		w := newWorld()
		w.cluster()
		b, job, first, doomed := w.runningBackup("lost")

		By("losing the node: PodGC fails its pod as a disruption, the Job makes another that cannot be scheduled")
		Expect(k8sClient.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: doomed}})).To(Succeed())
		disrupt(first, "DeletionByPodGC", true)
		jobPod(job, "lost-2", "", false)
		jobCounts(job, 1, 0)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupRunning), "it started; it has not failed yet")
			ready := readyCondition(got)
			g.Expect(ready.Reason).To(Equal(v1.ReasonRestarting))
			g.Expect(ready.Message).To(And(ContainSubstring("node "+doomed+" is gone"), ContainSubstring("Unschedulable: 0/3 nodes are available")))
		})

		pastStartTimeout(b)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			ready := readyCondition(got)
			g.Expect(ready.Reason).To(Equal(v1.ReasonNodeLost))
			g.Expect(ready.Message).To(And(ContainSubstring("node "+doomed+" is gone, where the backup pod ran"), ContainSubstring("lost-2: Unschedulable")))
		})
		// The Job is deleted once the Failed status is written (a pass acts after it writes).
		eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Job is deleted: no pod of it starts later")
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "lost")).To(ContainElements(
				ContainSubstring("Warning Restarting: the backup pod stopped on node "+doomed),
				ContainSubstring("Warning NodeLost: node "+doomed+" is gone")))
		})
	})

	It("fails with NodeLost when its node stops answering and its pod is left terminating there", func() {
		w := newWorld()
		w.cluster()
		b, job, pod, silent := w.runningBackup("unreachable")

		By("the node's kubelet going silent: the node lifecycle controller marks it Unknown and the pod not ready, taint eviction deletes the pod, which no kubelet confirms")
		n := &corev1.Node{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: silent}, n)).To(Succeed())
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown",
			Message: "Kubelet stopped posting node status.", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
		Expect(k8sClient.Status().Update(ctx, n)).To(Succeed())
		disrupt(pod, "DeletionByTaintManager", false)
		jobCounts(job, 0, 0)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupRunning))
			ready := readyCondition(got)
			g.Expect(ready.Reason).To(Equal(v1.ReasonRestarting))
			g.Expect(ready.Message).To(And(ContainSubstring("node "+silent+" is not ready since"), ContainSubstring("pod unreachable-1 on node "+silent+" is being deleted")))
		})

		pastStartTimeout(b)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonNodeLost))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("(NodeStatusUnknown), where the backup pod ran"))
		})
	})

	It("carries on when the Job's next pod runs after a drain, and says Restarting meanwhile", func() {
		w := newWorld()
		w.cluster()
		b, job, first, drained := w.runningBackup("moved")

		By("cordoning and draining the node: the pod is evicted, the Job's next one waits")
		n := &corev1.Node{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: drained}, n)).To(Succeed())
		n.Spec.Unschedulable = true
		Expect(k8sClient.Update(ctx, n)).To(Succeed())
		disrupt(first, "EvictionByEvictionAPI", true)
		second := jobPod(job, "moved-2", "", false)
		jobCounts(job, 1, 0)
		eventually(func(g Gomega) {
			ready := readyCondition(get(b)(g))
			g.Expect(ready.Reason).To(Equal(v1.ReasonRestarting))
			g.Expect(ready.Message).To(ContainSubstring("node " + drained + " is cordoned"))
		})
		By("uncordoning the node: the scheduler binds the waiting pod to it and it runs")
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: drained}, n)).To(Succeed())
		n.Spec.Unschedulable = false
		Expect(k8sClient.Update(ctx, n)).To(Succeed())
		Expect(k8sClient.SubResource("binding").Create(ctx, second, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: second.Name, Namespace: second.Namespace},
			Target:     corev1.ObjectReference{Kind: "Node", Name: drained}})).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(second), second)).To(Succeed())
		second.Status.Phase = corev1.PodRunning
		second.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
		Expect(k8sClient.Status().Update(ctx, second)).To(Succeed())
		jobCounts(job, 1, 1)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupRunning))
			g.Expect(got.Status.Placement.Node).To(Equal(drained))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonRunning), "running again, on the same node")
			g.Expect(readyCondition(got).Message).To(ContainSubstring("running on node " + drained))
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "moved")).To(ContainElement(ContainSubstring("Normal Running: Job moved-backup is running on node " + drained)))
		})
		finish(job, 0, report(good("neo4j", "FULL"), good("movies", "FULL")))
		eventually(func(g Gomega) { g.Expect(get(b)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) })
	})

	It("writes one backup at a time into a location: a second waits LocationBusy, naming the first, and starts when it ends", func() {
		w := newWorld()
		w.cluster()
		first := w.backup("first")
		job := jobOf(first)
		eventually(func(g Gomega) { g.Expect(get(first)(g).Status.JobName).To(Equal(job.Name)) })
		second := w.backup("second")
		eventually(func(g Gomega) {
			got := get(second)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPending))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonLocationBusy))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("waiting for Backup first, which writes to neo4j-backups-graph/" + w.ns + "/graph (its backup is running)"))
			g.Expect(got.Status.JobName).To(BeEmpty())
		})
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "second-backup"}, &batchv1.Job{})).NotTo(Succeed(), "no Job for the second while the first runs")
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "second")).To(ContainElement(ContainSubstring("Warning LocationBusy: waiting for Backup first")))
		})

		finish(job, 0, report(good("neo4j", "FULL")))
		eventually(func(g Gomega) {
			g.Expect(get(first)(g).Status.Phase).To(Equal(v1.BackupSucceeded))
			got := get(second)(g)
			g.Expect(got.Status.JobName).To(Equal("second-backup"), "started once the first ended, without waiting for its poll")
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonPending))
		})
	})

	It("waits for a backup pod that still writes to the location after its Backup was deleted (Replace, by hand)", func() {
		w := newWorld()
		w.cluster()
		gone := w.backup("gone")
		job := jobOf(gone)
		pod := jobPod(job, "gone-pod", "node-c", true)
		Expect(k8sClient.Delete(ctx, gone)).To(Succeed()) // Retain: no finalizer
		eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(gone), &v1.Backup{}))).To(BeTrue())
		})
		// As the garbage collector does: the Job goes first, its pod terminates after.
		Expect(k8sClient.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		next := w.backup("next")
		eventually(func(g Gomega) {
			got := get(next)(g)
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonLocationBusy))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("waiting for pod gone-pod, which writes to neo4j-backups-graph/" + w.ns + "/graph (a backup pod still runs there)"))
			g.Expect(got.Status.JobName).To(BeEmpty())
		})
		pod.Status.Phase = corev1.PodFailed
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(get(next)(g).Status.JobName).To(Equal("next-backup")) }).
			WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("prunes no file a running Restore reads: the prune waits for it", func() {
		w := newWorld()
		w.cluster()
		older, _ := w.twoFulls("older", "newer")
		rs := w.restore("reading", func(s *v1.RestoreSpec) { s.Source.BackupName = "older" })
		restoreJob := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "reading-restore"}, restoreJob)).To(Succeed())
		})
		Expect(k8sClient.Delete(ctx, older)).To(Succeed())
		eventually(func(g Gomega) {
			got := get(older)(g)
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonLocationBusy))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("waiting for Restore reading"))
		})
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "older-prune"}, &batchv1.Job{})).NotTo(Succeed())
		finishRestore(restoreJob, 0, result.Restore{Database: "neo4j-restored"})
		eventually(func(g Gomega) { g.Expect(getRestore(g, rs).Status.Phase).To(Equal(v1.RestoreSucceeded)) })
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "older-prune"}, &batchv1.Job{})).To(Succeed())
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("starts Backups of one location created together one at a time, the older first", func() {
		w := newWorld()
		w.cluster()
		var bs []*v1.Backup
		for _, n := range []string{"t1", "t2", "t3", "t4"} {
			bs = append(bs, w.backup(n))
		}
		// Four at once (the controller runs passes side by side): exactly one has a Job.
		Consistently(func(g Gomega) {
			started := 0
			for _, b := range bs {
				if get(b)(g).Status.JobName != "" {
					started++
				}
			}
			g.Expect(started).To(BeNumerically("<=", 1))
		}).WithTimeout(3 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
		eventually(func(g Gomega) { g.Expect(get(bs[0])(g).Status.JobName).To(Equal("t1-backup")) })
		jobs := &batchv1.JobList{}
		Expect(k8sClient.List(ctx, jobs, client.InNamespace(w.ns))).To(Succeed())
		Expect(jobs.Items).To(HaveLen(1))
	})

	It("allows the same zone when asked", func() {
		w := newWorld()
		w.cluster()
		w.server("graph-3", "node-c", true, true)
		b := w.backup("allowed", func(s *v1.BackupSpec) { s.Storage.Zone.AllowSameZone = true })
		jobOf(b)
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Placement).NotTo(BeNil())
			g.Expect(got.Status.Placement.StorageZone).To(Equal("zone-c"), "the zone with the fewest servers that is not the source's (zone-b)")
			g.Expect(got.Status.Placement.CrossZone).To(BeFalse())
		})
	})

	It("reads the zone of a bound claim and refuses it when servers run there", func() {
		w := newWorld()
		w.cluster()
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "pv-" + w.ns, Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/pv"}},
			},
		}
		Expect(k8sClient.Create(ctx, pv)).To(Succeed())
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "existing", Namespace: w.ns},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeName: pv.Name,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
			},
		}
		Expect(k8sClient.Create(ctx, claim)).To(Succeed())
		b := w.backup("bound", func(s *v1.BackupSpec) {
			s.Storage.PersistentVolumeClaim = &v1.ClaimSource{ClaimName: "existing"}
		})
		eventually(func(g Gomega) {
			ready := readyCondition(get(b)(g))
			g.Expect(ready.Reason).To(Equal(v1.ReasonNoIsolatedZone))
			g.Expect(ready.Message).To(ContainSubstring("bound to a volume in zone-a"))
		})
	})

	It("reads its report from its own Job's pods, not from a pod an earlier Job of the name left", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("twice")
		job := jobOf(b)
		// A pod of an earlier Job named "twice" (deleted, its pod not yet), finished later than
		// this Job's, with a report of success: it carries the job-name label, not the owner.
		stale := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "twice-old", Namespace: w.ns,
				Labels: mergeLabels(job.Spec.Template.Labels, map[string]string{batchv1.JobNameLabel: job.Name})},
			Spec: job.Spec.Template.Spec,
		}
		stale.Spec.NodeName = "node-c"
		Expect(k8sClient.Create(ctx, stale)).To(Succeed())
		later := metav1.NewTime(time.Now().Add(time.Hour).Truncate(time.Second))
		stale.Status.Phase = corev1.PodSucceeded
		stale.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: resources.ContainerBackup, Image: "x",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Message: report(good("neo4j", "FULL")), FinishedAt: later, StartedAt: later}}}}
		Expect(k8sClient.Status().Update(ctx, stale)).To(Succeed())

		finish(job, 1, report(result.Database{Name: "neo4j", Member: "graph-1", Zone: "zone-b", Error: "every member failed: graph-1: exit 1: Connection refused"}))
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("Connection refused"))
		})
	})

	It("follows a Job whose labels were rewritten, which the cache never holds", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("relabelled")
		job := jobOf(b)
		// A policy engine rewrites the Job's labels: it drops out of the label-filtered cache.
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
			delete(job.Labels, resources.LabelManagedBy)
			g.Expect(k8sClient.Update(ctx, job)).To(Succeed())
		})
		finish(job, 0, report(good("neo4j", "FULL")))
		// No watch event reaches the Backup for a Job outside the cache: it is followed at the
		// Backup's own requeue (30 s while nothing runs), from live reads.
		Eventually(func(g Gomega) { g.Expect(get(b)(g).Status.Phase).To(Equal(v1.BackupSucceeded)) }).
			WithTimeout(45 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("refuses at once a claim that is being deleted", func() {
		w := newWorld()
		w.cluster()
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "going", Namespace: w.ns, Finalizers: []string{"test.graphkeeper.dev/hold"}},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
			},
		}
		Expect(k8sClient.Create(ctx, claim)).To(Succeed())
		Expect(k8sClient.Delete(ctx, claim)).To(Succeed()) // held by its finalizer, as pvc-protection holds a mounted one
		DeferCleanup(func() {
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			claim.Finalizers = nil
			Expect(k8sClient.Update(ctx, claim)).To(Succeed())
		})
		b := w.backup("onto-going", func(s *v1.BackupSpec) {
			s.Storage.PersistentVolumeClaim = &v1.ClaimSource{ClaimName: "going"}
		})
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonClaimDeleting))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("claim going is being deleted"))
		})
		jobs := &batchv1.JobList{}
		Expect(k8sClient.List(ctx, jobs, client.InNamespace(w.ns))).To(Succeed())
		Expect(jobs.Items).To(BeEmpty())
	})

	It("waits for a missing claim and for a ready server, saying why", func() {
		w := newWorld()
		w.server("graph-0", "node-a", false, false)
		b := w.backup("unready", func(s *v1.BackupSpec) { s.Source.Policy = v1.SourceReadReplicaOnly })
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPending))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonNoSourceMember))
		})
		c := w.backup("noclaim", func(s *v1.BackupSpec) {
			s.Source.Policy = v1.SourceAny
			s.Storage.PersistentVolumeClaim = &v1.ClaimSource{ClaimName: "later"}
		})
		w.server("graph-1", "node-b", false, true)
		eventually(func(g Gomega) {
			g.Expect(readyCondition(get(c)(g)).Reason).To(Equal(v1.ReasonClaimNotFound))
		})
	})

	It("ends PartiallyFailed when one database fails and the others are backed up", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("partial")
		movies := result.Database{Name: "movies", Member: "graph-1", Zone: "zone-b", Error: "every member failed: graph-1: exit 1: store copy failed"}
		finish(jobOf(b), 0, report(good("neo4j", "DIFF"), movies))
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPartiallyFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonPartiallyFailed))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("movies: every member failed"))
			g.Expect(got.Status.Databases).To(ContainElement(And(HaveField("Name", "neo4j"), HaveField("Type", v1.BackupDiff))))
		})
	})

	It("records a 200-database glob beyond its report from its manifest: the phase from its sums, and its prune deletes what the manifest lists", func() {
		w := newWorld()
		w.cluster()
		glob := func(s *v1.BackupSpec) {
			s.Storage.DeletionPolicy, s.Type, s.Databases = v1.DeletionDelete, v1.BackupFull, []string{"tenant-*"}
		}
		// What the agent writes for a run of 200 databases, one of them failed.
		cutReport := func(name, day string, failed int) string {
			var rep result.Backup
			for i := range 200 {
				d := good(fmt.Sprintf("tenant-%03d", i), "FULL")
				d.Artifact = fmt.Sprintf("tenant-%03d-%s.backup", i, day)
				if i == failed {
					d = result.Database{Name: d.Name, Error: "every member failed"}
				}
				rep.Databases = append(rep.Databases, d)
			}
			rep.Manifest = &result.Manifest{File: name + ".json", Digest: "sha256:" + strings.Repeat("a", 64)}
			rep.Manifest.Summarize(rep)
			msg := result.Encode(rep, result.MaxMessage)
			Expect(len(msg)).To(BeNumerically("<=", result.MaxMessage))
			return string(msg)
		}
		first := w.backup("glob-1", glob)
		finish(jobOf(first), 0, cutReport("glob-1-20261128T020000Z", "2026-11-28T02-00-00", 150))
		eventually(func(g Gomega) {
			got := get(first)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPartiallyFailed), "tenant-150, beyond the report, failed")
			g.Expect(readyCondition(got).Message).To(ContainSubstring("more database(s) in manifest glob-1-20261128T020000Z.json (199 of 200 databases clean in all)"))
		})
		second := w.backup("glob-2", glob)
		finish(jobOf(second), 0, cutReport("glob-2-20261129T020000Z", "2026-11-29T02-00-00", -1))
		eventually(func(g Gomega) {
			got := get(second)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupSucceeded), "every database in the manifest is clean")
			g.Expect(got.Status.Type).To(Equal("FULL"))
			g.Expect(got.Status.Manifest).To(Equal(&v1.BackupManifest{File: "glob-2-20261129T020000Z.json", Digest: "sha256:" + strings.Repeat("a", 64),
				Databases: 200, Full: 200, Unlisted: int32(200 - len(got.Status.Databases))}))
			g.Expect(got.Status.Manifest.Unlisted).To(BeNumerically(">", 150))
		})

		By("deleting the older: behind a newer clean FULL of the same glob, pruned, the manifest with its listed artifacts")
		Expect(k8sClient.Delete(ctx, first)).To(Succeed())
		prune := &batchv1.Job{}
		eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "glob-1-prune"}, prune)).To(Succeed())
		})
		args := prune.Spec.Template.Spec.Containers[0].Args
		Expect(args).To(ContainElement("--manifest=glob-1-20261128T020000Z.json@sha256:" + strings.Repeat("a", 64)))
		Expect(args).To(ContainElement("--artifact=tenant-000-2026-11-28T02-00-00.backup"))
		completePrune(prune)
		eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(first), &v1.Backup{}))).To(BeTrue())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, "glob-1")).To(ContainElement(ContainSubstring("and the artifacts manifest glob-1-20261128T020000Z.json lists")))
		})
	})

	It("keeps an inconsistent backup, and one cut short after some databases, as PartiallyFailed: Failed means nothing was written", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("inconsistent")
		bad := good("neo4j", "FULL")
		bad.Consistent = ptr.To(false)
		bad.Error = "backed up, but the consistency check found inconsistencies"
		finish(jobOf(b), 0, report(bad))
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPartiallyFailed))
			g.Expect(got.Status.Databases[0].Artifact).NotTo(BeEmpty())
		})

		cut := w.backup("deadline")
		finish(jobOf(cut), 1, report(good("neo4j", "DIFF"), result.Database{Name: "movies", Error: "neo4j-admin stopped: context canceled"}))
		eventually(func(g Gomega) {
			got := get(cut)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupPartiallyFailed))
			g.Expect(readyCondition(got).Message).To(ContainSubstring("BackoffLimitExceeded"))
		})
	})

	It("ends Failed with the Job's reason and the agent's words", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("failing")
		failed := result.Database{Name: "neo4j", Error: "every member failed: graph-1: exit 1: Unable to connect"}
		finish(jobOf(b), 1, report(failed, result.Database{Name: "movies", Error: "every member failed"}))
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			ready := readyCondition(got)
			g.Expect(ready.Reason).To(Equal(v1.ReasonBackupFailed))
			g.Expect(ready.Message).To(ContainSubstring("BackoffLimitExceeded"))
			g.Expect(ready.Message).To(ContainSubstring("Unable to connect"))
			g.Expect(got.Status.CompletionTime).NotTo(BeNil())
		})
		eventually(func(g Gomega) {
			g.Expect(eventsFor(w.ns, b.Name)).To(ContainElement(ContainSubstring("Warning BackupFailed")))
		})
	})

	It("never trusts a report it cannot read", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("garbage")
		finish(jobOf(b), 0, "backup done\x1b[31m, trust me")
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonInvalidReport))
			g.Expect(readyCondition(got).Message).NotTo(ContainSubstring("\x1b"))
			g.Expect(got.Status.Databases).To(BeEmpty())
		})
	})

	It("leaves a Job that is not its own alone", func() {
		w := newWorld()
		w.cluster()
		foreign := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "taken-backup", Namespace: w.ns},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "x", Image: "busybox"}}}}},
		}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		written := foreign.ResourceVersion
		b := w.backup("taken")
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonJobConflict))
		})
		// Not adopted, not touched at all: the resourceVersion moves on any write to it.
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
		Expect(foreign.ResourceVersion).To(Equal(written))
		Expect(foreign.OwnerReferences).To(BeEmpty())
	})

	It("counts a zone only where the backup pod tolerates a node's taints", func() {
		// zone-t's only node is tainted (the cluster in a box's real node is): a Backup that
		// does not tolerate it cannot run there, so zone-t is no zone for its claim.
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-t", Labels: map[string]string{corev1.LabelTopologyZone: "zone-t"}},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "dedicated", Value: "backups", Effect: corev1.TaintEffectNoSchedule}}}}
		if err := k8sClient.Create(ctx, n); err == nil {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
			Expect(k8sClient.Status().Update(ctx, n)).To(Succeed())
		} else {
			Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
		}
		w := newWorld()
		w.cluster()
		fixed := func(s *v1.BackupSpec) { s.Storage.Zone = v1.ZoneSpec{Policy: v1.ZoneFixed, Name: "zone-t"} }
		refused := w.backup("untolerated", fixed)
		eventually(func(g Gomega) {
			c := readyCondition(get(refused)(g))
			g.Expect(c.Reason).To(Equal("NoNodesInZone"))
			g.Expect(c.Message).To(ContainSubstring("zone-t has no ready node the backup pod can run on"))
		})
		// Another namespace: the refused Backup, older and not started, holds its location.
		w2 := newWorld()
		w2.cluster()
		tolerated := w2.backup("tolerated", fixed, func(s *v1.BackupSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "backups", Effect: corev1.TaintEffectNoSchedule}}
		})
		eventually(func(g Gomega) {
			got := get(tolerated)(g)
			g.Expect(got.Status.JobName).NotTo(BeEmpty(), "%+v", got.Status.Conditions)
			g.Expect(got.Status.Placement.StorageZone).To(Equal("zone-t"))
		})
	})

	It("fails a Backup whose pod the kernel killed for memory with OOMKilled, naming its budget and what to raise", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("oom", func(s *v1.BackupSpec) {
			s.Memory = v1.MemorySpec{HeapSize: ptr.To(resource.MustParse("64Mi")), PageCache: ptr.To(resource.MustParse("32Mi")),
				Overhead: ptr.To(resource.MustParse("8Mi"))}
		})
		job := jobOf(b)
		// The kernel's kill leaves no report: the agent died with the JVM.
		finishAs(job, 137, "OOMKilled", "")
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			c := readyCondition(got)
			g.Expect(c.Reason).To(Equal(v1.ReasonOOMKilled))
			for _, part := range []string{"limit 104Mi", "heap 64Mi (HEAP_SIZE)", "page cache 32Mi (--pagecache)", "overhead 8Mi", "raise spec.memory.overhead"} {
				g.Expect(c.Message).To(ContainSubstring(part))
			}
			g.Expect(eventsFor(w.ns, "oom")).To(ContainElement(ContainSubstring("OOMKilled")))
		})
	})

	It("fails a Backup whose Job was deleted before it finished", func() {
		w := newWorld()
		w.cluster()
		b := w.backup("deleted")
		job := jobOf(b)
		eventually(func(g Gomega) { g.Expect(get(b)(g).Status.JobName).To(Equal(job.Name)) })
		Expect(k8sClient.Delete(ctx, job)).To(Succeed())
		eventually(func(g Gomega) {
			got := get(b)(g)
			g.Expect(got.Status.Phase).To(Equal(v1.BackupFailed))
			g.Expect(readyCondition(got).Reason).To(Equal(v1.ReasonJobDeleted))
		})
	})
})
