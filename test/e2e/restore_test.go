package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
)

// A Volume restore of a Backup taken on the cluster in a box: the restore pod runs in the backup
// zone (zone-c) with the backup claim read-only and a new server's claim, which the real PV
// controller binds in zone-c too. kwok ends the pod with the agent's report, as for backups.
var _ = Describe("a Restore on the cluster in a box", func() {
	var ns string
	BeforeEach(func() {
		ns = restrictedNamespace("restore")
		neo4jServer(ns, "graph-0", "zone-a", false)
		neo4jServer(ns, "graph-1", "zone-b", true)
		waitServersReady(ns, 2)
		msg := simulated(result.Database{Name: "neo4j", Type: "FULL", Artifact: "neo4j-2026-11-28T02-00-00.backup", Size: 4096,
			LowTx: 1, HighTx: 42, Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"})
		spec := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": msg})
		spec.Databases = []string{"neo4j"}
		b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns}, Spec: spec}
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		waitBackup(b, v1.BackupSucceeded, 90*time.Second)

		target := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "new-server-data", Namespace: ns},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(cluster.StorageClassName),
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
			},
		}
		Expect(k8sClient.Create(ctx, target)).To(Succeed())
	})

	restoreWith := func(name string, annotations map[string]string) *v1.Restore {
		rs := &v1.Restore{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1.RestoreSpec{
				Source: v1.RestoreSource{BackupName: "nightly"}, Database: "neo4j", TargetDatabase: "neo4j",
				Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26"}, Mode: v1.RestoreVolume,
				Target:     &v1.RestoreTarget{ClaimName: "new-server-data"},
				JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise", BackoffLimit: ptr.To[int32](0), PodMetadata: v1.PodMetadata{Annotations: annotations}},
			},
		}
		Expect(k8sClient.Create(ctx, rs)).To(Succeed())
		return rs
	}

	It("restores the Backup's chain into a new server's claim in the backup zone", func() {
		rep := string(result.EncodeRestore(result.Restore{Database: "neo4j", Chain: []string{"neo4j-2026-11-28T02-00-00.backup"}}, result.MaxMessage))
		rs := restoreWith("volume", map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": rep})
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rs), rs)).To(Succeed())
			g.Expect(rs.Status.Phase).To(Equal(v1.RestoreSucceeded))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(rs.Status.Chain).To(Equal([]string{"neo4j-2026-11-28T02-00-00.backup"}))
		Expect(rs.Status.RestoredUntilTx).To(BeEquivalentTo(42))

		target := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "new-server-data"}, target)).To(Succeed())
		Expect(target.Spec.VolumeName).To(HavePrefix("pv-zone-c-"))
		out, err := box.Kubectl(ctx, nil, "get", "restore", "volume", "-n", ns, "-o", "yaml")
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("kubectl get restore volume -o yaml:\n%s\n", out)
	})

	It("is refused with TargetExists when the database is already there", func() {
		rep := string(result.EncodeRestore(result.Restore{Database: "neo4j", Reason: "TargetExists",
			Error: "database neo4j already exists in /data; set replaceExisting to replace it"}, result.MaxMessage))
		rs := restoreWith("exists", map[string]string{"sim.graphkeeper.dev/outcome": "Failed", "sim.graphkeeper.dev/exit-code": "3", "sim.graphkeeper.dev/message": rep})
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rs), rs)).To(Succeed())
			g.Expect(rs.Status.Phase).To(Equal(v1.RestoreFailed))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		for _, c := range rs.Status.Conditions {
			if c.Type == v1.ConditionReady {
				Expect(c.Reason).To(Equal(v1.ReasonTargetExists))
				Expect(c.Message).To(ContainSubstring("set replaceExisting"))
			}
		}
	})

	It("seeds the Backup online into the running cluster, serving it from the backup zone, and removes the server afterwards", func() {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "neo4j-restorer", Namespace: ns},
			StringData: map[string]string{"username": "restorer", "password": "e2e-Pw-7c1f"}})).To(Succeed())
		rep := string(result.EncodeRestore(result.Restore{Database: "neo4j-copy", Chain: []string{"neo4j-2026-11-28T02-00-00.backup"}}, result.MaxMessage))
		rs := &v1.Restore{
			ObjectMeta: metav1.ObjectMeta{Name: "online", Namespace: ns},
			Spec: v1.RestoreSpec{
				Source: v1.RestoreSource{BackupName: "nightly"}, Database: "neo4j", TargetDatabase: "neo4j-copy",
				Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26",
					ServerSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "graph"}}},
				Mode:              v1.RestoreSeedFromURI,
				CredentialsSecret: &v1.CredentialsSecret{Name: "neo4j-restorer"},
				// The seed Job's pod (kwok: no containers run) ends after 4 s with the agent's report;
				// the seed server's pod keeps running until the operator deletes it.
				JobOptions: v1.JobOptions{Image: "neo4j:5.26.2-enterprise", PodMetadata: v1.PodMetadata{Annotations: map[string]string{
					"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/delay": "4s", "sim.graphkeeper.dev/message": rep}}},
			},
		}
		Expect(k8sClient.Create(ctx, rs)).To(Succeed())

		By("the seed server runs in the backup zone, behind its Service, while the seed Job runs")
		Eventually(func(g Gomega) {
			pods := &corev1.PodList{}
			g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/component": "seed-server"})).To(Succeed())
			g.Expect(pods.Items).To(HaveLen(1))
			g.Expect(pods.Items[0].Spec.NodeName).To(Equal("kwok-zone-c-0"))
			g.Expect(pods.Items[0].Status.Phase).To(Equal(corev1.PodRunning))
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "online-seed-server"}, &corev1.Service{})).To(Succeed())
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rs), rs)).To(Succeed())
			g.Expect(rs.Status.Phase).To(Equal(v1.RestoreSucceeded))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(rs.Status.SeedURI).To(Equal("http://online-seed-server." + ns + ".svc:8080/neo4j-2026-11-28T02-00-00.backup"))
		Expect(rs.Status.RestoredUntilTx).To(BeEquivalentTo(42))

		By("nothing the restore started outlives it")
		Eventually(func(g Gomega) {
			pods := &corev1.PodList{}
			g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/component": "seed-server"})).To(Succeed())
			g.Expect(pods.Items).To(BeEmpty())
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "online-seed-server"}, &corev1.Service{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Service: %v", err)
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		out, err := box.Kubectl(ctx, nil, "get", "restore", "online", "-n", ns, "-o", "yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).NotTo(ContainSubstring("e2e-Pw-7c1f"))
		GinkgoWriter.Printf("kubectl get restore online -o yaml:\n%s\n", out)
	})
})
