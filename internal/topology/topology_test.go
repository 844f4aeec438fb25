package topology

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

func srv(name, zone string, replica, ready bool) Server {
	return Server{Name: name, Zone: zone, Node: "node-" + zone, ReadReplica: replica, Ready: ready, Host: name + ".graph.ns.svc"}
}

func names(s []Server) []string {
	out := []string{}
	for _, x := range s {
		out = append(out, x.Name)
	}
	return out
}

func TestCandidates(t *testing.T) {
	servers := []Server{
		srv("primary-1", "zone-a", false, true),
		srv("primary-0", "zone-b", false, true),
		srv("replica-1", "zone-a", true, true),
		srv("replica-0", "zone-b", true, true),
		srv("replica-2", "zone-b", true, false),                             // not ready
		{Name: "replica-3", Zone: "zone-a", ReadReplica: true, Ready: true}, // no address yet
	}
	for _, tc := range []struct {
		policy v1.SourcePolicy
		want   []string
	}{
		{v1.SourcePreferReadReplica, []string{"replica-0", "replica-1", "primary-0", "primary-1"}},
		{"", []string{"replica-0", "replica-1", "primary-0", "primary-1"}},
		{v1.SourceReadReplicaOnly, []string{"replica-0", "replica-1"}},
		{v1.SourceAny, []string{"primary-0", "primary-1", "replica-0", "replica-1"}},
	} {
		if got := names(Candidates(servers, tc.policy)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.policy, got, tc.want)
		}
	}
	if got := Candidates([]Server{srv("primary-0", "zone-a", false, true)}, v1.SourceReadReplicaOnly); len(got) != 0 {
		t.Errorf("ReadReplicaOnly without replicas: %v", names(got))
	}
}

func TestStorageZone(t *testing.T) {
	ab := []Server{srv("s0", "zone-a", false, true), srv("s1", "zone-b", true, true), srv("s2", "zone-a", true, true)}
	abc := append(append([]Server{}, ab...), srv("s3", "zone-c", true, true))
	nodes := []string{"zone-a", "zone-b", "zone-c"}
	zone := func(p v1.ZonePolicy, name string, allow bool) v1.ZoneSpec {
		return v1.ZoneSpec{Policy: p, Name: name, AllowSameZone: allow}
	}
	for _, tc := range []struct {
		name      string
		in        ZoneInput
		want      string
		cross     bool
		refused   string
		mentioned string
	}{
		{name: "avoid cluster zones", in: ZoneInput{Zone: zone(v1.ZoneAvoidClusterZones, "", false), Servers: ab, SourceZone: "zone-b", NodeZones: nodes}, want: "zone-c", cross: true},
		{name: "default policy is AvoidClusterZones", in: ZoneInput{Servers: ab, SourceZone: "zone-b", NodeZones: nodes}, want: "zone-c", cross: true},
		{name: "cluster in every zone", in: ZoneInput{Zone: zone(v1.ZoneAvoidClusterZones, "", false), Servers: abc, SourceZone: "zone-b", NodeZones: nodes},
			refused: v1.ReasonNoIsolatedZone, mentioned: "servers run in zone-a, zone-b, zone-c"},
		{name: "cluster in every zone, allowed: fewest servers off the source", in: ZoneInput{Zone: zone(v1.ZoneAvoidClusterZones, "", true), Servers: abc, SourceZone: "zone-b", NodeZones: nodes}, want: "zone-c"},
		{name: "free zone has no ready node", in: ZoneInput{Servers: ab, SourceZone: "zone-b", NodeZones: []string{"zone-a", "zone-b"}},
			refused: v1.ReasonNoIsolatedZone, mentioned: "nodes are ready in zone-a, zone-b"},
		{name: "avoid source zone prefers a free zone", in: ZoneInput{Zone: zone(v1.ZoneAvoidSourceZone, "", false), Servers: ab, SourceZone: "zone-b", NodeZones: nodes}, want: "zone-c", cross: true},
		{name: "avoid source zone takes a shared zone", in: ZoneInput{Zone: zone(v1.ZoneAvoidSourceZone, "", false), Servers: abc, SourceZone: "zone-b", NodeZones: nodes}, want: "zone-a"},
		{name: "avoid source zone, only the source's zone has nodes", in: ZoneInput{Zone: zone(v1.ZoneAvoidSourceZone, "", false), Servers: ab, SourceZone: "zone-b", NodeZones: []string{"zone-b"}},
			refused: v1.ReasonNoIsolatedZone, mentioned: "no zone other than the source's (zone-b)"},
		{name: "fixed free zone", in: ZoneInput{Zone: zone(v1.ZoneFixed, "zone-c", false), Servers: ab, NodeZones: nodes}, want: "zone-c", cross: true},
		{name: "fixed zone with servers", in: ZoneInput{Zone: zone(v1.ZoneFixed, "zone-a", false), Servers: ab, NodeZones: nodes},
			refused: v1.ReasonNoIsolatedZone, mentioned: "storage.zone.name zone-a holds servers"},
		{name: "fixed zone with servers, allowed", in: ZoneInput{Zone: zone(v1.ZoneFixed, "zone-a", true), Servers: ab, NodeZones: nodes}, want: "zone-a"},
		{name: "fixed zone without nodes", in: ZoneInput{Zone: zone(v1.ZoneFixed, "zone-x", true), Servers: ab, NodeZones: nodes},
			refused: ReasonNoNodesInZone, mentioned: "zone-x has no ready node the backup pod can run on"},
		{name: "bound volume in a free zone wins over the policy's pick", in: ZoneInput{Servers: ab, NodeZones: []string{"zone-a", "zone-b", "zone-c", "zone-d"}, BoundZone: "zone-d"}, want: "zone-d", cross: true},
		{name: "bound volume beside the servers", in: ZoneInput{Servers: ab, NodeZones: nodes, BoundZone: "zone-a"},
			refused: v1.ReasonNoIsolatedZone, mentioned: "bound to a volume in zone-a"},
		{name: "bound volume beside the servers, allowed", in: ZoneInput{Zone: zone(v1.ZoneAvoidClusterZones, "", true), Servers: ab, NodeZones: nodes, BoundZone: "zone-a"}, want: "zone-a"},
		{name: "bound volume in the source's zone", in: ZoneInput{Zone: zone(v1.ZoneAvoidSourceZone, "", false), Servers: ab, SourceZone: "zone-a", NodeZones: nodes, BoundZone: "zone-a"},
			refused: v1.ReasonNoIsolatedZone},
		{name: "bound volume in a zone without nodes", in: ZoneInput{Servers: ab, NodeZones: []string{"zone-a", "zone-b"}, BoundZone: "zone-c"},
			refused: ReasonNoNodesInZone},
		{name: "a server whose zone is unknown", in: ZoneInput{Servers: append(append([]Server{}, ab...), Server{Name: "s9", Node: "bare-node"}), SourceZone: "zone-b", NodeZones: nodes},
			refused: v1.ReasonNoIsolatedZone, mentioned: "cannot tell the zone of server(s) s9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ref := StorageZone(tc.in)
			if tc.refused != "" {
				if ref == nil || ref.Reason != tc.refused || !strings.Contains(ref.Message, tc.mentioned) {
					t.Fatalf("want refusal %s mentioning %q, got %+v (placement %+v)", tc.refused, tc.mentioned, ref, p)
				}
				return
			}
			if ref != nil {
				t.Fatalf("refused: %v", ref)
			}
			if p.StorageZone != tc.want || p.CrossZone != tc.cross {
				t.Fatalf("got %+v, want %s cross=%t", p, tc.want, tc.cross)
			}
		})
	}
}

