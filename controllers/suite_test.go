package controllers_test

import (
	"context"
	"errors"
	"k8s.io/apimachinery/pkg/watch"
	"os"
	"path/filepath"
	"reflect"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	backupv1alpha1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/controllers"
	"github.com/graphkeeper/neo4j-backup-operator/internal/resources"
)

// The suite runs the controllers in a manager against a real kube-apiserver and etcd (built by
// hack/build-k8s.sh; make test sets KUBEBUILDER_ASSETS) with the generated CRDs installed. There
// is no kubelet, scheduler or Job controller: specs play them by writing pod and Job status.
// Assertions read through an uncached client, so what they see is what the API server holds.
var (
	cfg       *rest.Config
	k8sClient client.Client
	testEnv   *envtest.Environment
	ctx       context.Context
	cancel    context.CancelFunc
	clock     *clocktesting.FakePassiveClock
)

// startTimeout is longer than any clock step the schedule specs take (up to 15 minutes), so their
// Backups do not time out when only the schedule is under test.
const startTimeout = 30 * time.Minute

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controllers Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())

	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS must name the folder with kube-apiserver and etcd: run the tests with make test")
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// Registered before Start: a Start that fails half-way (a CRD the server rejects) has
	// already started etcd and the API server, and they must not outlive the suite.
	DeferCleanup(func() {
		cancel()
		Expect(testEnv.Stop()).To(Succeed())
	})
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(backupv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The same cache and wiring as main.go; the client goes through faults (which injects
	// nothing unless a spec asks it to).
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		NewClient: func(config *rest.Config, options client.Options) (client.Client, error) {
			c, err := client.New(config, options)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(noWatch{c}, faults.funcs()), nil
		},
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{ByObject: controllers.CachedByLabel()},
		// Concurrent, as the operator runs (--max-concurrent-reconciles).
		Controller: ctrlconfig.Controller{MaxConcurrentReconciles: 4},
	})
	Expect(err).NotTo(HaveOccurred())
	clock = clocktesting.NewFakePassiveClock(time.Now())
	Expect(controllers.Setup(mgr, controllers.Config{
		Clock:        clock,
		Options:      resources.Options{OperatorImage: "neo4j-backup-operator:test"},
		StartTimeout: startTimeout,
	})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

// faults makes the API server refuse the controllers' own calls in one namespace, as a quota, an
// admission webhook, a concurrent writer or a lagging cache would: controller-runtime's
// interceptor around the manager's real client. A rule matches a verb (get, create, update,
// delete, status) on a kind in a namespace for a number of calls.
var faults = &faultTable{}

type fault struct {
	namespace, verb, kind string
	left                  int
	err                   error
	// before, when set, runs before the call goes through (instead of failing it): what
	// another writer does a moment before the controller's call lands.
	before func(obj client.Object)
	// only, when set, picks the calls the rule applies to.
	only func(obj client.Object) bool
}

type faultTable struct {
	mu    sync.Mutex
	rules []*fault
	// hits counts the calls refused, per rule.
	hits map[*fault]int
}

// inject makes the next times calls of verb on kind in namespace fail with err; it returns a
// function that tells how many were refused.
func (t *faultTable) inject(namespace, verb, kind string, times int, err error) func() int {
	return t.add(&fault{namespace: namespace, verb: verb, kind: kind, left: times, err: err})
}

// injectIf is inject for the calls only picks.
func (t *faultTable) injectIf(namespace, verb, kind string, times int, only func(client.Object) bool, err error) func() int {
	return t.add(&fault{namespace: namespace, verb: verb, kind: kind, left: times, err: err, only: only})
}

// before runs do just before the next times calls of verb on kind in namespace go through.
func (t *faultTable) before(namespace, verb, kind string, times int, do func(obj client.Object)) func() int {
	return t.add(&fault{namespace: namespace, verb: verb, kind: kind, left: times, before: do})
}

func (t *faultTable) add(f *fault) func() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = append(t.rules, f)
	if t.hits == nil {
		t.hits = map[*fault]int{}
	}
	return func() int {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.hits[f]
	}
}

// clear removes the rules of namespace.
func (t *faultTable) clear(namespace string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.rules {
		if f.namespace == namespace {
			f.left = 0
		}
	}
}

func (t *faultTable) take(verb string, obj client.Object) error {
	t.mu.Lock()
	kind := reflect.TypeOf(obj).Elem().Name()
	for _, f := range t.rules {
		if f.left > 0 && f.namespace == obj.GetNamespace() && f.verb == verb && f.kind == kind && (f.only == nil || f.only(obj)) {
			f.left--
			t.hits[f]++
			if f.before != nil {
				t.mu.Unlock()
				f.before(obj)
				return nil
			}
			t.mu.Unlock()
			return f.err
		}
	}
	t.mu.Unlock()
	return nil
}

func (t *faultTable) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if err := t.take("create", obj); err != nil {
				return err
			}
			return c.Create(ctx, obj, opts...)
		},
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			// A rule on get is a stale read: the cache answers what it answers, e.g. NotFound
			// for an object it has not seen yet.
			obj.SetNamespace(key.Namespace)
			obj.SetName(key.Name)
			if err := t.take("get", obj); err != nil {
				return err
			}
			return c.Get(ctx, key, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := t.take("delete", obj); err != nil {
				return err
			}
			return c.Delete(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := t.take("update", obj); err != nil {
				return err
			}
			return c.Update(ctx, obj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if err := t.take(sub, obj); err != nil {
				return err
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
	}
}

// noWatch lets the manager's client stand where the interceptor wants a WithWatch; the
// controllers never call Watch on it (their watches are the cache's).
type noWatch struct{ client.Client }

func (noWatch) Watch(context.Context, client.ObjectList, ...client.ListOption) (watch.Interface, error) {
	return nil, errors.New("the manager's client does not watch")
}
