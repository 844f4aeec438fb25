// Package topology decides where a backup is read from and where it is stored: the ordered
// candidate servers for a source policy, and the storage zone for a zone policy. It is pure: the
// controller gathers pods, nodes and volumes into plain values and calls it.
package topology

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

// Server is one Neo4j server pod as the controller saw it.
type Server struct {
	// Name of the pod.
	Name string
	// Zone of its node (topology.kubernetes.io/zone); empty when the pod is not scheduled or
	// its node has no zone label.
	Zone string
	// Node the pod runs on; empty when not scheduled.
	Node string
	// Ready is the pod's Ready condition.
	Ready bool
	// ReadReplica: the pod matches the read-replica (secondary) selector.
	ReadReplica bool
	// Host to reach its backup port: a stable DNS name when the pod has hostname and subdomain
	// (a StatefulSet behind a headless Service), else its IP; empty when it has neither.
	Host string
}

// Node is what the zone choice needs of a ready, schedulable node: its labels (the zone among
// them) and taints.
type Node struct {
	Labels map[string]string
	Taints []corev1.Taint
}

// PodZones are the zones, sorted, with a node a pod with nodeSelector and tolerations can be
// scheduled on: every label of the selector matches and every NoSchedule and NoExecute taint is
// tolerated (PreferNoSchedule only steers the scheduler; Kubernetes' condition taints are left
// to the Ready condition the caller checked). A zone where the backup pod cannot run
// is no zone for its claim: a pod there would stay unschedulable.
func PodZones(nodes []Node, nodeSelector map[string]string, tolerations []corev1.Toleration) []string {
	seen := map[string]bool{}
	var zones []string
	for _, n := range nodes {
		zone := n.Labels[corev1.LabelTopologyZone]
		if zone == "" || seen[zone] || !selects(nodeSelector, n.Labels) || !tolerates(tolerations, n.Taints) {
			continue
		}
		seen[zone] = true
		zones = append(zones, zone)
	}
	sort.Strings(zones)
	return zones
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func tolerates(tolerations []corev1.Toleration, taints []corev1.Taint) bool {
	for i := range taints {
		if taints[i].Effect == corev1.TaintEffectPreferNoSchedule || strings.HasPrefix(taints[i].Key, "node.kubernetes.io/") {
			// Kubernetes' own taints for a node's conditions (not-ready, unreachable,
			// memory-pressure, ...) come and go with them: the node's Ready condition and
			// spec.unschedulable are what say whether it counts, not a taint its controller
			// has yet to lift.
			continue
		}
		ok := false
		for j := range tolerations {
			// Lt and Gt tolerations count only where a feature gate is on: not counted here,
			// the side that refuses a zone rather than leave a pod unschedulable.
			if tolerations[j].ToleratesTaint(logr.Discard(), &taints[i], false) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Candidates orders the servers a backup may be read from: only ready servers with an address;
// read replicas first for PreferReadReplica, only them for ReadReplicaOnly, everyone for Any;
// by name within a group, so the order is stable.
func Candidates(servers []Server, policy v1.SourcePolicy) []Server {
	var replicas, others []Server
	for _, s := range servers {
		if !s.Ready || s.Host == "" {
			continue
		}
		if s.ReadReplica && policy != v1.SourceAny {
			replicas = append(replicas, s)
		} else {
			others = append(others, s)
		}
	}
	byName := func(l []Server) {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	byName(replicas)
	byName(others)
	switch policy {
	case v1.SourceReadReplicaOnly:
		return replicas
	default:
		return append(replicas, others...)
	}
}

// Without drops the candidates in zone.
func Without(cands []Server, zone string) []Server {
	var out []Server
	for _, c := range cands {
		if c.Zone != zone {
			out = append(out, c)
		}
	}
	return out
}

// ClusterZones are the zones the servers run in, sorted. Unknown lists servers whose zone cannot
// be told (unscheduled, or on a node without a zone label).
func ClusterZones(servers []Server) (zones []string, unknown []string) {
	seen := map[string]bool{}
	for _, s := range servers {
		switch {
		case s.Zone != "":
			if !seen[s.Zone] {
				seen[s.Zone] = true
				zones = append(zones, s.Zone)
			}
		case s.Node != "":
			unknown = append(unknown, s.Name)
		}
	}
	sort.Strings(zones)
	return zones, unknown
}

// ZoneInput is what the storage-zone decision looks at.
type ZoneInput struct {
	Zone v1.ZoneSpec
	// Servers of the cluster (all of them, ready or not: a server restarting still lives in its
	// zone).
	Servers []Server
	// SourceZone is the zone of the first candidate (for AvoidSourceZone).
	SourceZone string
	// NodeZones are the zones with a ready node the backup pod can run on (PodZones).
	NodeZones []string
	// BoundZone is the zone of the volume the claim is already bound to, if any: then that is
	// the storage zone, whatever the policy would pick.
	BoundZone string
	// Bucket: BoundZone is a zonal bucket's, which pods reach from every zone, so no node need
	// run there.
	Bucket bool
}

// Refusal says why no zone fits. Reason is a condition reason.
type Refusal struct {
	Reason  string
	Message string
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Message }

// Placement is the decided storage zone.
type Placement struct {
	StorageZone  string
	ClusterZones []string
	// CrossZone is true when no server of the cluster runs in StorageZone.
	CrossZone bool
}

// ReasonNoNodesInZone: a Fixed zone (or the bound volume's zone) has no ready, schedulable node.
const ReasonNoNodesInZone = "NoNodesInZone"

// StorageZone picks the zone of the backup volume. With allowSameZone false it refuses, rather
// than store a backup in a zone where it could be lost with the servers it protects.
func StorageZone(in ZoneInput) (Placement, *Refusal) {
	clusterZones, unknown := ClusterZones(in.Servers)
	p := Placement{ClusterZones: clusterZones}
	allow := in.Zone.AllowSameZone
	isClusterZone := func(z string) bool { return contains(clusterZones, z) }
	seen := fmt.Sprintf("servers run in %s; nodes are ready in %s (nodes the backup pod's nodeSelector and tolerations let it run on)", list(clusterZones), list(in.NodeZones))

	if len(unknown) > 0 && !allow && in.Zone.Policy != v1.ZoneAvoidSourceZone {
		return p, &Refusal{v1.ReasonNoIsolatedZone, fmt.Sprintf(
			"cannot tell the zone of server(s) %s (their nodes have no topology.kubernetes.io/zone label), so no zone is known to be free of the cluster; label the nodes or set storage.zone.allowSameZone",
			strings.Join(unknown, ", "))}
	}

	choose := func(z string) (Placement, *Refusal) {
		p.StorageZone = z
		p.CrossZone = !isClusterZone(z)
		return p, nil
	}

	if in.BoundZone != "" {
		z := in.BoundZone
		bad := false
		switch in.Zone.Policy {
		case v1.ZoneAvoidSourceZone:
			bad = z == in.SourceZone
		case v1.ZoneFixed:
			bad = z != in.Zone.Name || isClusterZone(z)
		default:
			bad = isClusterZone(z)
		}
		if bad && !allow && in.Bucket {
			return p, &Refusal{v1.ReasonNoIsolatedZone, fmt.Sprintf(
				"the bucket is in zone %s (storage.objectStore.zone), which storage.zone.policy %s does not allow (servers run in %s); use a bucket in another zone or a regional one, or set storage.zone.allowSameZone",
				z, in.Zone.Policy, list(clusterZones))}
		}
		if bad && !allow {
			return p, &Refusal{v1.ReasonNoIsolatedZone, fmt.Sprintf(
				"the backup claim is bound to a volume in %s, which storage.zone.policy %s does not allow (%s); move the backups to a claim in another zone or set storage.zone.allowSameZone",
				z, in.Zone.Policy, seen)}
		}
		if !in.Bucket && !contains(in.NodeZones, z) {
			return p, &Refusal{ReasonNoNodesInZone, fmt.Sprintf("the backup claim is bound to a volume in %s, where no node the backup pod can run on is ready (%s)", z, seen)}
		}
		return choose(z)
	}

	switch in.Zone.Policy {
	case v1.ZoneFixed:
		z := in.Zone.Name
		if !contains(in.NodeZones, z) {
			return p, &Refusal{ReasonNoNodesInZone, fmt.Sprintf("storage.zone.name %s has no ready node the backup pod can run on (%s)", z, seen)}
		}
		if isClusterZone(z) && !allow {
			return p, &Refusal{v1.ReasonNoIsolatedZone, fmt.Sprintf(
				"storage.zone.name %s holds servers of the cluster (%s); choose another zone or set storage.zone.allowSameZone", z, seen)}
		}
		return choose(z)

	case v1.ZoneAvoidSourceZone:
		var free, shared []string
		for _, z := range in.NodeZones {
			switch {
			case z == in.SourceZone:
			case isClusterZone(z):
				shared = append(shared, z)
			default:
				free = append(free, z)
			}
		}
		// A zone with no server at all beats one that only avoids the source.
		if len(free) > 0 {
			return choose(free[0])
		}
		if len(shared) > 0 {
			return choose(shared[0])
		}
		if allow && in.SourceZone != "" && contains(in.NodeZones, in.SourceZone) {
			return choose(in.SourceZone)
		}
		return p, &Refusal{v1.ReasonNoIsolatedZone, fmt.Sprintf(
			"no zone other than the source's (%s) has a ready node (%s)", orNone(in.SourceZone), seen)}

	default: // AvoidClusterZones
		for _, z := range in.NodeZones {
			if !isClusterZone(z) {
				return choose(z)
			}
		}
		if allow && len(in.NodeZones) > 0 {
			// Same zone allowed: the zone with the fewest servers, off the source's zone when
			// there is another, so one zone's loss takes as little with it as possible.
			return choose(leastShared(in.NodeZones, in.Servers, in.SourceZone))
		}
		return p, &Refusal{v1.ReasonNoIsolatedZone, fmt.Sprintf(
			"every zone with a ready node holds servers of the cluster (%s); add nodes in another zone or set storage.zone.allowSameZone", seen)}
	}
}

// leastShared picks, among zones, the one with the fewest servers, avoiding avoid if it can;
// ties go to the first in order.
func leastShared(zones []string, servers []Server, avoid string) string {
	count := map[string]int{}
	for _, s := range servers {
		count[s.Zone]++
	}
	best := ""
	for _, z := range zones {
		if z == avoid && len(zones) > 1 {
			continue
		}
		if best == "" || count[z] < count[best] {
			best = z
		}
	}
	return best
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func list(l []string) string {
	if len(l) == 0 {
		return "no zone"
	}
	return strings.Join(l, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
