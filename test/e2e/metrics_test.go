package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var _ = Describe("the operator's metrics", func() {
	// test/prometheus checks every series the chart's alerts and dashboard read against the
	// operator's own metrics; controller-runtime's (and Prometheus's up) it leaves to this spec,
	// which finds them in what the leader serves.
	It("the leader serves the controller-runtime series the chart's alerts and dashboard read", func() {
		rendered, err := box.Helm(ctx, "template", "nbo", chartDir, "--namespace", releaseNamespace, "--kube-version", "1.37.2",
			"--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true")
		Expect(err).NotTo(HaveOccurred())
		read := map[string]bool{}
		for _, m := range regexp.MustCompile(`\b(controller_runtime|workqueue)_[a-z_]+`).FindAllString(rendered, -1) {
			read[m] = true
		}
		Expect(read).To(HaveKey("controller_runtime_reconcile_total"))
		Expect(rendered).To(ContainSubstring(`controller_runtime_reconcile_total{job=`), "the alert reads the schedule controller's series")
		Expect(rendered).To(ContainSubstring(`controller=\"backupschedule\"`), "the dashboard's job variable reads the schedule controller's series")

		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := l.Addr().String()
		Expect(l.Close()).To(Succeed())
		// The operator again, with its metrics served: it releases its lease when stopped, and the
		// new one leads.
		Expect(operator.Stop(10 * time.Second)).To(Succeed())
		restarts++
		operator = startOperator(fmt.Sprintf("operator-%d", restarts), "--metrics-bind-address="+addr)
		Eventually(func(g Gomega) {
			resp, err := http.Get("http://" + addr + "/metrics")
			g.Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			g.Expect(string(body)).To(ContainSubstring(`controller_runtime_reconcile_total{controller="backupschedule",result="success"}`), "it leads, and runs the schedule controller")
			for name := range read {
				g.Expect(string(body)).To(MatchRegexp(`(?m)^`+name+`[{ ]`), "the chart reads %s", name)
			}
		}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
	})
})

var _ = Describe("the operator's metrics with metrics.secure", func() {
	// The chart's metrics-auth RBAC lets the operator ask the real API server about each scrape's
	// token (TokenReview, SubjectAccessReview); the chart's metrics-reader ClusterRole lets a
	// scraper in.
	It("are served over HTTPS only to a token allowed to get /metrics", func() {
		_, err := box.Helm(ctx, "upgrade", "nbo", chartDir, "--namespace", releaseNamespace, "--reuse-values", "--set", "metrics.secure=true", "--wait", "--timeout", "120s")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			_, err := box.Helm(ctx, "upgrade", "nbo", chartDir, "--namespace", releaseNamespace, "--reuse-values", "--set", "metrics.secure=false", "--wait", "--timeout", "120s")
			Expect(err).NotTo(HaveOccurred())
		})

		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := l.Addr().String()
		Expect(l.Close()).To(Succeed())
		// A second operator (a standby: the first holds the lease) serves metrics all the same.
		p := startOperator("operator-secure-metrics", "--metrics-bind-address="+addr, "--metrics-secure")
		DeferCleanup(func() { Expect(p.Stop(10 * time.Second)).To(Succeed()) })

		ns := newNamespace()
		for _, name := range []string{"scraper", "stranger"} {
			Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})).To(Succeed())
		}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-metrics-scraper"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "nbo-neo4j-backup-operator-metrics-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: ns}},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, binding)).To(Succeed()) })

		token := func(sa string) string {
			out, err := box.Kubectl(ctx, nil, "create", "token", sa, "-n", ns)
			Expect(err).NotTo(HaveOccurred())
			return strings.TrimSpace(out)
		}
		// The certificate is self-signed (no metrics.certSecretName).
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		scrape := func(g Gomega, bearer string) (int, string) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
			g.Expect(err).NotTo(HaveOccurred())
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			resp, err := hc.Do(req)
			g.Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		scraper, stranger := token("scraper"), token("stranger")
		Eventually(func(g Gomega) {
			code, body := scrape(g, scraper)
			g.Expect(code).To(Equal(http.StatusOK), body)
			g.Expect(body).To(ContainSubstring("rest_client_requests_total"), "the Prometheus registry the operator serves")
		}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		// A token the API server does not take is an error to controller-runtime's filter, which
		// answers 500 "Authentication failed" (metrics/filters); refused either way.
		for bearer, want := range map[string]int{"": http.StatusUnauthorized, "not-a-token": http.StatusInternalServerError, stranger: http.StatusForbidden} {
			code, body := scrape(Default, bearer)
			Expect(code).To(Equal(want), fmt.Sprintf("token %.10q: %s", bearer, body))
			Expect(body).NotTo(ContainSubstring("rest_client_requests_total"))
		}
		// Go's TLS server answers plain HTTP with 400 "Client sent an HTTP request to an HTTPS server".
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest), "plain HTTP is not served")
		}
	})
})
