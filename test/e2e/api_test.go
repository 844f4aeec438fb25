package e2e

import (
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// What a user meets first: the CRDs applied with kubectl, their documentation in kubectl explain,
// the short names and category, and admission refusing a bad object with a message naming the
// field.
var _ = Describe("the API as kubectl shows it", func() {
	It("documents the memory budget in kubectl explain", func() {
		var out string
		// The API server publishes a new CRD's OpenAPI a moment after it is Established.
		Eventually(func(g Gomega) {
			var err error
			out, err = box.Kubectl(ctx, nil, "explain", "backupschedule.spec.template.memory")
			g.Expect(err).NotTo(HaveOccurred())
		}).WithTimeout(30 * time.Second).Should(Succeed())
		GinkgoWriter.Println(out)
		for _, want := range []string{
			"GROUP:      backup.graphkeeper.dev", "KIND:       BackupSchedule", "VERSION:    v1alpha1",
			"heapSize + pageCache + overhead <= limit",
			"HEAP_SIZE environment variable",
			"--pagecache",
			"limit is the container's memory limit and request", "Default: heapSize + pageCache +", "overhead is headroom",
		} {
			Expect(out).To(ContainSubstring(want))
		}
	})

	It("answers to the short names and the category", func() {
		for _, name := range []string{"nbs", "nbk", "nrs", "neo4j-backup"} {
			_, err := box.Kubectl(ctx, nil, "get", name, "-A")
			Expect(err).NotTo(HaveOccurred(), name)
		}
	})

	It("applies the samples and refuses an invalid schedule with the field named", func() {
		ns := newNamespace()
		out, err := box.Kubectl(ctx, nil, "apply", "-n", ns, "-f", filepath.Join("..", "..", "config", "samples", "backup_v1alpha1_backupschedule.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("backupschedule.backup.graphkeeper.dev/graph-nightly created"))

		bad := strings.NewReader(`apiVersion: backup.graphkeeper.dev/v1alpha1
kind: BackupSchedule
metadata:
  name: typo
spec:
  schedule: "0 2 * * 7"
  template:
    cluster: {name: graph, neo4jVersion: "5.26", serverSelector: {matchLabels: {app: graph}}}
    image: neo4j:5.26.2-enterprise
    storage: {persistentVolumeClaim: {claimName: backups}}
`)
		_, err = box.Kubectl(ctx, bad, "apply", "-n", ns, "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(`spec.schedule: Invalid value: "0 2 * * 7": must be a 5-field cron expression`))
	})
})
