package resources

import (
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
	"github.com/graphkeeper/neo4j-backup-operator/internal/topology"
)

func TestNames(t *testing.T) {
	long := strings.Repeat("nightly-backup-of-the-production-graph-", 5)
	for _, tc := range []struct{ got, want string }{
		{ChildName("graph-nightly-20261128t0200", RoleBackup), "graph-nightly-20261128t0200-backup"},
		{ClaimName("graph"), "neo4j-backups-graph"},
		{LabelValue("graph"), "graph"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for _, name := range []string{ChildName(long, RoleBackup), LabelValue(long), ClaimName(long)} {
		if len(name) > 63 || len(validation.IsDNS1123Label(name)) > 0 {
			t.Errorf("%q is not a DNS label", name)
		}
	}
	if ChildName(long, RoleBackup) != ChildName(long, RoleBackup) || ChildName(long, RoleBackup) == ChildName(long+"x", RoleBackup) {
		t.Error("shortened names must be stable and distinct")
	}
}

func backup() *v1.Backup {
	return &v1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "prod", UID: "uid-1"},
		Spec: v1.BackupSpec{
			Cluster:   v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26.2", BackupPort: 6362},
			Databases: []string{"neo4j", "*"},
			Type:      v1.BackupAuto,
			Storage: v1.StorageSpec{PersistentVolumeClaim: &v1.ClaimSource{
				Template: &v1.ClaimTemplate{StorageClassName: ptr.To("zonal"), Size: resource.MustParse("10Gi")}}},
			JobOptions: v1.JobOptions{
				Image:        "neo4j:5.26.2-enterprise",
				BackoffLimit: ptr.To[int32](3),
				Resources:    v1.ComputeResources{CPU: ptr.To(resource.MustParse("500m"))},
				PodMetadata: v1.PodMetadata{
					Labels:      map[string]string{"team": "graph", LabelManagedBy: "someone-else"},
					Annotations: map[string]string{"sidecar.istio.io/inject": "false"},
				},
			},
		},
	}
}

func plan(b *v1.Backup) BackupPlan {
	budget, err := b.Spec.Memory.Budget(field.NewPath("spec", "memory"))
	if err != nil {
		panic(err)
	}
	return BackupPlan{
		Members: []topology.Server{
			{Name: "graph-1", Zone: "zone-b", Host: "graph-1.graph.prod.svc"},
			{Name: "graph-0", Zone: "zone-a", Host: "10.0.0.7"},
		},
		StorageZone: "zone-c", Location: v1.StorageLocation{ClaimName: "neo4j-backups-graph", Path: DefaultPath(b)}, Memory: budget,
	}
}

