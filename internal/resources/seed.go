package resources

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/neo4j"
)

// A SeedFromURI restore is three objects, all owned by the Restore: the seed server (a Job in
// the storage zone serving the chain, or a dump prepared from it, read-only over HTTP), the
// Service in front of it, and the seed Job (cypher-shell creating the database from that URI
// and waiting for it online). The operator never dials Neo4j or the seed server itself.
const (
	// ContainerSeedServer serves the seed.
	ContainerSeedServer = "seed-server"
	// ContainerSeed runs the agent's seed (cypher-shell).
	ContainerSeed = "seed"
	// SeedPort is the seed server's HTTP port.
	SeedPort = 8080
)

// SeedPlan is what the Restore controller decided for a SeedFromURI restore.
type SeedPlan struct {
	RestorePlan
	// Servers are the cluster's Bolt addresses (host:port), in the order to try.
	Servers []string
}

// SeedServerName names the seed server's Job and Service, ChildName's "<restore>-seed-server"
// when that is a DNS-1035 label (a Service name starts with a letter and has no dots); else
// the name with dots replaced and a letter in front, and a hash of the Restore's own name, so
// that "a.b" and "a-b" keep servers of their own.
func SeedServerName(restore string) string {
	n := ChildName(restore, RoleSeedServer)
	if len(validation.IsDNS1035Label(n)) == 0 {
		return n
	}
	safe := strings.ReplaceAll(restore, ".", "-")
	if safe[0] < 'a' || safe[0] > 'z' {
		safe = "r" + safe
	}
	return shortenAs(safe, restore, validation.DNS1035LabelMaxLength-len(RoleSeedServer)-1) + "-" + RoleSeedServer
}

// LegacySeedServerName is the seed server's name before ChildName ("seed-<restore>"): a Restore
// that was seeding when the operator was upgraded still has its server under it.
func LegacySeedServerName(restore string) string {
	n := "seed-" + strings.ReplaceAll(restore, ".", "-")
	if len(n) <= 63 {
		return n
	}
	return shorten(n, 63)
}

// SeedFile is the one file the seed server serves: the FULL itself when the chain is only that
// and no point in time is asked; else <database>.dump, prepared from the chain (Neo4j fetches an
// http seed as one file, and applies neither a chain nor a point in time to it).
func SeedFile(database string, plan RestorePlan) (file string, prepare bool) {
	if len(plan.Chain) == 1 && plan.UntilTx == 0 && plan.UntilTime == nil {
		return plan.Chain[0], false
	}
	return database + ".dump", true
}

// SeedURI is where the servers fetch the seed: the seed server's Service, by its cluster DNS
// name, or the chain's last artifact in the bucket.
func SeedURI(r *v1.Restore, plan RestorePlan) string {
	if plan.SeedFromBucket && len(plan.Chain) > 0 {
		return plan.Location.String() + "/" + plan.Chain[len(plan.Chain)-1]
	}
	file, _ := SeedFile(r.Spec.Database, plan)
	return fmt.Sprintf("http://%s.%s.svc:%d/%s", SeedServerName(r.Name), r.Namespace, SeedPort, file)
}

func seedServerLabels(r *v1.Restore) map[string]string {
	return labels(RoleSeedServer, r.Name, r.Spec.Cluster.Name)
}

// SeedServerJob builds the seed server: the backup claim mounted read-only in the storage zone
// (or the bucket's access, in any zone), the agent serving exactly the chain's files (from a
// bucket, fetched into scratch space first), or first restoring the chain (to restoreUntil) into
// scratch space and dumping it, then serving only that dump. It runs until the operator deletes
// it when the restore has ended.
func SeedServerJob(r *v1.Restore, plan RestorePlan, opts Options) (*batchv1.Job, error) {
	version, err := neo4j.ParseVersion(r.Spec.Cluster.Neo4jVersion)
	if err != nil {
		return nil, err
	}
	_, prepare := SeedFile(r.Spec.Database, plan)
	// From a bucket it fetches what it serves (or restores the chain from there): the servers
	// fetch over HTTP, as from a volume, and need no access to the bucket.
	src := store(plan.Access, plan.Location, true)
	args := []string{"agent", "serve", "--dir=" + src.dir, fmt.Sprintf("--listen=:%d", SeedPort)}
	for _, a := range plan.Chain {
		args = append(args, "--file="+a)
	}
	res := smallResources()
	var env []corev1.EnvVar
	if prepare {
		args = append(args, "--prepare", "--neo4j-version="+version.String(), "--database="+r.Spec.Database,
			"--data-dir=/data", "--scratch=/scratch", "--temp-dir=/tmp/neo4j-restore")
		args = append(args, untilArgs(plan)...)
		args = append(args, chainEndArgs(plan)...)
		args = append(args, chainLengthArgs(plan)...)
		res = memoryResources(plan.Memory, r.Spec.Resources.CPU)
		env = heapEnv(plan.Memory)
	}
	env = append(env, src.env...)
	return restoreSideJob(r, restorePod{
		name: SeedServerName(r.Name), component: RoleSeedServer,
		backoffLimit:     ptr.To(ptr.Deref(r.Spec.BackoffLimit, 2)),
		podFailurePolicy: failFast(ContainerSeedServer, 2),
		grace:            15,
		affinity:         zoneAffinity(plan.Zone),
		container: corev1.Container{
			Name:      ContainerSeedServer,
			Args:      args,
			Env:       env,
			Ports:     []corev1.ContainerPort{{Name: "http", ContainerPort: SeedPort, Protocol: corev1.ProtocolTCP}},
			Resources: res,
			// The port opens only once the seed is ready to serve.
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
				PeriodSeconds: 5,
			},
			VolumeMounts: append(src.mounts,
				corev1.VolumeMount{Name: "data", MountPath: "/data"},
				corev1.VolumeMount{Name: "scratch", MountPath: "/scratch"},
				corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"},
			),
		},
		volumes: append(src.volumes, emptyDir("data"), emptyDir("scratch"), emptyDir("tmp")),
		store:   src,
	}, opts), nil
}

