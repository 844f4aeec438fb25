package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
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
	"github.com/graphkeeper/neo4j-backup-operator/test/images"
)

// realNeo4jImage is the Neo4j image stand-in the suite builds into the real node (test/images):
// the official image's layout with the strict neo4j-admin and cypher-shell stand-ins.
const realNeo4jImage = "neo4j:5.26.2-enterprise"

// On the real node the pods really run: the init container copies the agent out of the operator
// image built from the same binary as the operator under test, the agent runs the stand-in
// neo4j-admin inside the Neo4j image stand-in, the artifacts land on a local volume (a folder of
// the run's), and what the Backup says comes from the real termination message. The Neo4j
// servers are still kwok's pods: the stand-in reads no network (it plays the server's answers).
var _ = Describe("the real node", Ordered, func() {
	var ns string
	var full, diff *v1.Backup

	BeforeAll(func() {
		ns = restrictedNamespace("real")
		neo4jServer(ns, "graph-0", "zone-a", false)
		neo4jServer(ns, "graph-1", "zone-b", true)
		waitServersReady(ns, 2)
	})

	It("runs a Backup's pod for real: the agent from the operator image, the artifacts on a local volume owned by 7474, the termination message as the status; the next Backup is a DIFF", func() {
		full = realBackup(ns, "first", nil)
		waitBackup(full, v1.BackupSucceeded, 2*time.Minute)
		Expect(full.Status.Databases).To(HaveLen(2))
		for _, d := range full.Status.Databases {
			Expect(d.Type).To(Equal(v1.BackupFull), "%s", d.Name)
		}
		pod := jobPodOf(ns, full.Status.JobName)
		Expect(pod.Spec.NodeName).To(Equal(box.Node.Name), "the backup pod ran on the real node")
		Expect(pod.Status.InitContainerStatuses).To(HaveLen(1))
		Expect(pod.Status.InitContainerStatuses[0].State.Terminated).NotTo(BeNil())
		Expect(pod.Status.InitContainerStatuses[0].State.Terminated.ExitCode).To(BeZero())

		By("the status is the report the agent wrote to /dev/termination-log")
		term := pod.Status.ContainerStatuses[0].State.Terminated
		Expect(term).NotTo(BeNil())
		rep, err := result.Decode([]byte(term.Message))
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Databases).To(HaveLen(2))
		for i, d := range rep.Databases {
			st := full.Status.Databases[slices.IndexFunc(full.Status.Databases, func(s v1.DatabaseResult) bool { return s.Name == d.Name })]
			Expect(st.Artifact).To(Equal(d.Artifact), "database %d", i)
			Expect(st.HighestTx).To(Equal(d.HighTx))
		}

		By("the artifacts are files on the real volume, written as 7474, in a folder of group 7474 (fsGroup)")
		folder := backupFolder(full)
		for _, d := range full.Status.Databases {
			st, err := os.Stat(filepath.Join(folder, d.Artifact))
			Expect(err).NotTo(HaveOccurred(), "artifact %s", d.Artifact)
			Expect(st.Sys().(*syscall.Stat_t).Uid).To(BeEquivalentTo(7474))
			Expect(st.Size()).To(BeEquivalentTo(d.SizeBytes))
		}
		root, err := os.Stat(filepath.Dir(filepath.Dir(folder)))
		Expect(err).NotTo(HaveOccurred())
		Expect(root.Sys().(*syscall.Stat_t).Gid).To(BeEquivalentTo(7474), "the kubelet applied fsGroup to the local volume")

		By("the log is the real container's, through the API server and the kubelet")
		log := podLog(ns, pod.Name, "backup")
		Expect(log).To(ContainSubstring("agent: neo4j-admin database backup"))
		Expect(log).NotTo(ContainSubstring("contract violation"))
		manifest, err := box.Kubectl(ctx, nil, "get", "pod", pod.Name, "-n", ns, "-o", "yaml")
		Expect(err).NotTo(HaveOccurred())
		_, status, _ := strings.Cut(manifest, "\nstatus:\n")
		GinkgoWriter.Printf("kubectl get pod %s -o yaml (its status):\nstatus:\n%s\nkubectl logs %s -c backup:\n%s\n", pod.Name, status, pod.Name, log)

		By("a second Backup of the same location is a DIFF of the first")
		diff = realBackup(ns, "second", nil)
		waitBackup(diff, v1.BackupSucceeded, 2*time.Minute)
		for _, d := range diff.Status.Databases {
			Expect(d.Type).To(Equal(v1.BackupDiff), "%s", d.Name)
			Expect(filepath.Join(backupFolder(diff), d.Artifact)).To(BeARegularFile())
		}
	})

	It("is held to the restricted profile by the kubelet: non-root, no capabilities, no privilege escalation, seccomp", func() {
		pod := jobPodOf(ns, full.Status.JobName)
		// The agent's first line says how the kernel runs it.
		Expect(podLog(ns, pod.Name, "backup")).To(MatchRegexp(
			`agent backup: running as uid 7474 gid 7474 groups \[[0-9 ]*7474[0-9 ]*\]; effective capabilities 0000000000000000; no_new_privs 1; seccomp filter`))

		By("a container whose image runs as root is refused by the kubelet under runAsNonRoot")
		root := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "as-root", Namespace: ns},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Tolerations: []corev1.Toleration{cluster.RealToleration},
				NodeSelector:    map[string]string{cluster.ZoneLabel: cluster.RealZone},
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "neo4j", Image: realNeo4jImage, ImagePullPolicy: corev1.PullNever,
					Command: []string{"neo4j-admin", "--version"}, SecurityContext: restrictedContainer()}},
			},
		}
		Expect(k8sClient.Create(ctx, root)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(root), root)).To(Succeed())
			g.Expect(root.Status.ContainerStatuses).To(HaveLen(1))
			w := root.Status.ContainerStatuses[0].State.Waiting
			g.Expect(w).NotTo(BeNil())
			g.Expect(w.Reason).To(Equal("CreateContainerConfigError"))
			g.Expect(w.Message).To(ContainSubstring("runAsNonRoot and image will run as root"))
		}).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(k8sClient.Delete(ctx, root)).To(Succeed())
	})

	It("restores the FULL + DIFF chain from the read-only backup mount into a target claim, the files on disk", func() {
		rs, target := realVolumeRestore(ns, "chain", diff.Name, "restored")
		chain := []string{artifactOf(full, "neo4j"), artifactOf(diff, "neo4j")}
		Expect(rs.Status.Chain).To(Equal(chain))

		By("the restored database is on the target volume, made from both artifacts")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(target), target)).To(Succeed())
		restored, err := os.ReadFile(filepath.Join(volumePath(target.Spec.VolumeName), "databases", "neo4j", "restored-from"))
		Expect(err).NotTo(HaveOccurred())
		for _, a := range chain {
			Expect(string(restored)).To(ContainSubstring(a))
		}
	})

	It("backs up into an S3 bucket served in the pod network and restores from it: the real agent and neo4j-admin stand-in reach it through the AWS SDK with the Secret's files", func() {
		bin := filepath.Join(box.Dir, "s3server")
		Expect(images.Binary(ctx, "test/cmd/s3server", bin)).To(Succeed())
		srv, err := box.StartInPodNetwork("s3server", bin, "--listen=:9000", "--buckets=graph-backups")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = srv.Stop(5 * time.Second) })
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-backup", Namespace: ns},
			StringData: map[string]string{"credentials": "[default]\naws_access_key_id=graph\naws_secret_access_key=placeholder\n"}})).To(Succeed())
		inS3 := func(s *v1.BackupSpec) {
			s.Databases = []string{"neo4j"}
			s.Storage = v1.StorageSpec{ObjectStore: &v1.ObjectStoreSpec{
				URI: "s3://graph-backups/neo4j", Endpoint: "http://" + cluster.PodGateway + ":9000", Region: "us-east-1",
				Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"},
				Staging:     &v1.ClaimTemplate{StorageClassName: ptr.To(cluster.RealStorageClassName), Size: resource.MustParse("1Gi")},
			}}
		}
		first := realBackup(ns, "s3-first", inS3)
		waitBackup(first, v1.BackupSucceeded, 2*time.Minute)
		Expect(first.Status.Storage).To(Equal(&v1.StorageLocation{URI: "s3://graph-backups", Path: "neo4j/" + ns + "/graph", Endpoint: "http://" + cluster.PodGateway + ":9000"}))
		Expect(first.Status.Databases).To(HaveLen(1))
		d := first.Status.Databases[0]
		Expect(d.Type).To(Equal(v1.BackupFull))
		Expect(d.ConsistencyCheck).To(Equal("Passed"), "checked in the bucket: database check --from-path=s3://…")
		Expect(first.Status.Placement.Bucket).To(Equal("s3://graph-backups"))
		Expect(first.Status.Placement.CrossZone).To(BeTrue())
		Expect(first.Status.Placement.Node).To(Equal(box.Node.Name), "the staging volume is on the real node, so the pod was")
		// The Job, its pod and its staging claim go once the backup ends; the S3 server's log
		// shows what the pod did.
		requests, err := os.ReadFile(srv.Log())
		Expect(err).NotTo(HaveOccurred())
		Expect(string(requests)).To(ContainSubstring("PUT /graph-backups/neo4j/" + ns + "/graph/" + d.Artifact))
		GinkgoWriter.Printf("s3server log:\n%s\n", requests)

		second := realBackup(ns, "s3-second", inS3)
		waitBackup(second, v1.BackupSucceeded, 2*time.Minute)
		Expect(second.Status.Databases[0].Type).To(Equal(v1.BackupDiff), "the DIFF found its chain in the bucket")
		Expect(second.Status.Databases[0].LowestTx).To(Equal(d.HighestTx + 1))

		By("a Volume restore of the DIFF reads the chain from the bucket into the target claim")
		rs, target := realVolumeRestore(ns, "from-s3", second.Name, "restored-from-s3")
		chain := []string{artifactOf(first, "neo4j"), artifactOf(second, "neo4j")}
		Expect(rs.Status.Chain).To(Equal(chain))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(target), target)).To(Succeed())
		restored, err := os.ReadFile(filepath.Join(volumePath(target.Spec.VolumeName), "databases", "neo4j", "restored-from"))
		Expect(err).NotTo(HaveOccurred())
		for _, a := range chain {
			Expect(string(restored)).To(ContainSubstring(a))
		}
		left, err := os.ReadDir(volumePath(target.Spec.VolumeName))
		Expect(err).NotTo(HaveOccurred())
		for _, e := range left {
			Expect(e.Name()).NotTo(Equal(".neo4j-restore-tmp"), "the chain's download is removed")
		}
	})

	It("fails a Backup the kernel kills for memory with OOMKilled, naming heap, page cache, overhead and limit", func() {
		b := realBackup(ns, "too-small", func(s *v1.BackupSpec) {
			// The stand-in JVM takes its whole heap and page cache and 48m of its own: more
			// than 8Mi of overhead leaves.
			s.Memory = v1.MemorySpec{HeapSize: ptr.To(resource.MustParse("64Mi")), PageCache: ptr.To(resource.MustParse("32Mi")),
				Overhead: ptr.To(resource.MustParse("8Mi"))}
		})
		waitBackup(b, v1.BackupFailed, 2*time.Minute)
		c := backupReady(b)
		Expect(c.Reason).To(Equal(v1.ReasonOOMKilled))
		for _, part := range []string{"limit 104Mi", "heap 64Mi (HEAP_SIZE)", "page cache 32Mi (--pagecache)", "overhead 8Mi", "raise spec.memory.overhead"} {
			Expect(c.Message).To(ContainSubstring(part))
		}
		pod := jobPodOf(ns, b.Status.JobName)
		Expect(pod.Status.ContainerStatuses[0].State.Terminated.Reason).To(Equal("OOMKilled"))
		GinkgoWriter.Printf("Backup too-small: %s: %s\n", c.Reason, c.Message)
	})

	It("prunes real files when Backups are deleted under deletionPolicy Delete, and nothing else", func() {
		pns := restrictedNamespace("realprune")
		neo4jServer(pns, "graph-0", "zone-a", false)
		neo4jServer(pns, "graph-1", "zone-b", true)
		waitServersReady(pns, 2)
		del := func(s *v1.BackupSpec) { s.Storage.DeletionPolicy = v1.DeletionDelete }
		oldFull := realBackup(pns, "old-full", del)
		waitBackup(oldFull, v1.BackupSucceeded, 2*time.Minute)
		oldDiff := realBackup(pns, "old-diff", del)
		waitBackup(oldDiff, v1.BackupSucceeded, 2*time.Minute)
		newFull := realBackup(pns, "new-full", func(s *v1.BackupSpec) { del(s); s.Type = v1.BackupFull })
		waitBackup(newFull, v1.BackupSucceeded, 2*time.Minute)

		folder := backupFolder(newFull)
		// Files that are no Backup's: another tool's notes in the folder, another team's folder.
		Expect(os.WriteFile(filepath.Join(folder, "README.txt"), []byte("not a backup\n"), 0o644)).To(Succeed())
		other := filepath.Join(filepath.Dir(filepath.Dir(folder)), "other-team")
		Expect(os.MkdirAll(other, 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(other, "keep.backup"), []byte("theirs\n"), 0o644)).To(Succeed())
		before := listTree(filepath.Dir(filepath.Dir(folder)))

		Expect(k8sClient.Delete(ctx, oldDiff)).To(Succeed())
		Expect(k8sClient.Delete(ctx, oldFull)).To(Succeed())
		for _, b := range []*v1.Backup{oldDiff, oldFull} {
			Eventually(func() bool {
				return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), &v1.Backup{}))
			}).WithTimeout(2*time.Minute).WithPolling(250*time.Millisecond).Should(BeTrue(), "Backup %s deleted after its prune", b.Name)
		}
		var gone []string
		for _, b := range []*v1.Backup{oldFull, oldDiff} {
			for _, d := range b.Status.Databases {
				rel, _ := filepath.Rel(filepath.Dir(filepath.Dir(folder)), filepath.Join(folder, d.Artifact))
				gone = append(gone, rel)
			}
		}
		want := slices.DeleteFunc(slices.Clone(before), func(p string) bool { return slices.Contains(gone, p) })
		Expect(listTree(filepath.Dir(filepath.Dir(folder)))).To(Equal(want), "exactly the deleted Backups' artifacts are gone")
		for _, d := range newFull.Status.Databases {
			Expect(filepath.Join(folder, d.Artifact)).To(BeARegularFile())
		}
	})

	It("drills a schedule's newest backup in the storage zone: the scratch claim bound on the real node, checked, and removed; the schedule says Verified", func() {
		dns := restrictedNamespace("realdrill")
		neo4jServer(dns, "graph-0", "zone-a", false)
		neo4jServer(dns, "graph-1", "zone-b", true)
		waitServersReady(dns, 2)
		s := &v1.BackupSchedule{
			ObjectMeta: metav1.ObjectMeta{Name: "drilled", Namespace: dns, Annotations: map[string]string{v1.TriggerAnnotation: "now"}},
			Spec: v1.BackupScheduleSpec{Schedule: "0 0 1 1 *", Template: realBackupSpec(nil), Verify: &v1.VerifySpec{
				Schedule: "* * * * *", Scratch: v1.ClaimTemplate{StorageClassName: ptr.To(cluster.RealStorageClassName), Size: resource.MustParse("1Gi")}}},
		}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		// A drill a minute takes a volume of the real node each: the schedule stops with the spec.
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, s))).To(Succeed()) })

		By("the triggered backup succeeds; the next minute's drill restores it")
		var drill v1.Restore
		var bound *corev1.PersistentVolumeClaim
		Eventually(func(g Gomega) {
			list := &v1.RestoreList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(dns))).To(Succeed())
			g.Expect(list.Items).NotTo(BeEmpty())
			drill = list.Items[0]
			if bound == nil {
				// Seen while the drill runs: deleted once it has ended.
				claim := &corev1.PersistentVolumeClaim{}
				if k8sClient.Get(ctx, client.ObjectKey{Namespace: dns, Name: drill.Name + "-scratch"}, claim) == nil && claim.Status.Phase == corev1.ClaimBound {
					bound = claim
				}
			}
			g.Expect(restoreDone(drill.Status.Phase)).To(BeTrue())
		}).WithTimeout(3 * time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
		Expect(drill.Status.Phase).To(Equal(v1.RestoreSucceeded), "%+v", drill.Status.Conditions)
		Expect(drill.Spec.Mode).To(Equal(v1.RestoreVerify))
		Expect(drill.Status.Verification).NotTo(BeNil())
		Expect(drill.Status.Verification.Consistent).To(BeTrue())
		Expect(drill.Status.Verification.RestoreDuration.Duration).To(BeNumerically(">", 0))
		Expect(drill.Status.Verification.CheckDuration.Duration).To(BeNumerically(">", 0))
		// Its Job and pods are gone with the claim (they would hold it); the status keeps the node.
		Expect(drill.Status.Node).To(Equal(box.Node.Name), "the drill ran in the storage zone, on the real node")

		By("its scratch claim was bound to a volume of the real node, holds the restored store, and is gone")
		Expect(bound).NotTo(BeNil(), "the scratch claim was never seen bound")
		pv := &corev1.PersistentVolume{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: bound.Spec.VolumeName}, pv)).To(Succeed())
		Expect(pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values).To(ContainElement(box.Node.Name))
		restored, err := os.ReadFile(filepath.Join(volumePath(pv.Name), "databases", "neo4j", "restored-from"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(restored)).To(ContainSubstring(drill.Status.Chain[0]))
		Expect(filepath.Join(volumePath(pv.Name), "drill-report")).NotTo(BeADirectory(), "a consistent check leaves no report")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(bound), &corev1.PersistentVolumeClaim{}))
		}).WithTimeout(time.Minute).WithPolling(250*time.Millisecond).Should(BeTrue(), "the scratch claim outlived the drill")

		By("the schedule says Verified, and the Backup that the drill proved says so")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
			var c *metav1.Condition
			for i := range s.Status.Conditions {
				if s.Status.Conditions[i].Type == v1.ConditionVerified {
					c = &s.Status.Conditions[i]
				}
			}
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(s.Status.Verification.LastVerifiedBackup).To(Equal(drill.Spec.Source.BackupName))
			b := &v1.Backup{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dns, Name: drill.Spec.Source.BackupName}, b)).To(Succeed())
			g.Expect(b.Status.Verification).NotTo(BeNil())
			g.Expect(b.Status.Verification.Consistent).To(BeTrue())
		}).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("drill %s of %s: restore %s, check %s\n", drill.Name, drill.Spec.Source.BackupName,
			drill.Status.Verification.RestoreDuration.Duration, drill.Status.Verification.CheckDuration.Duration)
	})

	It("computes a Europe/Berlin schedule's next slots in the shipped image, which has no zone database but its own", func() {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "next-slots", Namespace: ns},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Tolerations: []corev1.Toleration{cluster.RealToleration},
				NodeSelector: map[string]string{cluster.ZoneLabel: cluster.RealZone},
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "operator", Image: agentImage, ImagePullPolicy: corev1.PullNever,
					Args:            []string{"next-slots", "--schedule", "0 4 * * *", "--time-zone", "Europe/Berlin", "--from", "2027-03-26T00:00:00Z", "--count", "3"},
					SecurityContext: restrictedContainer()}},
			},
		}
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Status.Phase).To(BeElementOf(corev1.PodSucceeded, corev1.PodFailed))
		}).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		// Berlin is on CET (+1) until 02:00 on Sunday 28 March 2027, then CEST (+2).
		Expect(podLog(ns, pod.Name, "operator")).To(Equal(
			"2027-03-26T04:00:00+01:00  (2027-03-26T03:00:00Z)\n" +
				"2027-03-27T04:00:00+01:00  (2027-03-27T03:00:00Z)\n" +
				"2027-03-28T04:00:00+02:00  (2027-03-28T02:00:00Z)\n"))
		Expect(pod.Status.Phase).To(Equal(corev1.PodSucceeded))
	})
})