func TestBackupJob(t *testing.T) {
	b := backup()
	job, err := BackupJob(b, plan(b), Options{OperatorImage: "neo4j-backup-operator:1.0"})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	args := strings.Join(c.Args, " ")

	for what, ok := range map[string]bool{
		"named after the Backup and role":   job.Name == "nightly-backup" && job.Namespace == "prod",
		"owned by the Backup":               len(job.OwnerReferences) == 1 && job.OwnerReferences[0].UID == "uid-1" && *job.OwnerReferences[0].Controller,
		"labelled ours, Job and pod":        job.Labels[LabelManagedBy] == ManagedBy && job.Spec.Template.Labels[LabelManagedBy] == ManagedBy,
		"user labels added, ours kept":      job.Spec.Template.Labels["team"] == "graph",
		"user annotations":                  job.Spec.Template.Annotations["sidecar.istio.io/inject"] == "false",
		"pinned to the storage zone":        pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values[0] == "zone-c",
		"claim mounted":                     pod.Volumes[1].PersistentVolumeClaim.ClaimName == "neo4j-backups-graph",
		"memory request = limit = budget":   c.Resources.Requests.Memory().String() == "2Gi" && c.Resources.Limits.Memory().String() == "2Gi",
		"CPU request = limit":               c.Resources.Requests.Cpu().String() == "500m" && c.Resources.Limits.Cpu().String() == "500m",
		"HEAP_SIZE from the budget":         len(c.Env) == 1 && c.Env[0].Name == "HEAP_SIZE" && c.Env[0].Value == "1g",
		"page cache as a flag":              strings.Contains(args, "--pagecache-bytes=536870912"),
		"members in order":                  strings.Contains(args, "--member=graph-1/zone-b/graph-1.graph.prod.svc:6362 --member=graph-0/zone-a/10.0.0.7:6362"),
		"databases and globs":               strings.Contains(args, "--database=neo4j --database=*"),
		"default path":                      strings.Contains(args, "--dir=/backups/prod/graph"),
		"version for the agent":             strings.Contains(args, "--neo4j-version=5.26"),
		"consistency check on by default":   strings.Contains(args, "--check=true"),
		"reports kept under its name":       strings.Contains(args, "--backup-name=nightly"),
		"agent from the operator image":     pod.InitContainers[0].Image == "neo4j-backup-operator:1.0" && c.Command[0] == "/var/run/neo4j-backup/agent/neo4j-backup-operator",
		"no API token":                      !*pod.AutomountServiceAccountToken,
		"never restarted in place":          pod.RestartPolicy == corev1.RestartPolicyNever,
		"retries from the spec":             *job.Spec.BackoffLimit == 3,
		"exit 2 fails the Job at once":      job.Spec.PodFailurePolicy.Rules[0].Action == batchv1.PodFailurePolicyActionFailJob && job.Spec.PodFailurePolicy.Rules[0].OnExitCodes.Values[0] == 2,
		"disruptions are not failures":      job.Spec.PodFailurePolicy.Rules[1].Action == batchv1.PodFailurePolicyActionIgnore,
		"report read from the message file": c.TerminationMessagePolicy == corev1.TerminationMessageReadFile,
	} {
		if !ok {
			t.Errorf("not %s", what)
		}
	}

	// The restricted Pod Security Standard.
	if sc := pod.SecurityContext; !*sc.RunAsNonRoot || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod security context is not restricted")
	}
	for _, ctr := range append(pod.InitContainers, pod.Containers...) {
		sc := ctr.SecurityContext
		if *sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || !*sc.RunAsNonRoot {
			t.Errorf("container %s is not restricted", ctr.Name)
		}
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			t.Error("hostPath volume")
		}
	}
}

func TestBackupJobOptions(t *testing.T) {
	b := backup()
	b.Spec.Cluster.TLS = &v1.TLSSpec{SecretName: "backup-tls"}
	b.Spec.ConsistencyCheck.Enabled = ptr.To(false)
	b.Spec.Storage.Path = "team/graph"
	b.Spec.Cluster.Neo4jVersion = "4.4"
	job, err := BackupJob(b, plan(b), Options{OperatorImage: "op"})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--tls-dir=/var/run/neo4j-backup/tls", "--check=false", "--dir=/backups/team/graph", "--neo4j-version=4.4"} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %s: %s", want, args)
		}
	}
	var tls *corev1.Volume
	for i, v := range job.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			tls = &job.Spec.Template.Spec.Volumes[i]
		}
	}
	if tls == nil || tls.Secret.SecretName != "backup-tls" {
		t.Fatal("the TLS Secret is not mounted")
	}

	b.Spec.Cluster.Neo4jVersion = "3.5"
	if _, err := BackupJob(b, plan(b), Options{}); err == nil {
		t.Error("an unsupported version built a Job")
	}
}

func TestBackupClaim(t *testing.T) {
	c := BackupClaim(backup())
	if c.Name != "neo4j-backups-graph" || c.Namespace != "prod" || *c.Spec.StorageClassName != "zonal" ||
		c.Spec.Resources.Requests.Storage().String() != "10Gi" || len(c.OwnerReferences) != 0 || c.Labels[LabelManagedBy] != ManagedBy ||
		c.Labels["backup.graphkeeper.dev/cluster"] != "graph" {
		t.Fatalf("%+v", c)
	}
}

