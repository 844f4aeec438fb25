package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
)

// Operator is the chart installed on the cluster, and what running its operator takes: the
// Deployment's own arguments and a kubeconfig acting as the chart's ServiceAccount.
type Operator struct {
	// Kubeconfig authenticates as the chart's ServiceAccount (a TokenRequest token), so the
	// chart's RBAC is what the API server enforces on the operator.
	Kubeconfig string
	// Args are the chart's Deployment's container arguments, with the metrics and probe
	// listeners off (the operator runs as a process on a shared machine).
	Args []string
	// ServiceAccount is namespace:name.
	ServiceAccount string
	// AgentImage is the operator image the chart names for the backup pods' agent
	// (--agent-image): the name to import the operator image under on the real node.
	AgentImage string
}

// InstallChart installs the chart in dir as release into namespace, which it creates with the
// restricted Pod Security Standard enforced (so the operator's own pod must comply), waits for
// the Deployment, and returns what running the operator as that Deployment would take. kwok
// runs no containers: the Deployment's pod is Running but empty, and the operator runs as a
// local process with the same arguments and identity instead.
func (c *Cluster) InstallChart(ctx context.Context, dir, namespace, release string, set ...string) (*Operator, error) {
	ns := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/enforce: restricted
`, namespace)
	if _, err := c.Kubectl(ctx, strings.NewReader(ns), "apply", "-f", "-"); err != nil {
		return nil, err
	}
	args := []string{"install", release, dir, "--namespace", namespace, "--wait", "--timeout", "120s"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	if _, err := c.Helm(ctx, args...); err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	deps, err := cs.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release})
	if err != nil {
		return nil, err
	}
	if len(deps.Items) != 1 {
		return nil, fmt.Errorf("release %s has %d Deployments, want 1", release, len(deps.Items))
	}
	d := deps.Items[0]
	if err := ready(&d); err != nil {
		return nil, err
	}
	pod := d.Spec.Template.Spec
	sa := pod.ServiceAccountName
	kubeconfig, err := c.ServiceAccountKubeconfig(ctx, namespace, sa)
	if err != nil {
		return nil, err
	}
	op := &Operator{Kubeconfig: kubeconfig, ServiceAccount: namespace + ":" + sa}
	for _, a := range pod.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--agent-image="); ok {
			op.AgentImage = v
		}
		if strings.HasPrefix(a, "--metrics-bind-address=") || strings.HasPrefix(a, "--health-probe-bind-address=") {
			continue
		}
		op.Args = append(op.Args, a)
	}
	op.Args = append(op.Args, "--metrics-bind-address=0", "--health-probe-bind-address=0")
	return op, nil
}

func ready(d *appsv1.Deployment) error {
	if d.Spec.Replicas != nil && d.Status.AvailableReplicas < *d.Spec.Replicas {
		return fmt.Errorf("Deployment %s: %d of %d replicas available", d.Name, d.Status.AvailableReplicas, *d.Spec.Replicas)
	}
	return nil
}

// HookRBAC reads a hook template helm rendered (the CRD upgrade Job's, helm test's) and returns
// the ServiceAccount its pod runs as and the objects that give it its rights (the ServiceAccount,
// Roles, ClusterRoles and their bindings), not the pod or Job: a test creates those objects and
// runs the pod's command with the ServiceAccount's token, so the rights are exactly the hook's.
func HookRBAC(rendered string) (serviceAccount string, objs []*unstructured.Unstructured, err error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(rendered), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", nil, err
		}
		switch u.GetKind() {
		case "ServiceAccount":
			serviceAccount = u.GetName()
			fallthrough
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			objs = append(objs, u)
		}
	}
	if serviceAccount == "" {
		return "", nil, errors.New("the hook renders no ServiceAccount")
	}
	return serviceAccount, objs, nil
}
