package status

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// MaxEventNote is the longest note the API server takes: it refuses an Event whose note is
// longer ("NoteLengthLimit = 1024", Kubernetes pkg/apis/core/validation/events.go), and the
// recorder drops a refused Event without a word. Exactly the events that matter most, a failure
// with the agent's words, are the long ones.
const MaxEventNote = 1024

// MaxConditionMessage bounds a condition's message: the CRD allows 32 KiB, and a message over it
// would make the whole status write fail. Conditions are for people; counts, not lists.
const MaxConditionMessage = 4096

// Clipping returns a recorder whose notes are cleaned and clipped to MaxEventNote, so every
// event the controllers emit reaches the API server.
func Clipping(r recorder.EventRecorder) recorder.EventRecorder { return clipping{r} }

type clipping struct{ inner recorder.EventRecorder }

func (c clipping) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	c.inner.Eventf(regarding, related, eventtype, reason, action, "%s", result.Clean(fmt.Sprintf(note, args...), MaxEventNote))
}

func (c clipping) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any) {
	c.inner.AnnotatedEventf(regarding, related, annotations, eventtype, reason, action, "%s", result.Clean(fmt.Sprintf(note, args...), MaxEventNote))
}

// Files says how many files a list holds and which ends it has, in a few words whatever its
// length: "3 artifacts, neo4j-a.backup … neo4j-c.backup".
func Files(what string, names []string) string {
	switch len(names) {
	case 0:
		return "no " + what + "s"
	case 1:
		return "1 " + what + ", " + names[0]
	case 2:
		return fmt.Sprintf("2 %ss, %s and %s", what, names[0], names[1])
	}
	return fmt.Sprintf("%d %ss, %s … %s", len(names), what, names[0], names[len(names)-1])
}