func TestRestoreJobsTellTheAgentTheChainEnd(t *testing.T) {
	r := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "prod", UID: "u"}, Spec: v1.RestoreSpec{
		Database: "neo4j", Mode: v1.RestoreVolume, Target: &v1.RestoreTarget{ClaimName: "data"},
		Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.20"}, JobOptions: v1.JobOptions{Image: "neo4j:5.20-enterprise"},
	}}
	plan := RestorePlan{Location: v1.StorageLocation{ClaimName: "b", Path: "prod/graph"}, Chain: []string{"F", "D"}, UntilTx: 15, ChainHighTx: 20,
		Memory: v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}}
	job, err := RestoreJob(r, plan, Options{OperatorImage: "op"})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	// The agent asks neo4j-admin for the transaction after 15 unless 15 ends the chain; before
	// 5.24 it copies the chain onto the target claim, never writing to the backup volume.
	for _, want := range []string{"--until-tx=15 --chain-high-tx=20", "--stage-dir=/data", "--artifact=F --artifact=D"} {
		if !strings.Contains(args, want) {
			t.Errorf("restore args lack %s: %s", want, args)
		}
	}
	inspect, err := InspectJob(r, plan, Options{OperatorImage: "op"})
	if err != nil {
		t.Fatal(err)
	}
	if a := strings.Join(inspect.Spec.Template.Spec.Containers[0].Args, " "); strings.Contains(a, "chain-high-tx") {
		t.Errorf("the inspection finds the chain's end itself: %s", a)
	}
}

// A drill restores into its own scratch claim (never a target), replaces what a retried pod
// left there, and checks the database with the budget's page cache.
func TestDrillJobRestoresIntoScratchAndChecks(t *testing.T) {
	r := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "drill", Namespace: "prod", UID: "u"}, Spec: v1.RestoreSpec{
		Database: "neo4j", Mode: v1.RestoreVerify, Scratch: &v1.ClaimTemplate{StorageClassName: ptr.To("zonal"), Size: resource.MustParse("30Gi")},
		Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26"}, JobOptions: v1.JobOptions{Image: "neo4j:5.26-enterprise"},
	}}
	plan := RestorePlan{Location: v1.StorageLocation{ClaimName: "b", Path: "prod/graph"}, Zone: "zone-b", Chain: []string{"F", "D"},
		Memory: v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}}
	job, err := RestoreJob(r, plan, Options{OperatorImage: "op"})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--data-dir=/data", "--replace", "--check", "--check-page-cache-bytes=536870912"} {
		if !strings.Contains(args, want+" ") && !strings.HasSuffix(args, want) {
			t.Errorf("drill args lack %s: %s", want, args)
		}
	}
	var data string
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil {
			data = v.PersistentVolumeClaim.ClaimName
		}
	}
	claim := ScratchClaim(r)
	if data != "drill-scratch" || claim.Name != data {
		t.Errorf("the drill's /data is claim %q, its scratch claim %q", data, claim.Name)
	}
	if *claim.Spec.StorageClassName != "zonal" || claim.Spec.Resources.Requests.Storage().String() != "30Gi" ||
		!metav1.IsControlledBy(claim, r) || claim.Labels[LabelComponent] != RoleScratch {
		t.Errorf("scratch claim: %+v", claim)
	}
	if a := job.Spec.Template.Spec.Affinity; a == nil || !strings.Contains(a.String(), "zone-b") {
		t.Errorf("the drill does not run in the backup's zone: %v", a)
	}

	r.Spec.Mode, r.Spec.Scratch = v1.RestoreVolume, nil
	if _, err := RestoreJob(r, plan, Options{OperatorImage: "op"}); err == nil || !strings.Contains(err.Error(), "spec.target") {
		t.Errorf("a Volume restore without a target: %v", err)
	}
	r.Spec.Target = &v1.RestoreTarget{ClaimName: "data"}
	job, err = RestoreJob(r, plan, Options{OperatorImage: "op"})
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "); strings.Contains(args, "--check") || strings.Contains(args, "--replace") {
		t.Errorf("a Volume restore checks or replaces unasked: %s", args)
	}
}

