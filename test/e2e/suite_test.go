// Package e2e drives the cluster in a box (test/cluster) as a user would.
package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/test/cluster"
	"github.com/graphkeeper/neo4j-backup-operator/test/images"
)

// chartDir is the chart the suite installs.
var chartDir = filepath.Join("..", "..", "charts", "neo4j-backup-operator")

var (
	// operatorBin, operatorEnv and operatorArgs start an operator as the chart's Deployment
	// would run it: its args, its ServiceAccount.
	operatorBin string
	// agentImage is the operator image the chart names for the agent, built into the real node.
	agentImage                string
	operatorEnv, operatorArgs []string
	box                       *cluster.Cluster
	operator                  *cluster.Process
	k8sClient                 client.Client
	ctx                       context.Context
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end Suite (cluster in a box)")
}

var _ = BeforeSuite(func() {
	var cancel context.CancelFunc
	ctx, cancel = context.WithCancel(context.Background())
	DeferCleanup(cancel)

	var err error
	// Every spec binds claims in zone-c (backups, restore targets) and Retain volumes are never
	// reused: enough for all of them.
	// The real node runs the specs' pods that tolerate it (realnode_test.go): backup, restore
	// and prune pods from the images built below.
	box, err = cluster.Start(ctx, cluster.Options{Log: GinkgoWriter, VolumesPerZone: 32, RealNode: &cluster.NodeOptions{Volumes: 16}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() || suiteFailed {
			box.KeepLogs()
			GinkgoWriter.Printf("cluster logs kept in %s/logs\n", box.Dir)
		}
		Expect(box.Stop()).To(Succeed())
	})

	By("installing the chart with helm, as a user would: CRDs, RBAC, the Deployment")
	op, err := box.InstallChart(ctx, chartDir, "neo4j-backup-system", "nbo",
		"image.tag=e2e", "startTimeout=2m")
	Expect(err).NotTo(HaveOccurred())
	_, err = box.Kubectl(ctx, nil, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/backups.backup.graphkeeper.dev", "crd/backupschedules.backup.graphkeeper.dev", "crd/restores.backup.graphkeeper.dev")
	Expect(err).NotTo(HaveOccurred())
	out, err := box.Kubectl(ctx, nil, "auth", "can-i", "list", "secrets", "--as=system:serviceaccount:"+op.ServiceAccount, "-A")
	Expect(strings.TrimSpace(out)).To(Equal("no"), "the operator reads no Secrets (%v)", err)

	By("building the operator as its image does and running it as a process with the chart's arguments, as the chart's ServiceAccount")
	bin := filepath.Join(box.Dir, "neo4j-backup-operator")
	Expect(images.Binary(ctx, "", bin)).To(Succeed())
	GinkgoWriter.Printf("operator args (from the chart's Deployment): %q\n", op.Args)

	By("building the operator image around that binary and the Neo4j image stand-in, into the real node")
	Expect(op.AgentImage).NotTo(BeEmpty(), "the chart passes --agent-image")
	agentImage = op.AgentImage
	opImage, err := images.Operator(bin, box.Dir, agentImage)
	Expect(err).NotTo(HaveOccurred())
	Expect(box.Node.Import(ctx, opImage)).To(Succeed())
	neoImage, err := images.Neo4j(ctx, box.Dir, realNeo4jImage, "5.26")
	Expect(err).NotTo(HaveOccurred())
	Expect(box.Node.Import(ctx, neoImage)).To(Succeed())
	operatorBin, operatorEnv, operatorArgs = bin, []string{"KUBECONFIG=" + op.Kubeconfig}, op.Args
	operator = startOperator("operator")

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(backupv1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(box.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

// suiteFailed remembers a failure of any spec, so the cluster's logs are kept for it.
var suiteFailed bool

var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() {
		suiteFailed = true
	}
})

// startOperator starts an operator process; name names its log (logs/<name>.log). extra
// flags come after the chart's, so they override them.
func startOperator(name string, extra ...string) *cluster.Process {
	GinkgoHelper()
	p, err := box.Start(name, operatorBin, operatorEnv, append(slices.Clone(operatorArgs), extra...)...)
	Expect(err).NotTo(HaveOccurred())
	return p
}
