package e2e

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
)

// restrictedNamespace makes a namespace whose pods the real API server holds to the restricted
// Pod Security Standard: a backup pod that is not compliant is never created.
func restrictedNamespace(prefix string) string {
	GinkgoHelper()
	nsCount++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   fmt.Sprintf("%s-%d", prefix, nsCount),
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// neo4jServer is a simulated Neo4j server pod, placed in zone by the real scheduler (kwok runs
// no container: the pod only becomes Running and Ready). It is compliant with the restricted
// standard, as the official Helm chart's pods are.
func neo4jServer(ns, name, zone string, replica bool) {
	GinkgoHelper()
	lbls := map[string]string{"app.kubernetes.io/instance": "graph"}
	if replica {
		lbls["neo4j.com/role"] = "secondary"
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls},
		Spec: corev1.PodSpec{
			Hostname: name, Subdomain: "graph",
			Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: cluster.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}}}}}}},
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](7474),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "neo4j", Image: "neo4j:5.26.2-enterprise",
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		},
	}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
}

func waitServersReady(ns string, n int) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/instance": "graph"})).To(Succeed())
		ready := 0
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		g.Expect(ready).To(Equal(n))
	}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
}

func e2eBackup(ns, name string, annotations map[string]string) *v1.Backup {
	GinkgoHelper()
	b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: e2eSpec(annotations)}
	Expect(k8sClient.Create(ctx, b)).To(Succeed())
	return b
}

// e2eSpec backs up neo4j and movies of the simulated cluster "graph" into a claim made from a
// template in the zonal storage class; annotations tell kwok how the backup pod ends.
func e2eSpec(annotations map[string]string) v1.BackupSpec {
	return v1.BackupSpec{
		Cluster: v1.ClusterSpec{
			Name: "graph", Neo4jVersion: "5.26",
			ServerSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}},
			ReadReplicaSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"neo4j.com/role": "secondary"}},
		},
		Databases: []string{"neo4j", "movies"},
		Storage: v1.StorageSpec{PersistentVolumeClaim: &v1.ClaimSource{
			Template: &v1.ClaimTemplate{StorageClassName: ptr.To(cluster.StorageClassName), Size: resource.MustParse("20Gi")},
		}},
		JobOptions: v1.JobOptions{
			Image:        "neo4j:5.26.2-enterprise",
			BackoffLimit: ptr.To[int32](0),
			PodMetadata:  v1.PodMetadata{Annotations: annotations},
		},
	}
}

// simulated is the report a real agent would write for a backup read from graph-1 in zone-b.
func simulated(dbs ...result.Database) string {
	return string(result.Encode(result.Backup{Databases: dbs}, result.MaxMessage))
}

// waitBackup waits until b (read into b) reaches phase.
func waitBackup(b *v1.Backup, phase v1.BackupPhase, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		g.Expect(b.Status.Phase).To(Equal(phase))
	}).WithTimeout(timeout).WithPolling(250 * time.Millisecond).Should(Succeed())
}