func TestSeedJobBoltScheme(t *testing.T) {
	for tls, want := range map[v1.BoltTLS]string{"": "neo4j", v1.BoltTLSDisabled: "neo4j", v1.BoltTLSVerified: "neo4j+s", v1.BoltTLSSelfSigned: "neo4j+ssc"} {
		r := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "prod", UID: "u"}, Spec: v1.RestoreSpec{
			Database: "neo4j", Mode: v1.RestoreSeedFromURI, CredentialsSecret: &v1.CredentialsSecret{Name: "creds"},
			Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26", Bolt: &v1.BoltSpec{TLS: tls}}, JobOptions: v1.JobOptions{Image: "neo4j:5.26-enterprise"},
		}}
		job, err := SeedJob(r, SeedPlan{RestorePlan: RestorePlan{Chain: []string{"F"}}, Servers: []string{"g:7687"}}, Options{OperatorImage: "op"})
		if err != nil {
			t.Fatal(err)
		}
		if args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--bolt-scheme="+want+" ") {
			t.Errorf("tls %q: %s", tls, args)
		}
	}
}

// Every Job the operator makes, for Backups and Restores whose names were picked to collide
// under "the owner's name" or "<owner>-<suffix>" naming: a Backup and a Restore of one name, a
// Backup named like another object's child, a dotted name and a long one. No two may share a
// name, each name ends in its role, and the role is its component label (CloudNativePG's
// <owner>-<role>).
func TestChildJobNamesNeverCollide(t *testing.T) {
	long := strings.Repeat("nightly-backup-of-the-production-graph-", 2)
	names := []string{"x", "x-inspect", "x-prune", "x-backup", "x-restore", "seed-x", "seed", "backup", "x.y", "x-y", long, long + "b"}
	opts := Options{OperatorImage: "op"}
	type child struct{ owner, role string }
	seen := map[string]child{}
	add := func(owner string, job *batchv1.Job, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		role := job.Labels[LabelComponent]
		c := child{owner, role}
		if prev, ok := seen[job.Name]; ok && prev != c {
			t.Errorf("Job %s is both %s's %s and %s's %s", job.Name, prev.owner, prev.role, owner, role)
		}
		seen[job.Name] = c
		if len(validation.IsDNS1123Subdomain(job.Name)) > 0 || len(validation.IsValidLabelValue(job.Name)) > 0 {
			t.Errorf("%s: %q is not a Job name the Job controller can label its pods with", c, job.Name)
		}
		if !strings.HasSuffix(job.Name, "-"+role) {
			t.Errorf("%s: %q does not end in its role", c, job.Name)
		}
	}
	memory := v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}
	for _, n := range names {
		b := backup()
		b.Name = n
		job, err := BackupJob(b, plan(b), opts)
		add("Backup "+n, job, err)
		b.Status.Storage = &v1.StorageLocation{ClaimName: "c", Path: "p"}
		add("Backup "+n, PruneJob(b, Prune{Artifacts: []string{"F"}}, opts), nil)

		r := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "prod", UID: "u"}, Spec: v1.RestoreSpec{
			Database: "neo4j", Mode: v1.RestoreVolume, Target: &v1.RestoreTarget{ClaimName: "data"}, CredentialsSecret: &v1.CredentialsSecret{Name: "creds"},
			Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26"}, JobOptions: v1.JobOptions{Image: "neo4j:5.26-enterprise"},
		}}
		rp := RestorePlan{Location: v1.StorageLocation{ClaimName: "b", Path: "prod/graph"}, Chain: []string{"F"}, Memory: memory}
		job, err = RestoreJob(r, rp, opts)
		add("Restore "+n, job, err)
		job, err = InspectJob(r, rp, opts)
		add("Restore "+n, job, err)
		r.Spec.Mode, r.Spec.Target = v1.RestoreSeedFromURI, nil
		job, err = SeedJob(r, SeedPlan{RestorePlan: rp, Servers: []string{"g:7687"}}, opts)
		add("Restore "+n, job, err)
		job, err = SeedServerJob(r, rp, opts)
		add("Restore "+n, job, err)
		if svc := SeedService(r); svc.Name != job.Name || len(validation.IsDNS1035Label(svc.Name)) > 0 {
			t.Errorf("Restore %s: seed Service %q must be a DNS-1035 label named like its server Job %q", n, svc.Name, job.Name)
		}
	}
}

