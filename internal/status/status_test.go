package status

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMessagesFitTheirLimits(t *testing.T) {
	// A condition message over the CRD's 32 KiB fails the whole status write.
	var conds []metav1.Condition
	long := strings.Repeat("neo4j-2026-11-28T02-00-00.backup, ", 2000) // 68 KiB
	Set(&conds, 1, Done, "Succeeded", long, metav1.Now())
	SetCondition(&conds, 1, "Verified", true, "Verified", long, metav1.Now())
	for _, c := range conds {
		if len(c.Message) > MaxConditionMessage {
			t.Errorf("%s: %d bytes", c.Type, len(c.Message))
		}
	}
	for n, want := range map[int]string{0: "no artifacts", 1: "1 artifact, a0", 2: "2 artifacts, a0 and a1", 90: "90 artifacts, a0 … a89"} {
		var names []string
		for i := range n {
			names = append(names, fmt.Sprintf("a%d", i))
		}
		if got := Files("artifact", names); got != want {
			t.Errorf("Files(%d) = %q, want %q", n, got, want)
		}
	}
}