func TestWithout(t *testing.T) {
	got := names(Without([]Server{srv("a", "zone-a", true, true), srv("b", "zone-b", true, true)}, "zone-a"))
	if !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatal(got)
	}
}

// A zone counts only when the backup pod could run on a node there: a zone whose nodes all
// carry a taint the pod does not tolerate, or lack a label of its nodeSelector, is no zone to
// put its claim in (found on the cluster in a box, whose real node is tainted).
func TestPodZones(t *testing.T) {
	tainted := []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	nodes := []Node{
		{Labels: map[string]string{corev1.LabelTopologyZone: "zone-b", "disk": "ssd"}},
		{Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}},
		{Labels: map[string]string{corev1.LabelTopologyZone: "zone-c"}, Taints: tainted},
		{Labels: map[string]string{corev1.LabelTopologyZone: "zone-d"},
			Taints: []corev1.Taint{{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}}},
		{Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}, Taints: tainted},
		{Labels: map[string]string{}},
		// The taint the API server puts on every new node until the node-lifecycle controller
		// sees it Ready: the node's Ready condition decides.
		{Labels: map[string]string{corev1.LabelTopologyZone: "zone-e"},
			Taints: []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}}},
	}
	for _, tc := range []struct {
		name        string
		selector    map[string]string
		tolerations []corev1.Toleration
		want        []string
	}{
		{"untainted zones, a preference is no bar", nil, nil, []string{"zone-a", "zone-b", "zone-d", "zone-e"}},
		{"a toleration opens the tainted zone", nil,
			[]corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}},
			[]string{"zone-a", "zone-b", "zone-c", "zone-d", "zone-e"}},
		{"a toleration of another value does not", nil,
			[]corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule}},
			[]string{"zone-a", "zone-b", "zone-d", "zone-e"}},
		{"nodeSelector", map[string]string{"disk": "ssd"}, nil, []string{"zone-b"}},
	} {
		if got := PodZones(nodes, tc.selector, tc.tolerations); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
