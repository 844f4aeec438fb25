package agent

import (
	"context"
	"io"
	"strings"
	"testing"
)

// A neo4j-admin the kernel kills (the out-of-memory killer sends SIGKILL) reads as the shell
// reads it, 137, with a last line that says so: the JVM itself prints nothing.
func TestRunnerReportsAKillBySignal(t *testing.T) {
	r := &execRunner{bin: "/bin/sh", log: io.Discard}
	code, out, err := r.Run(context.Background(), []string{"-c", "kill -9 $$"})
	if err != nil {
		t.Fatal(err)
	}
	if code != 137 || !strings.Contains(out, "neo4j-admin was killed by signal 9 (killed)") {
		t.Errorf("exit %d, output %q; want 137 and the signal named", code, out)
	}
}
