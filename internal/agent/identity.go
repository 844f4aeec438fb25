package agent

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// identity is how the kernel runs the agent, from /proc/self/status: its user, group and
// supplementary groups, effective capabilities, no_new_privs and seccomp mode. The first line of
// every agent's log, so a pod's log shows what its security context really gave it (and a
// cluster that dropped the restricted profile's settings shows here, not later in a failure).
func identity() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "identity unknown: " + err.Error()
	}
	defer f.Close()
	fields := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	first := func(k string) string { return strings.SplitN(fields[k]+" ", " ", 2)[0] }
	seccomp := map[string]string{"0": "disabled", "1": "strict", "2": "filter"}[fields["Seccomp"]]
	return fmt.Sprintf("running as uid %s gid %s groups [%s]; effective capabilities %s; no_new_privs %s; seccomp %s",
		first("Uid"), first("Gid"), fields["Groups"], fields["CapEff"], fields["NoNewPrivs"], seccomp)
}
