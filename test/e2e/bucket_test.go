package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
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

// Pods are simulated here (kwok): nothing reaches a bucket. What is real is what Kubernetes makes
// of the Job: the scheduler places a pod pinned to no zone, the ephemeral volume controller makes
// its staging claim, the PV controller binds it where the pod went, and the operator reads the
// outcome into status.
var _ = Describe("a BackupSchedule into a bucket on the cluster in a box", func() {
	It("takes backups into s3:// from any zone, stages on an ephemeral volume freed when the backup ends, and records the bucket as cross-zone", func() {
		ns := restrictedNamespace("bucket")
		neo4jServer(ns, "graph-0", "zone-a", false)
		neo4jServer(ns, "graph-1", "zone-b", true)
		neo4jServer(ns, "graph-2", "zone-c", true) // every zone holds a server: a volume could go nowhere
		waitServersReady(ns, 3)
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-backup", Namespace: ns},
			StringData: map[string]string{"credentials": "[default]\naws_access_key_id=placeholder\naws_secret_access_key=placeholder\n"}})).To(Succeed())

		msg := simulated(result.Database{Name: "neo4j", Type: "FULL", Artifact: "neo4j-2026-11-28T02-00-00.backup", Size: 4096,
			LowTx: 1, HighTx: 10, Consistent: ptr.To(true), Member: "graph-1", Zone: "zone-b"})
		// A few seconds running: long enough to look at the pod and its staging claim.
		tmpl := e2eSpec(map[string]string{"sim.graphkeeper.dev/outcome": "Succeeded", "sim.graphkeeper.dev/message": msg, "sim.graphkeeper.dev/delay": "8s"})
		tmpl.Databases = []string{"neo4j"}
		tmpl.Storage = v1.StorageSpec{ObjectStore: &v1.ObjectStoreSpec{
			URI: "s3://graph-backups/neo4j", Endpoint: "http://minio.storage:9000", Region: "us-east-1",
			Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"},
			Staging:     &v1.ClaimTemplate{StorageClassName: ptr.To(cluster.StorageClassName), Size: resource.MustParse("10Gi")},
		}}
		s := &v1.BackupSchedule{
			ObjectMeta: metav1.ObjectMeta{Name: "to-s3", Namespace: ns},
			Spec:       v1.BackupScheduleSpec{Schedule: "* * * * *", Template: tmpl},
		}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())

		By("while the first backup runs: its Job, its pod pinned to no zone, and the pod's staging claim")
		var running v1.Backup
		Eventually(func(g Gomega) {
			list := &v1.BackupList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{v1.ScheduleLabel: s.Name})).To(Succeed())
			g.Expect(list.Items).NotTo(BeEmpty())
			running = list.Items[0]
			g.Expect(running.Status.Phase).To(Equal(v1.BackupRunning))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		job := &batchv1.Job{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: running.Status.JobName}, job)).To(Succeed())
		pod := job.Spec.Template.Spec
		Expect(pod.Affinity).To(BeNil())
		c := pod.Containers[0]
		Expect(c.Args).To(ContainElements("--dir=s3://graph-backups/neo4j/"+ns+"/graph", "--temp-dir=/staging/tmp"))
		Expect(c.Env).To(ContainElements(
			corev1.EnvVar{Name: "AWS_ENDPOINT_URL_S3", Value: "http://minio.storage:9000"},
			corev1.EnvVar{Name: "AWS_REGION", Value: "us-east-1"},
			corev1.EnvVar{Name: "AWS_SHARED_CREDENTIALS_FILE", Value: "/var/lib/neo4j/.aws/credentials"},
			corev1.EnvVar{Name: "AWS_CONFIG_FILE", Value: "/var/lib/neo4j/.aws/config"}))
		Expect(c.VolumeMounts).To(ContainElements(
			corev1.VolumeMount{Name: "bucket-credentials", MountPath: "/var/lib/neo4j/.aws", ReadOnly: true},
			corev1.VolumeMount{Name: "staging", MountPath: "/staging"}))
		for _, v := range pod.Volumes {
			Expect(v.PersistentVolumeClaim).To(BeNil(), "no backup claim")
		}
		pods := &corev1.PodList{}
		Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: job.Name})).To(Succeed())
		Expect(pods.Items).To(HaveLen(1))
		p := pods.Items[0]
		staging := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name + "-staging"}, staging)).To(Succeed(),
			"the real ephemeral volume controller made the pod's staging claim")
		Expect(staging.OwnerReferences).To(ContainElement(HaveField("UID", p.UID)), "it goes with the pod")
		Expect(staging.Status.Phase).To(Equal(corev1.ClaimBound))
		node := &corev1.Node{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: p.Spec.NodeName}, node)).To(Succeed())
		Expect(staging.Spec.VolumeName).To(HavePrefix("pv-"+node.Labels[corev1.LabelTopologyZone]+"-"), "bound where the scheduler put the pod")

		By("once it ends: the status names the bucket folder and the placement a bucket has")
		done := running
		waitBackup(&done, v1.BackupSucceeded, 90*time.Second)
		Expect(done.Status.Storage).To(Equal(&v1.StorageLocation{URI: "s3://graph-backups", Path: "neo4j/" + ns + "/graph", Endpoint: "http://minio.storage:9000"}))
		Expect(done.Status.Placement.Bucket).To(Equal("s3://graph-backups"))
		Expect(done.Status.Placement.Region).To(Equal("us-east-1"))
		Expect(done.Status.Placement.CrossZone).To(BeTrue(), "a regional bucket is cross-zone whatever zones the servers hold")
		Expect(done.Status.Placement.StorageZone).To(BeEmpty())
		Expect(e2eReady(&done).Status).To(Equal(metav1.ConditionTrue))
		Eventually(func(g Gomega) {
			got := &v1.BackupSchedule{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
			g.Expect(got.Status.LastSuccessfulBackup).NotTo(BeEmpty()) // this one, or the next slot's
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		By("its Job is deleted, and the real garbage collector takes the pod and its staging claim")
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name + "-staging"}, &corev1.PersistentVolumeClaim{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "staging claim: %v", err)
			err = k8sClient.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Job: %v", err)
		}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "neo4j-backups-graph"}, &corev1.PersistentVolumeClaim{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no backup claim is made for a bucket: %v", err)

		out, err := box.Kubectl(ctx, nil, "get", "nbk", "-n", ns, "-o", "wide")
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("kubectl get nbk -o wide:\n%s\n", out)
	})
})