func e2eReady(b *v1.Backup) metav1.Condition {
	for _, c := range b.Status.Conditions {
		if c.Type == v1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

var _ = Describe("a Backup on the cluster in a box", func() {
	var ns string
	BeforeEach(func() {
		ns = restrictedNamespace("backup")
		neo4jServer(ns, "graph-0", "zone-a", false)
		neo4jServer(ns, "graph-1", "zone-b", true)
		neo4jServer(ns, "graph-2", "zone-a", true)
		waitServersReady(ns, 3)
	})

	It("is taken from a read replica into zone-c, on a volume bound there, and ends Succeeded across zones", func() {
		msg := simulated(
			result.Database{Name: "neo4j", Type: "FULL", Artifact: "neo4j-2026-11-28T02-00-00.backup", Size: 52428800, LowTx: 1, HighTx: 1200,
				Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"},
			result.Database{Name: "movies", Type: "FULL", Artifact: "movies-2026-11-28T02-00-03.backup", Size: 1048576, LowTx: 1, HighTx: 77,
				Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"},
		)
		b := e2eBackup(ns, "nightly", map[string]string{
			"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": msg, "sim.graphkeeper.dev/delay": "1s"})

		waitBackup(b, v1.BackupSucceeded, 90*time.Second)
		got := *b

		Expect(got.Status.Placement.CrossZone).To(BeTrue())
		Expect(kstatusOf(Default, &got)).To(Equal(kstatus.CurrentStatus), "what Flux and kubectl wait see")
		Expect(got.Status.Placement.StorageZone).To(Equal("zone-c"))
		Expect(got.Status.Placement.ClusterZones).To(Equal([]string{"zone-a", "zone-b"}))
		Expect(got.Status.Placement.SourceMember).To(Equal("graph-1"))
		Expect(got.Status.Size.String()).To(Equal("51Mi"))
		Expect(e2eReady(&got).Status).To(Equal(metav1.ConditionTrue))

		By("the real scheduler placed the backup pod in zone-c")
		pods := &corev1.PodList{}
		Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: got.Status.JobName})).To(Succeed())
		Expect(pods.Items).To(HaveLen(1))
		Expect(pods.Items[0].Spec.NodeName).To(Equal("kwok-zone-c-0"))

		By("the real PV controller bound the operator's claim to a zone-c volume")
		claim := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: got.Status.Storage.ClaimName}, claim)).To(Succeed())
		Expect(claim.Status.Phase).To(Equal(corev1.ClaimBound))
		Expect(claim.Spec.VolumeName).To(HavePrefix("pv-zone-c-"))

		out, err := box.Kubectl(ctx, nil, "get", "backup", "nightly", "-n", ns, "-o", "yaml")
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("kubectl get backup nightly -o yaml:\n%s\n", out)
		out, err = box.Kubectl(ctx, nil, "get", "job", got.Status.JobName, "-n", ns, "-o", "yaml")
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("kubectl get job -o yaml:\n%s\n", out)
		out, err = box.Kubectl(ctx, nil, "get", "nbk", "-n", ns)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("kubectl get nbk:\n%s\n", out)
		Expect(out).To(MatchRegexp(`nightly\s+Succeeded\s+Succeeded\s+FULL\s+graph-1\s+zone-c\s+51Mi`), "Phase, Reason, Type, Source, Zone, Size")
	})

	It("keeps the claim, and the newest chain on it, after the last of its deletionPolicy Delete Backups, with the real garbage collector running", func() {
		// envtest runs no garbage collector: only here is the claim seen to stay when what
		// would own it is gone (a legacy owner reference, which the operator drops).
		withDelete := func(name, artifact string) *v1.Backup {
			b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: e2eSpec(map[string]string{
				"sim.graphkeeper.dev/outcome": "Succeeded",
				"sim.graphkeeper.dev/message": simulated(result.Database{Name: "neo4j", Type: "FULL", Artifact: artifact, Size: 1 << 20,
					LowTx: 1, HighTx: 10, Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"}),
			})}
			b.Spec.Databases, b.Spec.Type, b.Spec.Storage.DeletionPolicy = []string{"neo4j"}, v1.BackupFull, v1.DeletionDelete
			Expect(k8sClient.Create(ctx, b)).To(Succeed())
			waitBackup(b, v1.BackupSucceeded, 90*time.Second)
			return b
		}
		first := withDelete("first", "neo4j-2026-11-28T02-00-00.backup")
		key := client.ObjectKey{Namespace: ns, Name: first.Status.Storage.ClaimName}
		claim := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, key, claim)).To(Succeed())
		Expect(claim.OwnerReferences).To(BeEmpty())
		// As an earlier version left it: owned by the Backup that made it.
		claim.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Backup", Name: "first", UID: first.UID}}
		Expect(k8sClient.Update(ctx, claim)).To(Succeed())
		second := withDelete("second", "neo4j-2026-11-29T02-00-00.backup")
		Expect(k8sClient.Get(ctx, key, claim)).To(Succeed())
		Expect(claim.OwnerReferences).To(BeEmpty(), "disowned when the second started")

		gone := func(obj client.Object) {
			GinkgoHelper()
			Eventually(func(g Gomega) {
				err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "still there: %v", err)
			}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		}
		By("both Backups deleted: the older's artifact is pruned, the newest chain's kept, and the claim stays")
		Expect(k8sClient.Delete(ctx, first)).To(Succeed())
		gone(first)
		Expect(k8sClient.Delete(ctx, second)).To(Succeed())
		gone(second)
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, claim)).To(Succeed())
			g.Expect(claim.DeletionTimestamp).To(BeNil())
		}).WithTimeout(10 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		out, err := box.Kubectl(ctx, nil, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=second")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("ArtifactsKept"))
	})

	It("ends Failed with the reason when the backup pod fails", func() {
		msg := simulated(
			result.Database{Name: "neo4j", Error: "every member failed: graph-1: exit 1: Unable to connect to graph-1:6362"},
			result.Database{Name: "movies", Error: "every member failed: graph-1: exit 1: Unable to connect to graph-1:6362"},
		)
		b := e2eBackup(ns, "unreachable", map[string]string{
			"sim.graphkeeper.dev/outcome": "Failed", "sim.graphkeeper.dev/exit-code": "1", "sim.graphkeeper.dev/message": msg})
		waitBackup(b, v1.BackupFailed, 90*time.Second)
		got := *b
		ready := e2eReady(&got)
		Expect(kstatusOf(Default, &got)).To(Equal(kstatus.FailedStatus))
		Expect(ready.Reason).To(Equal(v1.ReasonBackupFailed))
		Expect(ready.Message).To(ContainSubstring("Unable to connect to graph-1:6362"))
		Expect(ready.Message).To(ContainSubstring("BackoffLimitExceeded"))

		out, err := box.Kubectl(ctx, nil, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=unreachable")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("BackupFailed"))
	})

	It("refuses a cluster spread over every zone with NoIsolatedZone and creates no Job", func() {
		neo4jServer(ns, "graph-3", "zone-c", true)
		waitServersReady(ns, 4)
		b := e2eBackup(ns, "nowhere", nil)
		Eventually(func(g Gomega) {
			var got v1.Backup
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), &got)).To(Succeed())
			g.Expect(e2eReady(&got).Reason).To(Equal(v1.ReasonNoIsolatedZone))
			g.Expect(e2eReady(&got).Message).To(ContainSubstring("servers run in zone-a, zone-b, zone-c"))
			g.Expect(kstatusOf(g, &got)).To(Equal(kstatus.InProgressStatus), "still waiting, not failed yet")
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		jobs := &batchv1.JobList{}
		Expect(k8sClient.List(ctx, jobs, client.InNamespace(ns))).To(Succeed())
		Expect(jobs.Items).To(BeEmpty())
		out, err := box.Kubectl(ctx, nil, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=nowhere", "-o", "name")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(out)).NotTo(BeEmpty())
	})
})
