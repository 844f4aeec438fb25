package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
)

var _ = Describe("the cluster in a box", func() {
	It("has a kwok node in each of three zones, the real node in its own, and a real v1.37 kubectl", func() {
		nodes := &corev1.NodeList{}
		Expect(k8sClient.List(ctx, nodes)).To(Succeed())
		zones := map[string]int{}
		for _, n := range nodes.Items {
			zones[n.Labels[cluster.ZoneLabel]]++
		}
		Expect(zones).To(Equal(map[string]int{"zone-a": 1, "zone-b": 1, "zone-c": 1, cluster.RealZone: 1}))

		out, err := box.Kubectl(ctx, nil, "version", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring(`"gitVersion": "v1.37.2"`))
	})

	// The real scheduler places the pod by its zone affinity, the real PV controller binds the
	// WaitForFirstConsumer claim to a volume of that zone, the real Job controller counts the
	// pod kwok completed: the path every backup Job takes.
	for _, zone := range []string{"zone-c", "zone-a"} {
		It(fmt.Sprintf("runs a Job with %s affinity and a zonal claim to completion in %s", zone, zone), func() {
			ns := newNamespace()
			claim := &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Name: "backups", Namespace: ns},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptr.To(cluster.StorageClassName),
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: resource.MustParse("10Gi"),
					}},
				},
			}
			Expect(k8sClient.Create(ctx, claim)).To(Succeed())
			job := zonalJob(ns, "smoke", zone, claim.Name)
			Expect(k8sClient.Create(ctx, job)).To(Succeed())

			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
				g.Expect(job.Status.Conditions).To(ContainElement(And(
					HaveField("Type", batchv1.JobComplete), HaveField("Status", corev1.ConditionTrue))))
			}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

			pods := &corev1.PodList{}
			Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"job-name": job.Name})).To(Succeed())
			Expect(pods.Items).To(HaveLen(1))
			node := &corev1.Node{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: pods.Items[0].Spec.NodeName}, node)).To(Succeed())
			Expect(node.Labels[cluster.ZoneLabel]).To(Equal(zone))

			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			Expect(claim.Status.Phase).To(Equal(corev1.ClaimBound))
			pv := &corev1.PersistentVolume{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: claim.Spec.VolumeName}, pv)).To(Succeed())
			Expect(pv.Labels[cluster.ZoneLabel]).To(Equal(zone))
		})
	}

	It("reports a pod's simulated failure and termination message as a kubelet would", func() {
		ns := newNamespace()
		job := zonalJob(ns, "sim", "zone-b", "")
		job.Spec.BackoffLimit = ptr.To[int32](0)
		job.Spec.Template.Annotations = map[string]string{
			"sim.graphkeeper.dev/outcome":   "Failed",
			"sim.graphkeeper.dev/exit-code": "3",
			"sim.graphkeeper.dev/message":   `{"databases":[{"name":"neo4j","consistent":false}]}`,
		}
		Expect(k8sClient.Create(ctx, job)).To(Succeed())
		Eventually(func(g Gomega) {
			pods := &corev1.PodList{}
			g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"job-name": job.Name})).To(Succeed())
			g.Expect(pods.Items).NotTo(BeEmpty())
			pod := pods.Items[0]
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodFailed))
			g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
			term := pod.Status.ContainerStatuses[0].State.Terminated
			g.Expect(term).NotTo(BeNil())
			g.Expect(term.ExitCode).To(BeEquivalentTo(3))
			g.Expect(term.Message).To(Equal(`{"databases":[{"name":"neo4j","consistent":false}]}`))
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
			g.Expect(job.Status.Conditions).To(ContainElement(And(
				HaveField("Type", batchv1.JobFailed), HaveField("Status", corev1.ConditionTrue))))
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})
})

var nsCount int

func newNamespace() string {
	nsCount++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("smoke-%d-%d", GinkgoParallelProcess(), nsCount)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// zonalJob is a one-pod Job pinned to zone by required node affinity, optionally mounting claim.
func zonalJob(ns, name, zone, claim string) *batchv1.Job {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
							NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
								Key: cluster.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
							}}}},
						},
					}},
					Containers: []corev1.Container{{Name: "main", Image: "stand-in:never-pulled"}},
				},
			},
		},
	}
	if claim != "" {
		job.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "backups", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}}}
		job.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "backups", MountPath: "/backups"}}
	}
	return job
}
