// Package install holds what the chart's hooks run from the operator's own image:
// `neo4j-backup-operator install-crds` (the pre-upgrade hook) and `check-install` (helm test).
package install

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// Scheme knows the kinds this package reads and writes: CRDs, Deployments and the project's own.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(apiextensionsv1.AddToScheme(Scheme))
	utilruntime.Must(appsv1.AddToScheme(Scheme))
	utilruntime.Must(v1.AddToScheme(Scheme))
}

// NewClient reaches the API server the way the hook pods do (in-cluster, or KUBECONFIG).
func NewClient() (client.Client, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: Scheme})
}

// ParseCRDs and ApplyCRDs install and upgrade the project's CRDs. Helm installs a chart's crds/
// on the first install and never again, so without them `helm upgrade` leaves the old schemas in
// place and the API server prunes every field they do not name: a new field set in Git is
// silently dropped. (Velero's chart upgrades its CRDs the same way, with its own binary.)

// ParseCRDs reads CRDs from YAML documents (controller-gen's output, one CRD a file).
func ParseCRDs(files map[string][]byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	for name, data := range files {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if crd.Kind != "CustomResourceDefinition" || crd.Name == "" {
			return nil, fmt.Errorf("%s: not a CustomResourceDefinition", name)
		}
		out = append(out, crd)
	}
	slices.SortFunc(out, func(a, b *apiextensionsv1.CustomResourceDefinition) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ApplyCRDs creates each CRD or replaces the spec of the one in the cluster with it, then waits until
// every one is Established (its names accepted and served). It never deletes a CRD, and refuses
// to drop a version the cluster has stored objects in (status.storedVersions): those objects
// would become unreadable. The CRD's labels and annotations are merged, not replaced, so what
// other tools put there (Helm's, Argo CD's tracking) stays.
func ApplyCRDs(ctx context.Context, c client.Client, want []*apiextensionsv1.CustomResourceDefinition, timeout time.Duration) error {
	for _, w := range want {
		if err := apply(ctx, c, w); err != nil {
			return fmt.Errorf("CustomResourceDefinition %s: %w", w.Name, err)
		}
	}
	var pending []string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pending = pending[:0]
		for _, w := range want {
			got := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(w), got); err != nil {
				return false, err
			}
			if !established(got) {
				pending = append(pending, w.Name)
			}
		}
		return len(pending) == 0, nil
	})
	if err != nil && len(pending) > 0 {
		return fmt.Errorf("not Established after %s: %s", timeout, strings.Join(pending, ", "))
	}
	return err
}

func apply(ctx context.Context, c client.Client, w *apiextensionsv1.CustomResourceDefinition) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := &apiextensionsv1.CustomResourceDefinition{}
		err := c.Get(ctx, client.ObjectKeyFromObject(w), got)
		if apierrors.IsNotFound(err) {
			return c.Create(ctx, w.DeepCopy())
		}
		if err != nil {
			return err
		}
		if missing := droppedStoredVersions(got, w); len(missing) > 0 {
			return fmt.Errorf("the cluster stores objects in version %s, which this operator's CRD does not serve: "+
				"install the operator version that wrote them, or migrate them first (status.storedVersions)", strings.Join(missing, ", "))
		}
		got.Spec = *w.Spec.DeepCopy()
		got.Labels = merged(got.Labels, w.Labels)
		got.Annotations = merged(got.Annotations, w.Annotations)
		return c.Update(ctx, got)
	})
}

func droppedStoredVersions(got, w *apiextensionsv1.CustomResourceDefinition) []string {
	var missing []string
	for _, v := range got.Status.StoredVersions {
		if !slices.ContainsFunc(w.Spec.Versions, func(n apiextensionsv1.CustomResourceDefinitionVersion) bool { return n.Name == v }) {
			missing = append(missing, v)
		}
	}
	return missing
}

func merged(have, want map[string]string) map[string]string {
	if have == nil && want == nil {
		return nil
	}
	out := maps.Clone(have)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, want)
	return out
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	var est, names bool
	for _, c := range crd.Status.Conditions {
		switch c.Type {
		case apiextensionsv1.Established:
			est = c.Status == apiextensionsv1.ConditionTrue
		case apiextensionsv1.NamesAccepted:
			names = c.Status == apiextensionsv1.ConditionTrue
		}
	}
	// observedGeneration is behind a feature gate (CRDObservedGenerationTracking); 0 where it is
	// off, and then an updated CRD's Established is the previous generation's: the API server
	// serves the new schema moments after the update, not provably before this returns.
	return est && names && (crd.Status.ObservedGeneration == 0 || crd.Status.ObservedGeneration == crd.Generation)
}
