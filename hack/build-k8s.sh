#!/usr/bin/env bash
# Builds the real Kubernetes components the tests and `make demo` run: kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl and kubelet (v1.37.2), etcd (v3.7.3) and kwok
# (v0.8.0), helm (v3.22.0), and the real node's runtime: containerd (v2.4.2, with its runc shim and
# ctr) and the CNI plugins (v1.10.0). All come from the Go module proxy through the pinned modules
# under hack/tools/; runc is the one part from apt (.ci/run installs it). Azurite, the Azure Blob
# emulator the object-store tests run, comes from npm, pinned by hack/tools/azurite/package-lock.json.
#
# The binaries go into a per-user cache folder keyed by a stamp of the versions, the tools modules'
# go.sum files and the Go version, so a fresh clone in another folder (as CI makes) reuses a warm
# machine's build; bin/k8s is a link to it. A fresh machine pays ~7.5 minutes on 2 cores.
#
# Prints the folder (for KUBEBUILDER_ASSETS) on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tools="$here/tools"

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0

stamp=$( { echo "$K8S_VERSION $ETCD_VERSION $KWOK_VERSION"; go env GOVERSION GOARCH GOOS;
           cat "$tools"/kubernetes/go.sum "$tools"/etcd/go.sum "$tools"/kwok/go.sum "$0"; } \
         | sha256sum | cut -c1-12)
cache=${NEO4J_BACKUP_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neo4j-backup-operator}
dest="$cache/k8s-$K8S_VERSION-$stamp"
want=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet etcd kwok)

link() {
	mkdir -p "$root/bin"
	ln -sfn "$dest" "$root/bin/k8s"
	echo "$dest"
}

# helm is built into the same folder, with its own stamp: a new helm does not rebuild Kubernetes.
HELM_VERSION=v3.22.0
helm_stamp=$( { echo "$HELM_VERSION"; go env GOVERSION GOARCH GOOS; cat "$tools"/helm/go.sum; } | sha256sum | cut -c1-12)
helm() {
	if [ -x "$dest/helm" ] && [ "$(cat "$dest/.helm" 2>/dev/null)" = "$helm_stamp" ]; then
		return
	fi
	echo "building helm $HELM_VERSION into $dest" >&2
	local hstart=$SECONDS
	(cd "$tools/helm" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
		-o "$dest/helm.tmp.$$" helm.sh/helm/v3/cmd/helm)
	mv "$dest/helm.tmp.$$" "$dest/helm"
	echo "$helm_stamp" > "$dest/.helm"
	echo "built helm in $((SECONDS - hstart)) s" >&2
}

# containerd and the CNI plugins, likewise with their own stamp. The CNI plugins go into cni/, the
# folder containerd's CRI plugin is pointed at.
CONTAINERD_VERSION=v2.4.2
CNI_VERSION=v1.10.0
node_stamp=$( { echo "$CONTAINERD_VERSION $CNI_VERSION"; go env GOVERSION GOARCH GOOS;
                cat "$tools"/containerd/go.sum "$tools"/cni/go.sum; } | sha256sum | cut -c1-12)
node() {
	if [ "$(cat "$dest/.node" 2>/dev/null)" = "$node_stamp" ]; then
		return
	fi
	echo "building containerd $CONTAINERD_VERSION and the CNI plugins $CNI_VERSION into $dest" >&2
	local nstart=$SECONDS ntmp="$dest/node.tmp.$$"
	rm -rf "$ntmp" && mkdir -p "$ntmp/cni"
	# The tags leave out snapshotters that need cgo or kernel headers; overlayfs and native remain.
	(cd "$tools/containerd" && CGO_ENABLED=0 go build -trimpath -tags "no_btrfs no_devmapper no_zfs" \
		-ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" -o "$ntmp/" \
		github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
		github.com/containerd/containerd/v2/cmd/ctr)
	(cd "$tools/cni" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ntmp/cni/" \
		github.com/containernetworking/plugins/plugins/main/bridge github.com/containernetworking/plugins/plugins/ipam/host-local \
		github.com/containernetworking/plugins/plugins/main/loopback)
	rm -rf "$dest/cni"
	mv "$ntmp/cni" "$dest/cni"
	for b in containerd containerd-shim-runc-v2 ctr; do mv "$ntmp/$b" "$dest/$b"; done
	rm -rf "$ntmp"
	echo "$node_stamp" > "$dest/.node"
	echo "built containerd and the CNI plugins in $((SECONDS - nstart)) s" >&2
}

# Azurite (npm, with the machine's Node.js) into azurite/, with its own stamp.
azurite_stamp=$( { command node --version; cat "$tools"/azurite/package.json "$tools"/azurite/package-lock.json; } | sha256sum | cut -c1-12)
azurite() {
	if [ "$(cat "$dest/.azurite" 2>/dev/null)" = "$azurite_stamp" ]; then
		return
	fi
	echo "installing Azurite into $dest/azurite" >&2
	local atmp="$dest/azurite.tmp.$$"
	rm -rf "$atmp" && mkdir -p "$atmp"
	cp "$tools"/azurite/package.json "$tools"/azurite/package-lock.json "$atmp/"
	# --ignore-scripts: nothing of Azurite's runs at install; its blob service needs no build step.
	(cd "$atmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
	rm -rf "$dest/azurite"
	mv "$atmp" "$dest/azurite"
	echo "$azurite_stamp" > "$dest/.azurite"
}

if [ -f "$dest/.complete" ]; then
	helm
	node
	azurite
	link
	exit 0
fi

echo "building Kubernetes $K8S_VERSION, etcd $ETCD_VERSION and kwok $KWOK_VERSION into $dest (several minutes on a cold machine)" >&2
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

pkg=k8s.io/component-base/version
cpkg=k8s.io/client-go/pkg/version
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for p in $pkg $cpkg; do
	ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done

start=$SECONDS
# -p 2: the machines have two cores; the apiserver link alone peaks near 2.7 GB.
(cd "$tools/kubernetes" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet)
(cd "$tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
(cd "$tools/kwok" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)

for b in "${want[@]}"; do
	[ -x "$tmp/$b" ] || { echo "missing $b after build" >&2; exit 1; }
done
echo "$K8S_VERSION $ETCD_VERSION $KWOK_VERSION" > "$tmp/.complete"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "built in $((SECONDS - start)) s" >&2
helm
node
azurite
link
