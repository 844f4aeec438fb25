package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("the test API server", func() {
	It("serves the three kinds of backup.graphkeeper.dev as a Kubernetes v1.37 server", func() {
		dc := mustDiscovery()
		info, err := dc.ServerVersion()
		Expect(err).NotTo(HaveOccurred())
		Expect(info.GitVersion).To(Equal("v1.37.2"), "the binaries carry the version stamp of hack/build-k8s.sh")

		for _, kind := range []string{"backups", "backupschedules", "restores"} {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: kind + ".backup.graphkeeper.dev"}, crd)).To(Succeed())
			Expect(crd.Spec.Names.Categories).To(ContainElement("neo4j-backup"))
		}
		resources, err := dc.ServerResourcesForGroupVersion(schema.GroupVersion{Group: "backup.graphkeeper.dev", Version: "v1alpha1"}.String())
		Expect(err).NotTo(HaveOccurred())
		short := map[string][]string{}
		for _, r := range resources.APIResources {
			short[r.Name] = r.ShortNames
		}
		Expect(short).To(HaveKeyWithValue("backups", []string{"nbk"}))
		Expect(short).To(HaveKeyWithValue("backupschedules", []string{"nbs"}))
		Expect(short).To(HaveKeyWithValue("restores", []string{"nrs"}))
	})
})

func mustDiscovery() *discovery.DiscoveryClient {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	return dc
}