// A prune Job has no owner (a foreground deletion of its Backup would take it down first), so it
// must go by itself if the controller's delete misses it.
// Argo CD's label tracking takes app.kubernetes.io/instance=<name> as "part of the Application
// <name>" and may prune it: the objects the operator leaves without an owner never carry it.
func TestUnownedObjectsCarryNoInstanceLabel(t *testing.T) {
	b := backup()
	b.Status.Storage = &v1.StorageLocation{ClaimName: "c", Path: "p"}
	job := PruneJob(b, Prune{Artifacts: []string{"F"}}, Options{OperatorImage: "op"})
	for what, l := range map[string]map[string]string{"claim": BackupClaim(backup()).Labels, "prune Job": job.Labels, "prune pod": job.Spec.Template.Labels} {
		if v, ok := l["app.kubernetes.io/instance"]; ok {
			t.Errorf("the %s carries app.kubernetes.io/instance=%s", what, v)
		}
	}
	if job.Labels[LabelBackup] != b.Name {
		t.Errorf("the prune Job names its Backup: %v", job.Labels)
	}
}

func TestPruneJobGoesByItself(t *testing.T) {
	b := backup()
	b.Status.Storage = &v1.StorageLocation{ClaimName: "c", Path: "p"}
	job := PruneJob(b, Prune{Artifacts: []string{"F"}}, Options{OperatorImage: "op"})
	if len(job.OwnerReferences) != 0 || job.Spec.TTLSecondsAfterFinished == nil || *job.Spec.TTLSecondsAfterFinished != 86400 {
		t.Errorf("owners %v, TTL %v", job.OwnerReferences, job.Spec.TTLSecondsAfterFinished)
	}
}

func TestPruneJobKnowsItsBackup(t *testing.T) {
	b := backup()
	b.Status.Storage = &v1.StorageLocation{ClaimName: "c", Path: "p"}
	job := PruneJob(b, Prune{Artifacts: []string{"F"}}, Options{OperatorImage: "op"})
	again := b.DeepCopy()
	again.UID = "uid-2" // the same name, made again since
	if !IsPruneJobOf(job, b) || IsPruneJobOf(job, again) || !IsPruneJobFor(job, again.Name) {
		t.Error("a prune Job must be its Backup's, by UID, and known as one for the name")
	}
	delete(job.Annotations, BackupUIDAnnotation) // made by an earlier version
	if !IsPruneJobOf(job, again) {
		t.Error("an earlier version's prune Job is taken by its name")
	}
}

// bucketBackup is backup() storing into a bucket folder.
func bucketBackup(o v1.ObjectStoreSpec) *v1.Backup {
	b := backup()
	b.Spec.Storage.PersistentVolumeClaim = nil
	b.Spec.Storage.ObjectStore = &o
	return b
}

func env(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			m[e.Name] = "<from>"
			continue
		}
		m[e.Name] = e.Value
	}
	return m
}

func volume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func mountPath(c corev1.Container, name string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == name {
			return m.MountPath
		}
	}
	return ""
}