// realJobOptions put a pod on the real node with the Neo4j image stand-in and a small budget
// (the stand-in JVM really takes its heap and page cache).
func realJobOptions() v1.JobOptions {
	return v1.JobOptions{
		Image: realNeo4jImage, ImagePullPolicy: corev1.PullNever, BackoffLimit: ptr.To[int32](0),
		Tolerations: []corev1.Toleration{cluster.RealToleration},
		Memory: v1.MemorySpec{HeapSize: ptr.To(resource.MustParse("64Mi")), PageCache: ptr.To(resource.MustParse("32Mi")),
			Overhead: ptr.To(resource.MustParse("160Mi"))},
	}
}

// realBackup creates a Backup of neo4j and system whose pod runs on the real node (realBackupSpec).
func realBackup(ns, name string, mut func(*v1.BackupSpec)) *v1.Backup {
	GinkgoHelper()
	b := &v1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: realBackupSpec(mut)}
	Expect(k8sClient.Create(ctx, b)).To(Succeed())
	return b
}

// realBackupSpec is the spec of a Backup of neo4j and system whose pod runs on the real node, its
// claim made in the real node's class and zone.
func realBackupSpec(mut func(*v1.BackupSpec)) v1.BackupSpec {
	spec := e2eSpec(nil)
	spec.Databases = []string{"neo4j", "system"}
	spec.Storage = v1.StorageSpec{
		PersistentVolumeClaim: &v1.ClaimSource{Template: &v1.ClaimTemplate{StorageClassName: ptr.To(cluster.RealStorageClassName), Size: resource.MustParse("1Gi")}},
		Zone:                  v1.ZoneSpec{Policy: v1.ZoneFixed, Name: cluster.RealZone},
	}
	spec.JobOptions = realJobOptions()
	if mut != nil {
		mut(&spec)
	}
	return spec
}

