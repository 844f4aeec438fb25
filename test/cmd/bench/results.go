package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

type slot struct {
	at         time.Time
	ours, peer []time.Duration
}

type results struct {
	schedules, pods, jobs int
	costN                 int
	coldStart             time.Duration
	rssBefore, rssAfter   int64
	rssEnd                int64
	slots                 []slot
	api                   []kv
	completed             int
	total                 time.Duration
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *results) markdown() string {
	var ours, peer []time.Duration
	oursN, peerN := 0, 0
	for _, s := range r.slots {
		ours = append(ours, s.ours...)
		peer = append(peer, s.peer...)
		oursN += len(s.ours)
		peerN += len(s.peer)
	}
	expected := r.schedules * len(r.slots)
	op50, op99, opMax := quantile(ours, .5), quantile(ours, .99), quantile(ours, 1)
	pp50, pp99, ppMax := quantile(peer, .5), quantile(peer, .99), quantile(peer, 1)
	ratio := func(a, b time.Duration) string {
		if b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", float64(a)/float64(b))
	}
	writes, reads := 0, 0
	var writeLines, readLines []string
	for _, e := range r.api {
		if isWrite(e.k) {
			writes += e.n
			writeLines = append(writeLines, fmt.Sprintf("| %s | %d | %.2f |", e.k, e.n, per(e.n, r.completed)))
		} else {
			reads += e.n
			readLines = append(readLines, fmt.Sprintf("| %s | %d | %.2f |", e.k, e.n, per(e.n, r.completed)))
		}
	}
	growth := 100 * (float64(r.rssAfter)/float64(r.rssBefore) - 1)
	writesPer := per(writes, r.completed)

	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "`make bench` on the cluster in a box, %s UTC; the whole run took %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04"), r.total.Round(time.Second))
	fmt.Fprintf(&b, "Machine: %s.\n\n", machine())
	fmt.Fprintf(&b, "| measure | neo4j-backup-operator | CronJob controller (peer) | ratio (ours/peer) | goal | |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| lateness p50 (Job created − slot) | %s | %s | %s | | |\n", ms(op50), ms(pp50), ratio(op50, pp50))
	fmt.Fprintf(&b, "| lateness p99 | %s | %s | %s | < 1 s, ≤ peer | %s |\n", ms(op99), ms(pp99), ratio(op99, pp99), verdict(op99 < time.Second && op99 <= pp99))
	fmt.Fprintf(&b, "| lateness max | %s | %s | %s | | |\n", ms(opMax), ms(ppMax), ratio(opMax, ppMax))
	fmt.Fprintf(&b, "| Jobs created / slots due (%d × %d slots) | %d / %d | %d / %d | %.2f | all | %s |\n", r.schedules, len(r.slots), oursN, expected, peerN, expected, per(oursN, max(peerN, 1)), verdict(oursN == expected))
	fmt.Fprintf(&b, "| operator RSS, own objects only | %.1f MiB | | | | |\n", mib(r.rssBefore))
	fmt.Fprintf(&b, "| operator RSS, + %d Pods and %d Jobs unrelated | %.1f MiB (%+.1f %%) | | | growth < 10 %% | %s |\n", r.pods, r.jobs, mib(r.rssAfter), growth, verdict(growth < 10))
	if r.completed == 0 {
		fmt.Fprintf(&b, "| writes per completed scheduled backup | n/a: no backup completed in the window | | | ≤ 4 | **not measured** |\n")
	} else {
		fmt.Fprintf(&b, "| writes per completed scheduled backup | %.2f | | | ≤ 4 | %s |\n", writesPer, verdict(writesPer <= 4))
	}
	fmt.Fprintf(&b, "| reads per completed scheduled backup | %.2f | | | | |\n", per(reads, r.completed))
	fmt.Fprintf(&b, "| cold start: %d schedules reconciled | %s | | | < 10 s | %s |\n\n", r.schedules, r.coldStart.Round(time.Millisecond), verdict(r.coldStart < 10*time.Second))

	fmt.Fprintf(&b, "Per slot (Jobs seen; p50 / p99 / max lateness):\n\n| slot | ours | peer |\n|---|---|---|\n")
	for _, s := range r.slots {
		fmt.Fprintf(&b, "| %s | %d; %s / %s / %s | %d; %s / %s / %s |\n", s.at.UTC().Format("15:04"),
			len(s.ours), ms(quantile(s.ours, .5)), ms(quantile(s.ours, .99)), ms(quantile(s.ours, 1)),
			len(s.peer), ms(quantile(s.peer, .5)), ms(quantile(s.peer, .99)), ms(quantile(s.peer, 1)))
	}
	fmt.Fprintf(&b, "\nAPI cost: the operator's requests while %d schedules ran on * * * * * for two slots on an otherwise calm cluster, each backup running to completion; %d scheduled backups completed in that window (counted by a proxy between the operator and the API server):\n\n", r.costN, r.completed)
	fmt.Fprintf(&b, "| writes | count | per backup |\n|---|---|---|\n%s\n\n", strings.Join(writeLines, "\n"))
	fmt.Fprintf(&b, "| reads | count | per backup |\n|---|---|---|\n%s\n\n", strings.Join(readLines, "\n"))
	fmt.Fprintf(&b, "How it is measured: see the bench's source, `test/cmd/bench`. Lateness is the time a watch on Jobs (in the bench process) sees each Job, minus its slot (from the Job's name: `<schedule>-<yyyymmddhhmm>` for ours, `<cronjob>-<minutes since epoch>` for the peer's); both go through the same watch, so its delivery delay is in both. The peer is kube-controller-manager's CronJob controller with its defaults (client-side limit 50 QPS / burst 100, 5 concurrent CronJob syncs); the operator runs with the chart's arguments (8 concurrent reconciles; no client-side limit, the API server's priority and fairness applies). RSS is the median of five /proc samples. The operator's final RSS after the lateness run: %.1f MiB.\n", mib(r.rssEnd))
	b.WriteString(readingNotes)
	return b.String()
}

// readingNotes says how to read the table; the figures above are this run's.
const readingNotes = `
Reading it: lateness counts only the Jobs each side created. On 2 cores the peer, held to 50
requests per second with the rest of kube-controller-manager, creates a fraction of its Jobs and
skips the rest once their 20 s starting deadline has passed, so its percentiles describe the
slots it did not drop; the operator creates every Job of every slot, later. Lateness at this
scale is bound by the API server's write capacity on the shared 2 cores (each scheduled backup
costs the operator the writes listed above), not by timers: the schedule controller requeues to
the exact slot. Memory stays flat with unrelated objects because the operator caches only its
own Jobs, pods and claims (by label).
`

func per(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func machine() string {
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, model, _ = strings.Cut(l, ":")
				model = strings.TrimSpace(model)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				mem = f[1] + " kB"
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	return fmt.Sprintf("%d CPUs (%s), %s memory, Linux %s, %s, Kubernetes v1.37.2 (apiserver, controller-manager, scheduler), etcd v3.7.3, kwok v0.8.0",
		runtime.NumCPU(), model, mem, strings.TrimSpace(string(kernel)), runtime.Version())
}
