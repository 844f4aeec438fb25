package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var _ = Describe("the chart's user roles", func() {
	// The real controller-manager's clusterrole-aggregation controller folds the chart's roles
	// into Kubernetes' own view, edit and admin; the real API server's RBAC authorizer answers.
	It("let view read, edit change Backups and BackupSchedules but not make Restores, and admin make Restores", func() {
		ns := newNamespace()
		for user, role := range map[string]string{"viewer": "view", "editor": "edit", "owner": "admin"} {
			Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
			})).To(Succeed())
		}
		allowed := func(g Gomega, user, verb, resource string) bool {
			r := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user,
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: ns, Verb: verb, Group: "backup.graphkeeper.dev", Resource: resource,
				},
			}}
			g.Expect(k8sClient.Create(ctx, r)).To(Succeed())
			return r.Status.Allowed
		}
		Eventually(func(g Gomega) {
			for _, c := range []struct {
				user, verb, resource string
				want                 bool
			}{
				{"viewer", "list", "backups", true},
				{"viewer", "watch", "restores", true},
				{"viewer", "create", "backups", false},
				{"viewer", "patch", "backupschedules", false},
				{"editor", "create", "backupschedules", true},
				{"editor", "patch", "backupschedules", true},
				{"editor", "delete", "backups", true},
				{"editor", "list", "restores", true},
				{"editor", "create", "restores", false},
				{"owner", "create", "restores", true},
				{"owner", "create", "backups", true},
			} {
				g.Expect(allowed(g, c.user, c.verb, c.resource)).To(Equal(c.want), "%s %s %s", c.user, c.verb, c.resource)
			}
		}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	})
})
