#!/usr/bin/env bash
# Runs go test over the given packages with every process the tests start (envtest's API servers,
# the cluster in a box, the test binaries) under one fresh folder, then fails if any such process
# is still running, or if the real node left a cgroup, a mount or a network namespace: a test that
# leaks one is a failing test. What is left is removed (also after a crash of the tests).
set -euo pipefail
: "${KUBEBUILDER_ASSETS:?set KUBEBUILDER_ASSETS to the folder hack/build-k8s.sh prints}"

NBO_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nbo-test.XXXXXX")
export NBO_TEST_TMP KUBEBUILDER_ASSETS
# envtest and go's own temporary folders follow TMPDIR, so their processes' command lines carry
# this folder's name too.
export TMPDIR=$NBO_TEST_TMP

status=0
go test -count=1 -timeout 45m "$@" || status=$?

# The real node's (test/cluster/node.go): its cgroup root and network namespace are named after
# this run's folder. Container processes live in those cgroups and do not carry the folder in
# their command line, so they are found and killed by cgroup first.
run=$(basename "$NBO_TEST_TMP")
cgroups=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "$run-*" 2>/dev/null || true)
if [ -n "$cgroups" ]; then
	echo "cgroups left by the real node:" >&2
	echo "$cgroups" >&2
	for _ in 1 2 3 4 5; do
		pids=$(find /sys/fs/cgroup/pids -path "*/$run-*" -name cgroup.procs -exec cat {} + 2>/dev/null || true)
		[ -z "$pids" ] && break
		kill -9 $pids 2>/dev/null || true
		sleep 0.2
	done
	status=1
fi

# Read /proc rather than rely on pgrep: a fresh machine need not have procps.
leftover=""
for d in /proc/[0-9]*; do
	pid=${d#/proc/}
	[ "$pid" = "$$" ] && continue
	if tr '\0' ' ' < "$d/cmdline" 2>/dev/null | grep -qF -- "$NBO_TEST_TMP"; then
		leftover="$leftover $pid"
	fi
done
leftover=${leftover# }
if [ -n "$leftover" ]; then
	echo "processes left running after the tests:" >&2
	for pid in $leftover; do echo "$pid: $(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)" >&2; done
	kill -9 $leftover 2>/dev/null || true
	status=1
fi
mounts=$(awk -v d="$NBO_TEST_TMP" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
if [ -n "$mounts" ]; then
	echo "mounts left under $NBO_TEST_TMP:" >&2
	echo "$mounts" >&2
	for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
	status=1
fi
if [ -n "$cgroups" ]; then
	# Children first.
	for c in $cgroups; do find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
fi
netns=$(ls /run/netns 2>/dev/null | grep -F -- "$run-" || true)
if [ -n "$netns" ]; then
	echo "network namespaces left by the real node: $netns" >&2
	for n in $netns; do ip netns delete "$n" 2>/dev/null || true; done
	status=1
fi
if [ "$status" -eq 0 ]; then
	rm -rf "$NBO_TEST_TMP"
else
	echo "test folders (cluster logs of failed runs) kept in $NBO_TEST_TMP" >&2
fi
exit "$status"
