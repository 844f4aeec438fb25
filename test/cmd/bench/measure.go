package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Where a lateness run's time goes, measured from outside the operator: the CPU each process of
// the box spent, the operator's and the API server's CPU profiles, the operator's goroutines
// mid-slot, and what each side says of the slots it did not take.

// freePort is a loopback port nothing listens on (for the operator's pprof and metrics).
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// cpuTime is the user+system CPU time process pid has used, from /proc/<pid>/stat (utime and
// stime, fields 14 and 15, in clock ticks: 100 a second on Linux's x86 and arm64 builds).
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command (field 2) is in parentheses and may hold spaces: count from after it.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// cpuTimes samples every process of the box, and this one (the bench: its watches and clients).
func cpuTimes(pids map[string]int) map[string]time.Duration {
	out := map[string]time.Duration{"bench (watches, this process)": cpuTime(os.Getpid())}
	for name, pid := range pids {
		out[name] = cpuTime(pid)
	}
	return out
}

// cpuUse is after − before per process, largest first.
type cpuUse struct {
	name string
	used time.Duration
}

func cpuDiff(before, after map[string]time.Duration) []cpuUse {
	var out []cpuUse
	for name, t := range after {
		if d := t - before[name]; d > 0 {
			out = append(out, cpuUse{name, d})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].used > out[j].used })
	return out
}

// fetch GETs url into path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// apiServerProfile is the API server's own CPU profile over seconds (its /debug/pprof, which
// kube-apiserver serves to an authorized client by default), into path.
func apiServerProfile(ctx context.Context, cs kubernetes.Interface, seconds int, path string) error {
	data, err := cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
		Param("seconds", strconv.Itoa(seconds)).Timeout(time.Duration(seconds+60) * time.Second).DoRaw(ctx)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// pprofTop is `go tool pprof -top` of a profile: the functions the CPU went to, by their own time.
func pprofTop(bin, profile string, n int, cum bool) string {
	args := []string{"tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", n)}
	if cum {
		args = append(args, "-cum")
	}
	if bin != "" {
		args = append(args, bin)
	}
	out, err := exec.Command("go", append(args, profile)...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(go tool pprof: %v: %s)", err, out)
	}
	return strings.TrimSpace(string(out))
}

// goroutineSummary reads a goroutine dump (debug=1: identical stacks grouped, with a count) and
// names the largest groups by the innermost frame of this module's code, or the first frame.
func goroutineSummary(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	type group struct {
		count int
		where string
	}
	var groups []group
	total := 0
	for _, block := range strings.Split(string(data), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) < 2 || !strings.Contains(lines[0], " @ ") {
			continue
		}
		c, err := strconv.Atoi(strings.Fields(lines[0])[0])
		if err != nil {
			continue
		}
		total += c
		var frames []string
		for _, l := range lines[1:] {
			if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "#")); len(f) >= 2 {
				frames = append(frames, f[1])
			}
		}
		where := ""
		for _, f := range frames {
			if strings.Contains(f, "graphkeeper") {
				where = f
				break
			}
		}
		if where == "" && len(frames) > 0 {
			where = frames[0]
		}
		if len(frames) > 0 && where != frames[0] {
			where += " (in " + frames[0] + ")"
		}
		groups = append(groups, group{c, where})
	}
	byWhere := map[string]int{}
	for _, g := range groups {
		byWhere[g.where] += g.count
	}
	groups = groups[:0]
	for w, c := range byWhere {
		groups = append(groups, group{c, w})
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].count > groups[j].count })
	var b strings.Builder
	fmt.Fprintf(&b, "%d goroutines; the largest groups by where this module's code waits:\n", total)
	for i, g := range groups {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "%6d  %s\n", g.count, g.where)
	}
	return strings.TrimRight(b.String(), "\n")
}

// scrape reads the operator's metrics endpoint and sums family by the given label.
func scrape(ctx context.Context, addr, family, label string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	f, ok := families[family]
	if !ok {
		return out, nil
	}
	for _, m := range f.GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		switch {
		case m.GetCounter() != nil:
			out[key] += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			out[key] += m.GetGauge().GetValue()
		}
	}
	return out, nil
}

// peerMissed counts the slots the CronJob controller said it missed in namespace since since:
// its MissSchedule events ("Missed scheduled time to start a job", a Warning on the CronJob),
// with their counts (the event recorder folds repeats of one into one Event).
func peerMissed(ctx context.Context, cs kubernetes.Interface, namespace string, since time.Time) (int, error) {
	list, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "reason=MissSchedule"})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range list.Items {
		if e.InvolvedObject.Kind != "CronJob" || eventTime(&e).Before(since) {
			continue
		}
		n += int(max(e.Count, 1))
	}
	return n, nil
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// profileDir is where a run's profiles are kept for `go tool pprof` afterwards (ignored by git).
func profileDir() (string, error) {
	dir := filepath.Join("bin", "bench")
	return dir, os.MkdirAll(dir, 0o755)
}