// What the pod holds is what the manual has neo4j-admin's machine hold: for S3 the files in
// ~/.aws of the image's user (home /var/lib/neo4j), "AWS_ENDPOINT_URL_S3" for another store
// (5.x partials/aws-s3-overrides.adoc:4, aws-s3-credentials.adoc:12-39); for GCS
// "GOOGLE_APPLICATION_CREDENTIALS and GOOGLE_CLOUD_PROJECT" (partials/gcs-credentials.adoc:5).
func TestBackupJobToABucket(t *testing.T) {
	b := bucketBackup(v1.ObjectStoreSpec{
		URI:         "s3://backups/neo4j/",
		Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"},
		Endpoint:    "https://minio.storage:9000", Region: "eu-west-1",
		Staging: &v1.ClaimTemplate{StorageClassName: ptr.To("fast"), Size: resource.MustParse("40Gi")},
	})
	p := plan(b)
	p.Location = Location(b)
	job, err := BackupJob(b, p, Options{OperatorImage: "neo4j-backup-operator:1.0"})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	args := strings.Join(c.Args, " ")
	e := env(c)
	staging := volume(pod, "staging")
	creds := volume(pod, "bucket-credentials")
	for what, ok := range map[string]bool{
		"the bucket folder and the default path": strings.Contains(args, "--dir=s3://backups/neo4j/prod/graph "),
		"staging on the staging volume":          strings.Contains(args, "--temp-dir=/staging/tmp ") && mountPath(c, "staging") == "/staging",
		"staging made with the pod, as sized": staging != nil && staging.Ephemeral != nil &&
			staging.Ephemeral.VolumeClaimTemplate.Spec.Resources.Requests.Storage().String() == "40Gi" &&
			*staging.Ephemeral.VolumeClaimTemplate.Spec.StorageClassName == "fast",
		"no backup claim":               volume(pod, "backups") == nil,
		"not pinned to a zone":          pod.Affinity == nil,
		"the files where the SDK looks": mountPath(c, "bucket-credentials") == "/var/lib/neo4j/.aws",
		"their paths named":             e["AWS_SHARED_CREDENTIALS_FILE"] == "/var/lib/neo4j/.aws/credentials" && e["AWS_CONFIG_FILE"] == "/var/lib/neo4j/.aws/config",
		"the endpoint and region":       e["AWS_ENDPOINT_URL_S3"] == "https://minio.storage:9000" && e["AWS_REGION"] == "eu-west-1",
		"HEAP_SIZE still set":           e["HEAP_SIZE"] == "1g",
		"no secret value in env":        !strings.Contains(fmt.Sprint(c.Env), "aws-backup"),
		"the location is the bucket's":  job.Labels[LabelLocation] == LocationLabel(v1.StorageLocation{URI: "s3://backups", Path: "neo4j/prod/graph", Endpoint: "https://minio.storage:9000"}),
	} {
		if !ok {
			t.Errorf("not %s", what)
		}
	}
	if creds == nil || creds.Projected == nil || len(creds.Projected.Sources) != 2 {
		t.Fatalf("credentials volume: %+v", creds)
	}
	if s := creds.Projected.Sources[0].Secret; s.Name != "aws-backup" || s.Items[0].Key != "credentials" || *s.Optional {
		t.Errorf("the credentials file is required: %+v", s)
	}
	if s := creds.Projected.Sources[1].Secret; s.Items[0].Key != "config" || !*s.Optional {
		t.Errorf("the config file is optional (the region may be in the spec): %+v", s)
	}

	gs := bucketBackup(v1.ObjectStoreSpec{URI: "gs://graph-backups", Project: "graph-prod",
		Credentials: v1.ObjectStoreCredentials{SecretName: "gcs-key"}, Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}})
	p = plan(gs)
	p.Location = Location(gs)
	job, _ = BackupJob(gs, p, Options{})
	c = job.Spec.Template.Spec.Containers[0]
	e = env(c)
	if e["GOOGLE_APPLICATION_CREDENTIALS"] != "/var/run/neo4j-backup/gcs/credentials.json" || mountPath(c, "bucket-credentials") != "/var/run/neo4j-backup/gcs" ||
		e["GOOGLE_CLOUD_PROJECT"] != "graph-prod" || e["AWS_REGION"] != "" || !strings.Contains(strings.Join(c.Args, " "), "--dir=gs://graph-backups/prod/graph ") {
		t.Errorf("gs:// pod: env %v, args %v", e, c.Args)
	}

	wi := bucketBackup(v1.ObjectStoreSpec{URI: "s3://backups", Credentials: v1.ObjectStoreCredentials{WorkloadIdentity: true},
		Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}})
	wi.Spec.ServiceAccountName = "neo4j-backup"
	p = plan(wi)
	p.Location = Location(wi)
	job, _ = BackupJob(wi, p, Options{})
	pod = job.Spec.Template.Spec
	if volume(pod, "bucket-credentials") != nil || pod.ServiceAccountName != "neo4j-backup" || env(pod.Containers[0])["AWS_SHARED_CREDENTIALS_FILE"] != "" {
		t.Errorf("workload identity: the ServiceAccount and no credential files: %+v", pod)
	}
}