// realVolumeRestore restores neo4j of Backup backup on the real node (mode Volume) into a new
// claim of the real node's class, and returns the Restore once it Succeeded, and the claim.
func realVolumeRestore(ns, name, backup, claim string) (*v1.Restore, *corev1.PersistentVolumeClaim) {
	GinkgoHelper()
	target := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claim, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(cluster.RealStorageClassName),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	Expect(k8sClient.Create(ctx, target)).To(Succeed())
	rs := &v1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1.RestoreSpec{
			Source: v1.RestoreSource{BackupName: backup}, Database: "neo4j", TargetDatabase: "neo4j",
			Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26"}, Mode: v1.RestoreVolume,
			Target:     &v1.RestoreTarget{ClaimName: target.Name},
			JobOptions: realJobOptions(),
		},
	}
	Expect(k8sClient.Create(ctx, rs)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rs), rs)).To(Succeed())
		g.Expect(rs.Status.Phase).To(BeElementOf(v1.RestoreSucceeded, v1.RestoreFailed))
	}).WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
	Expect(rs.Status.Phase).To(Equal(v1.RestoreSucceeded), "%+v", rs.Status.Conditions)
	return rs, target
}

func restoreDone(p v1.RestorePhase) bool { return p == v1.RestoreSucceeded || p == v1.RestoreFailed }

