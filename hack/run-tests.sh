#!/usr/bin/env bash
# Runs go test over the given packages with every process the tests start (envtest's API servers,
# the cluster in a box, the test binaries) under one fresh folder, then fails if any such process
# is still running: a test that leaks a process is a failing test.
set -euo pipefail
: "${KUBEBUILDER_ASSETS:?set KUBEBUILDER_ASSETS to the folder hack/build-k8s.sh prints}"

NBO_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nbo-test.XXXXXX")
export NBO_TEST_TMP KUBEBUILDER_ASSETS
# envtest and go's own temporary folders follow TMPDIR, so their processes' command lines carry
# this folder's name too.
export TMPDIR=$NBO_TEST_TMP

status=0
go test -count=1 -timeout 45m "$@" || status=$?

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
if [ "$status" -eq 0 ]; then
	rm -rf "$NBO_TEST_TMP"
else
	echo "test folders (cluster logs of failed runs) kept in $NBO_TEST_TMP" >&2
fi
exit "$status"
