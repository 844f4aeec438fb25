package v1alpha1

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestBudget(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	for _, tc := range []struct {
		name                           string
		spec                           MemorySpec
		heap, pageCache, overhead, lim string
		errField                       string
	}{
		{name: "defaults", spec: MemorySpec{}, heap: "1Gi", pageCache: "512Mi", overhead: "512Mi", lim: "2Gi"},
		{name: "limit follows the parts", spec: MemorySpec{HeapSize: q("4Gi"), PageCache: q("2Gi"), Overhead: q("1Gi")},
			heap: "4Gi", pageCache: "2Gi", overhead: "1Gi", lim: "7Gi"},
		{name: "limit exactly the sum", spec: MemorySpec{HeapSize: q("1Gi"), PageCache: q("512Mi"), Overhead: q("512Mi"), Limit: q("2Gi")},
			heap: "1Gi", pageCache: "512Mi", overhead: "512Mi", lim: "2Gi"},
		{name: "limit above the sum", spec: MemorySpec{Limit: q("8Gi")}, heap: "1Gi", pageCache: "512Mi", overhead: "512Mi", lim: "8Gi"},
		{name: "one byte over", spec: MemorySpec{Limit: q("2147483647")}, errField: "spec.memory.limit"},
		{name: "decimal units count as bytes", spec: MemorySpec{HeapSize: q("1G"), PageCache: q("500M"), Overhead: q("500M"), Limit: q("2G")},
			heap: "1G", pageCache: "500M", overhead: "500M", lim: "2G"},
		{name: "zero heap", spec: MemorySpec{HeapSize: q("0")}, errField: "spec.memory.heapSize"},
		{name: "negative page cache", spec: MemorySpec{PageCache: q("-1Mi")}, errField: "spec.memory.pageCache"},
		{name: "zero limit", spec: MemorySpec{Limit: q("0")}, errField: "spec.memory.limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.spec.Budget(field.NewPath("spec", "memory"))
			if tc.errField != "" {
				if err == nil || err.Field != tc.errField {
					t.Fatalf("want an error on %s, got %v", tc.errField, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name string
				got  resource.Quantity
				want string
			}{{"heap", b.Heap, tc.heap}, {"pageCache", b.PageCache, tc.pageCache}, {"overhead", b.Overhead, tc.overhead}, {"limit", b.Limit, tc.lim}} {
				if f.got.Cmp(resource.MustParse(f.want)) != 0 {
					t.Errorf("%s = %s, want %s", f.name, f.got.String(), f.want)
				}
			}
		})
	}
}

func TestBudgetMessageNamesTheFields(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	_, err := MemorySpec{HeapSize: q("2Gi"), PageCache: q("1Gi"), Overhead: q("512Mi"), Limit: q("3Gi")}.Budget(field.NewPath("spec", "memory"))
	want := "spec.memory.limit: Invalid value: \"3Gi\": heapSize (2Gi) + pageCache (1Gi) + overhead (512Mi) must not exceed limit (3Gi): raise limit or lower the others"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// FuzzBudget: a budget that is accepted never exceeds its limit, and every part is positive.
func FuzzBudget(f *testing.F) {
	f.Add("1Gi", "512Mi", "512Mi", "2Gi")
	f.Add("1G", "8Mi", "100Mi", "")
	f.Add("0", "-1", "1e3", "1Ti")
	f.Add("1e99", "1E", "1.5Pi", "+2Pi")
	admitted := regexp.MustCompile(QuantityPattern)
	f.Fuzz(func(t *testing.T, heap, pc, oh, limit string) {
		parse := func(s string) *resource.Quantity {
			// Only what admission lets through reaches the operator: Kubernetes' own parser
			// spins on huge exponents (found by this target: "1000000E20000000000").
			if s == "" || len(s) > 32 || !admitted.MatchString(s) {
				return nil
			}
			q, err := resource.ParseQuantity(s)
			if err != nil {
				return nil
			}
			return &q
		}
		m := MemorySpec{HeapSize: parse(heap), PageCache: parse(pc), Overhead: parse(oh), Limit: parse(limit)}
		b, err := m.Budget(field.NewPath("spec", "memory"))
		if err != nil {
			return
		}
		sum := b.Heap.DeepCopy()
		sum.Add(b.PageCache)
		sum.Add(b.Overhead)
		if sum.Cmp(b.Limit) > 0 || b.Heap.Sign() <= 0 || b.PageCache.Sign() <= 0 || b.Overhead.Sign() <= 0 {
			t.Fatalf("accepted %+v", b)
		}
	})
}

func TestOOMKilledNamesTheBudgetAndWhatToRaise(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	for _, tc := range []struct {
		name string
		spec MemorySpec
		want []string
	}{
		{"limit from the parts", MemorySpec{HeapSize: q("64Mi"), PageCache: q("32Mi"), Overhead: q("8Mi")},
			[]string{"backup pod", "limit 104Mi, heap 64Mi (HEAP_SIZE) + page cache 32Mi (--pagecache) + overhead 8Mi.", "raise spec.memory.overhead (the limit follows it)"}},
		{"a limit of its own", MemorySpec{HeapSize: q("1Gi"), PageCache: q("512Mi"), Overhead: q("256Mi"), Limit: q("2Gi")},
			[]string{"limit 2Gi, heap 1Gi (HEAP_SIZE) + page cache 512Mi (--pagecache) + overhead 256Mi = 1792Mi.", "raise spec.memory.overhead and spec.memory.limit"}},
	} {
		b, err := tc.spec.Budget(field.NewPath("spec", "memory"))
		if err != nil {
			t.Fatal(err)
		}
		msg := b.OOMKilled("backup")
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", tc.name, msg, w)
			}
		}
	}
}