func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
}

func jobPodOf(ns, job string) *corev1.Pod {
	GinkgoHelper()
	pods := &corev1.PodList{}
	Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": job})).To(Succeed())
	Expect(pods.Items).To(HaveLen(1), "pods of Job %s", job)
	return &pods.Items[0]
}

func podLog(ns, pod, container string) string {
	GinkgoHelper()
	out, err := box.Kubectl(ctx, nil, "logs", pod, "-n", ns, "-c", container)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func backupReady(b *v1.Backup) metav1.Condition {
	for _, c := range b.Status.Conditions {
		if c.Type == v1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

func artifactOf(b *v1.Backup, db string) string {
	for _, d := range b.Status.Databases {
		if d.Name == db {
			return d.Artifact
		}
	}
	return ""
}

// volumePath is the host folder of a real-node volume.
func volumePath(pvName string) string {
	GinkgoHelper()
	pv := &corev1.PersistentVolume{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: pvName}, pv)).To(Succeed())
	Expect(pv.Spec.Local).NotTo(BeNil(), "volume %s is a local volume", pvName)
	return pv.Spec.Local.Path
}

// backupFolder is the host folder a Backup's artifacts went to: its claim's volume, and the
// folder in it (<namespace>/<cluster>).
func backupFolder(b *v1.Backup) string {
	GinkgoHelper()
	claim := &corev1.PersistentVolumeClaim{}
	Expect(b.Status.Storage).NotTo(BeNil())
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Status.Storage.ClaimName}, claim)).To(Succeed())
	return filepath.Join(volumePath(claim.Spec.VolumeName), b.Status.Storage.Path)
}

// listTree lists the files under dir, relative to it, sorted.
func listTree(dir string) []string {
	GinkgoHelper()
	var out []string
	Expect(filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})).To(Succeed())
	sort.Strings(out)
	return out
}