// SeedService puts the seed server behind a stable name for the Neo4j servers.
func SeedService(r *v1.Restore) *corev1.Service {
	lbls := seedServerLabels(r)
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: SeedServerName(r.Name), Namespace: r.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{controllerRef("Restore", r)},
		},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{LabelInstance: lbls[LabelInstance], LabelComponent: RoleSeedServer, LabelManagedBy: ManagedBy},
			Ports:    []corev1.ServicePort{{Name: "http", Port: SeedPort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// SeedJob builds the Job that creates the database from the seed: the agent runs cypher-shell
// against the servers with the credentials from the Secret as environment (never arguments),
// and waits until the database is online on every server. It is never retried: a second
// attempt after the CREATE would find the database and refuse it as TargetExists.
func SeedJob(r *v1.Restore, plan SeedPlan, opts Options) (*batchv1.Job, error) {
	version, err := neo4j.ParseVersion(r.Spec.Cluster.Neo4jVersion)
	if err != nil {
		return nil, err
	}
	if r.Spec.CredentialsSecret == nil {
		return nil, fmt.Errorf("spec.credentialsSecret: required with mode SeedFromURI")
	}
	if plan.SeedFromBucket && len(plan.Chain) == 0 {
		return nil, fmt.Errorf("no chain to seed from %s", plan.Location)
	}
	target := r.Spec.TargetDatabase
	if target == "" {
		target = r.Spec.Database
	}
	timeout := 24 * time.Hour
	if d := r.Spec.ActiveDeadlineSeconds; d != nil && *d > 60 {
		// Report before the Job's deadline kills the pod.
		timeout = time.Duration(*d-30) * time.Second
	}
	args := []string{"agent", "seed", "--neo4j-version=" + version.String(), "--database=" + target,
		"--seed-uri=" + SeedURI(r, plan.RestorePlan), "--timeout=" + timeout.String(), "--bolt-scheme=" + BoltScheme(r.Spec.Cluster)}
	for _, s := range plan.Servers {
		args = append(args, "--server="+s)
	}
	for _, a := range plan.Chain {
		args = append(args, "--chain="+a)
	}
	if plan.SeedFromBucket {
		// The servers apply a point in time themselves (seedRestoreUntil); from a seed server
		// it is already in the dump.
		args = append(args, untilArgs(plan.RestorePlan)...)
		args = append(args, chainEndArgs(plan.RestorePlan)...)
	}
	if r.Spec.ReplaceExisting {
		args = append(args, "--replace")
	}
	cred := r.Spec.CredentialsSecret
	key := func(k, def string) string {
		if k == "" {
			return def
		}
		return k
	}
	fromSecret := func(name, k string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: cred.Name}, Key: k}}}
	}
	return restoreSideJob(r, restorePod{
		name: ChildName(r.Name, RoleSeed), component: RoleSeed,
		backoffLimit: ptr.To[int32](0),
		// No podFailurePolicy: unlike the other Jobs, a disrupted (evicted, preempted) pod
		// must not be replaced either, so the Job fails with the backoff limit of 0.
		grace: 30,
		container: corev1.Container{
			Name: ContainerSeed,
			Args: args,
			Env: []corev1.EnvVar{
				fromSecret("NEO4J_USERNAME", key(cred.UsernameKey, "username")),
				fromSecret("NEO4J_PASSWORD", key(cred.PasswordKey, "password")),
				// cypher-shell is a JVM too: bound its heap like neo4j-admin's.
				{Name: "JAVA_OPTS", Value: "-Xmx" + neo4j.Size(plan.Memory.Heap.Value())},
			},
			Resources:    memoryResources(plan.Memory, r.Spec.Resources.CPU),
			VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
		},
		volumes: []corev1.Volume{emptyDir("tmp")},
	}, opts), nil
}

// BoltScheme is the Bolt URI scheme for the cluster's spec.cluster.bolt.tls.
func BoltScheme(c v1.ClusterSpec) string {
	if c.Bolt == nil {
		return neo4j.SchemePlain
	}
	switch c.Bolt.TLS {
	case v1.BoltTLSVerified:
		return neo4j.SchemeTLS
	case v1.BoltTLSSelfSigned:
		return neo4j.SchemeSelfSigned
	}
	return neo4j.SchemePlain
}

// SeedNetworkPolicy admits to the seed server only the cluster's servers (which fetch the seed)
// and the seed Job's pods (which wait for it to be served): the backup is not readable from
// anywhere else in the cluster while the restore runs (where the network enforces policies).
func SeedNetworkPolicy(r *v1.Restore) *networkingv1.NetworkPolicy {
	lbls := seedServerLabels(r)
	port := intstr.FromInt32(SeedPort)
	tcp := corev1.ProtocolTCP
	from := []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
		LabelInstance: LabelValue(r.Name), LabelComponent: RoleSeed, LabelManagedBy: ManagedBy}}}}
	if r.Spec.Cluster.ServerSelector != nil {
		from = append(from, networkingv1.NetworkPolicyPeer{PodSelector: r.Spec.Cluster.ServerSelector.DeepCopy()})
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name: SeedServerName(r.Name), Namespace: r.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{controllerRef("Restore", r)},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{
				LabelInstance: lbls[LabelInstance], LabelComponent: RoleSeedServer, LabelManagedBy: ManagedBy}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  from,
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
			}},
		},
	}
}
