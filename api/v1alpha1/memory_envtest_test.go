package v1alpha1_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// The memory rule is written twice: as CEL in the CRD (admission) and as MemorySpec.Budget (the
// controllers and the Job builder). This holds them together over a grid of specs in mixed units,
// with and without defaults, on both sides of the boundary.
var _ = Describe("the memory budget", func() {
	It("is decided the same by the API server's CEL rule and by MemorySpec.Budget", func() {
		opt := func(s string) *resource.Quantity {
			if s == "" {
				return nil
			}
			return q(s)
		}
		heaps := []string{"", "256Mi", "1G", "1.5Gi"}
		caches := []string{"", "8Mi", "512M", "2Gi"}
		overheads := []string{"", "100Mi", "1Gi"}
		limits := []string{"", "1Gi", "2Gi", "2048Mi", "2560Mi", "3Gi", "3221225472", "4G", "5Gi"}

		n, accepted := 0, 0
		var disagreements []string
		for _, h := range heaps {
			for _, c := range caches {
				for _, o := range overheads {
					for _, l := range limits {
						n++
						m := v1.MemorySpec{HeapSize: opt(h), PageCache: opt(c), Overhead: opt(o), Limit: opt(l)}
						b := validBackup(fmt.Sprintf("memory-%d", n))
						b.Spec.Memory = m
						apiErr := k8sClient.Create(ctx, b)
						budget, goErr := m.Budget(field.NewPath("spec", "memory"))
						if (apiErr == nil) != (goErr == nil) {
							disagreements = append(disagreements, fmt.Sprintf("heap=%q pageCache=%q overhead=%q limit=%q: API server: %v; Budget: %v", h, c, o, l, apiErr, goErr))
							continue
						}
						if apiErr != nil {
							Expect(apiErr.Error()).To(ContainSubstring("spec.memory.limit"))
							Expect(goErr.Field).To(Equal("spec.memory.limit"))
							continue
						}
						accepted++
						// What the server stored (defaults applied) gives the same budget.
						stored := b.Spec.Memory
						fromServer, err := stored.Budget(field.NewPath("spec", "memory"))
						Expect(err).To(BeNil())
						Expect(fromServer.Limit.Cmp(budget.Limit)).To(BeZero(), "limit for heap=%q pageCache=%q overhead=%q limit=%q", h, c, o, l)
					}
				}
			}
		}
		Expect(disagreements).To(BeEmpty())
		GinkgoWriter.Printf("%d memory specs, %d accepted, %d refused, 0 disagreements\n", n, accepted, n-accepted)
		Expect(accepted).To(And(BeNumerically(">", 50), BeNumerically("<", n-50)), "the grid straddles the boundary")
	})

	It("has the same defaults in the CRD as in Go", func() {
		b := validBackup("memory-defaults")
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		m := b.Spec.Memory
		Expect(m.HeapSize).NotTo(BeNil())
		Expect(m.HeapSize.Cmp(v1.DefaultHeapSize)).To(BeZero())
		Expect(m.PageCache.Cmp(v1.DefaultPageCache)).To(BeZero())
		Expect(m.Overhead.Cmp(v1.DefaultOverhead)).To(BeZero())
		Expect(m.Limit).To(BeNil(), "limit stays unset: it follows the others")

		budget, err := (v1.MemorySpec{}).Budget(field.NewPath("spec", "memory"))
		Expect(err).To(BeNil())
		Expect(budget.Limit.String()).To(Equal("2Gi"))
	})
})