// Azure: "Authenticate the neo4j or neo4j-admin process against Azure using the default Azure
// credentials" (5.26.2 partials/azb-credentials.adoc:7). DefaultAzureCredential reads a service
// principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, and Microsoft Entra
// Workload ID's webhook injects its variables only into pods labelled
// azure.workload.identity/use: "true" (its documentation; not Neo4j's).
func TestJobsReachAnAzureContainer(t *testing.T) {
	o := v1.ObjectStoreSpec{URI: "azb://graphbackups/backups/neo4j", Credentials: v1.ObjectStoreCredentials{SecretName: "azure-sp"},
		Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}}
	b := bucketBackup(o)
	p := plan(b)
	p.Location = Location(b)
	if p.Location.URI != "azb://graphbackups/backups" || p.Location.Path != "neo4j/prod/graph" {
		t.Errorf("location %+v: the account and container are the bucket", p.Location)
	}
	job, err := BackupJob(b, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	refs := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "azure-sp" && !ptr.Deref(e.ValueFrom.SecretKeyRef.Optional, false) {
			refs[e.Name] = e.ValueFrom.SecretKeyRef.Key
		}
	}
	if fmt.Sprint(refs) != "map[AZURE_CLIENT_ID:AZURE_CLIENT_ID AZURE_CLIENT_SECRET:AZURE_CLIENT_SECRET AZURE_TENANT_ID:AZURE_TENANT_ID]" {
		t.Errorf("the service principal from the Secret's keys of the variables' names, required: %v", refs)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--dir=azb://graphbackups/backups/neo4j/prod/graph ") || volume(pod, "bucket-credentials") != nil ||
		pod.Affinity != nil || job.Spec.Template.Labels[AzureWorkloadIdentityLabel] != "" {
		t.Errorf("azb:// pod: args %v, volumes %+v, labels %v", c.Args, pod.Volumes, job.Spec.Template.Labels)
	}

	// Workload identity: the label on every pod that reaches the container, and no variables.
	o.Credentials = v1.ObjectStoreCredentials{WorkloadIdentity: true}
	wi := bucketBackup(o)
	wi.Spec.ServiceAccountName = "neo4j-backup"
	p = plan(wi)
	p.Location = Location(wi)
	job, _ = BackupJob(wi, p, Options{})
	wi.Status.Storage = &p.Location
	prune := PruneJob(wi, Prune{Artifacts: []string{"neo4j-2026-12-01T02-00-00.backup"}}, Options{})
	r := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "prod", UID: "u"}, Spec: v1.RestoreSpec{
		Database: "neo4j", Mode: v1.RestoreVolume, Target: &v1.RestoreTarget{ClaimName: "data"},
		Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "5.26"}, JobOptions: v1.JobOptions{Image: "neo4j:5.26-enterprise", ServiceAccountName: "neo4j-backup"},
	}}
	rp := RestorePlan{Location: p.Location, Access: &o, Chain: []string{"F"},
		Memory: v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}}
	restore, err := RestoreJob(r, rp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inspect, err := InspectJob(r, rp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Spec.Mode, r.Spec.Target = v1.RestoreSeedFromURI, nil
	server, err := SeedServerJob(r, rp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, j := range map[string]*batchv1.Job{"backup": job, "prune": prune, "restore": restore, "inspection": inspect, "seed server": server} {
		tpl := j.Spec.Template
		if tpl.Labels[AzureWorkloadIdentityLabel] != "true" || tpl.Spec.ServiceAccountName != "neo4j-backup" || env(tpl.Spec.Containers[0])["AZURE_CLIENT_SECRET"] != "" ||
			tpl.Labels[LabelManagedBy] != ManagedBy {
			t.Errorf("%s pod with workload identity: labels %v, ServiceAccount %q, env %v", name, tpl.Labels, tpl.Spec.ServiceAccountName, tpl.Spec.Containers[0].Env)
		}
		if j.Labels[AzureWorkloadIdentityLabel] != "" {
			t.Errorf("%s: the label is the pod's, not the Job's: %v", name, j.Labels)
		}
	}
}

func TestPruneJobInABucket(t *testing.T) {
	b := bucketBackup(v1.ObjectStoreSpec{URI: "s3://backups", Credentials: v1.ObjectStoreCredentials{SecretName: "aws-backup"},
		Region: "eu-west-1", Staging: &v1.ClaimTemplate{Size: resource.MustParse("1Gi")}})
	b.Status.Storage = &v1.StorageLocation{URI: "s3://backups", Path: "prod/graph"}
	b.Status.Placement = &v1.Placement{StorageZone: "zone-c"} // a zonal bucket's
	job := PruneJob(b, Prune{Artifacts: []string{"neo4j-2026-12-01T02-00-00.backup"}}, Options{})
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if !strings.Contains(strings.Join(c.Args, " "), "--dir=s3://backups/prod/graph --artifact=neo4j-2026-12-01T02-00-00.backup") ||
		volume(pod, "backups") != nil || volume(pod, "staging") != nil || env(c)["AWS_REGION"] != "eu-west-1" ||
		mountPath(c, "bucket-credentials") != "/var/lib/neo4j/.aws" || pod.Affinity != nil {
		t.Errorf("prune in a bucket: args %v, env %v, volumes %+v", c.Args, c.Env, pod.Volumes)
	}
}

// Seeded straight from the bucket, the servers fetch the chain's last artifact there and apply a
// point in time themselves (seedRestoreUntil); the seed Job reaches only the servers.
func TestSeedJobStraightFromABucket(t *testing.T) {
	r := &v1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "prod", UID: "u"}, Spec: v1.RestoreSpec{
		Database: "neo4j", Mode: v1.RestoreSeedFromURI, CredentialsSecret: &v1.CredentialsSecret{Name: "creds"},
		Cluster: v1.ClusterSpec{Name: "graph", Neo4jVersion: "2025.10"}, JobOptions: v1.JobOptions{Image: "neo4j:2025.10-enterprise"},
	}}
	o := &v1.ObjectStoreSpec{URI: "s3://graph-backups", Credentials: v1.ObjectStoreCredentials{SecretName: "aws"}}
	plan := RestorePlan{Location: v1.StorageLocation{URI: "s3://graph-backups", Path: "neo4j/prod/graph"}, Access: o, Chain: []string{"F.backup", "D.backup"},
		UntilTx: 15, ChainHighTx: 20, SeedFromBucket: true,
		Memory: v1.MemoryBudget{Heap: resource.MustParse("1Gi"), PageCache: resource.MustParse("512Mi"), Limit: resource.MustParse("2Gi")}}
	if got := SeedURI(r, plan); got != "s3://graph-backups/neo4j/prod/graph/D.backup" {
		t.Errorf("seed URI %s", got)
	}
	job, err := SeedJob(r, SeedPlan{RestorePlan: plan, Servers: []string{"graph-0:7687"}}, Options{OperatorImage: "op"})
	if err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--seed-uri=s3://graph-backups/neo4j/prod/graph/D.backup ", "--until-tx=15 --chain-high-tx=20"} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %q: %s", want, args)
		}
	}
	if volume(job.Spec.Template.Spec, "bucket-credentials") != nil || env(c)["AWS_SHARED_CREDENTIALS_FILE"] != "" {
		t.Errorf("the seed Job reaches the servers, not the bucket: %+v", job.Spec.Template.Spec)
	}
	// From a seed server the point in time is in the dump it serves: no bound for the servers.
	plan.SeedFromBucket = false
	job, _ = SeedJob(r, SeedPlan{RestorePlan: plan, Servers: []string{"graph-0:7687"}}, Options{OperatorImage: "op"})
	if args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "); strings.Contains(args, "--until-tx") || !strings.Contains(args, "--seed-uri=http://") {
		t.Errorf("seed server's args: %s", args)
	}
}
