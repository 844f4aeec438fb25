package v1alpha1

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The memory defaults. They must equal the +kubebuilder:default markers on MemorySpec; a test
// reads the generated CRD and holds the two together.
var (
	DefaultHeapSize  = resource.MustParse("1Gi")
	DefaultPageCache = resource.MustParse("512Mi")
	DefaultOverhead  = resource.MustParse("512Mi")
)

// MemoryBudget is the effective memory of a neo4j-admin container, defaults applied: the one
// definition of the rule heap + page cache + overhead <= limit that the admission check (CEL in
// the CRD), the controllers and the Job builder all follow.
type MemoryBudget struct {
	// Heap goes to the JVM as HEAP_SIZE.
	Heap resource.Quantity
	// PageCache goes to neo4j-admin as --pagecache.
	PageCache resource.Quantity
	// Overhead is the headroom counted inside Limit.
	Overhead resource.Quantity
	// Limit is the container's memory request and limit.
	Limit resource.Quantity
}

// Budget applies the defaults to m and checks the rule. path locates m in its object (e.g.
// field.NewPath("spec", "memory")) so the error names the fields as the API server does.
func (m MemorySpec) Budget(path *field.Path) (MemoryBudget, *field.Error) {
	b := MemoryBudget{
		Heap:      orDefault(m.HeapSize, DefaultHeapSize),
		PageCache: orDefault(m.PageCache, DefaultPageCache),
		Overhead:  orDefault(m.Overhead, DefaultOverhead),
	}
	for _, f := range []struct {
		name string
		q    resource.Quantity
	}{{"heapSize", b.Heap}, {"pageCache", b.PageCache}, {"overhead", b.Overhead}} {
		if !saneMemory(f.q) {
			return b, field.Invalid(path.Child(f.name), "", "must be at most 1Pi")
		}
		if f.q.Sign() <= 0 {
			return b, field.Invalid(path.Child(f.name), f.q.String(), "must be greater than 0")
		}
	}
	sum := b.Heap.DeepCopy()
	sum.Add(b.PageCache)
	sum.Add(b.Overhead)
	if m.Limit == nil {
		b.Limit = sum
		return b, nil
	}
	b.Limit = m.Limit.DeepCopy()
	if !saneMemory(b.Limit) {
		return b, field.Invalid(path.Child("limit"), "", "must be at most 1Pi")
	}
	if b.Limit.Sign() <= 0 {
		return b, field.Invalid(path.Child("limit"), b.Limit.String(), "must be greater than 0")
	}
	if sum.Cmp(b.Limit) > 0 {
		return b, field.Invalid(path.Child("limit"), b.Limit.String(), fmt.Sprintf(
			"heapSize (%s) + pageCache (%s) + overhead (%s) must not exceed limit (%s): raise limit or lower the others",
			b.Heap.String(), b.PageCache.String(), b.Overhead.String(), b.Limit.String()))
	}
	return b, nil
}

// OOMKilled says why the kernel killed a pod that ran with this budget for memory, and what to
// raise. neo4j-admin starts a new JVM (the seed's warning: it "can even cause Out-Of-Memory
// errors"); its heap and page cache are bounded by heapSize and pageCache, so what grew past
// the limit is the JVM's own memory beyond them, which the overhead is for.
func (b MemoryBudget) OOMKilled(pod string) string {
	sum := b.Heap.DeepCopy()
	sum.Add(b.PageCache)
	sum.Add(b.Overhead)
	parts := fmt.Sprintf("heap %s (HEAP_SIZE) + page cache %s (--pagecache) + overhead %s", b.Heap.String(), b.PageCache.String(), b.Overhead.String())
	if sum.Cmp(b.Limit) != 0 {
		parts += " = " + sum.String()
	}
	raise := "raise spec.memory.overhead (the limit follows it)"
	if sum.Cmp(b.Limit) != 0 {
		raise = "raise spec.memory.overhead and spec.memory.limit"
	}
	return fmt.Sprintf("the kernel killed the %s pod for using more memory than its limit (OOMKilled): limit %s, %s. "+
		"The JVM needed more memory of its own than the overhead leaves: %s, or lower spec.memory.heapSize or spec.memory.pageCache",
		pod, b.Limit.String(), parts, raise)
}

// QuantityPattern is what the CRDs' rules let through to Kubernetes' quantity parser: at most
// 32 characters, no sign but +, an exponent of at most two digits. Kubernetes' parser spins
// (in the API server's CEL and in every client that decodes the object) on exponents of eight
// digits and more, so the rules check this first.
const QuantityPattern = `^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+]?[0-9][0-9]?)?$`

// maxMemory bounds every part of a budget (the CRD's rule says the same): more than any
// machine has, and far enough from int64's end that the sum of the parts stays exact.
const maxMemory = 1 << 50 // 1Pi

// saneMemory checks q against maxMemory without the exact arithmetic that a quantity with a
// huge exponent turns into an unbounded big-number computation (the float is cheap and
// becomes +Inf instead). The value is not quoted in the error for the same reason.
func saneMemory(q resource.Quantity) bool {
	f := q.AsApproximateFloat64()
	return math.Abs(f) <= maxMemory
}

// orDefault is the API server's defaulting, for objects that did not pass through it (a unit
// test, a spec built in Go).
func orDefault(q *resource.Quantity, def resource.Quantity) resource.Quantity {
	if q == nil {
		return def.DeepCopy()
	}
	return q.DeepCopy()
}
