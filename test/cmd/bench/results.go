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
	// runs are the lateness runs, the full one last.
	runs      []latenessRun
	api       []kv
	completed int
	total     time.Duration
}

// latenessRun is one lateness measurement: n schedules and as many CronJobs on * * * * *.
type latenessRun struct {
	n     int
	slots []slot
	// lateOurs, latePeer: Jobs of the measured slots seen in the minute after the count.
	lateOurs, latePeer int
	// missedOurs: the operator's neo4j_backup_schedule_missed_slots_total over the run, by
	// reason; missedStatus: the schedules' status.missedSlots over it; missedPeer: the CronJob
	// controller's MissSchedule events.
	missedOurs   map[string]int
	missedStatus int
	missedPeer   int
	// Where the time went (the profiled run only).
	window                time.Duration
	cpu                   []cpuUse
	requests              []request
	profileDir            string
	opProfile, apiProfile string
	opTop, opCum, apiTop  string
	goroutines            string
}

func (l latenessRun) all() (ours, peer []time.Duration) {
	for _, s := range l.slots {
		ours = append(ours, s.ours...)
		peer = append(peer, s.peer...)
	}
	return ours, peer
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
	full := r.runs[len(r.runs)-1]
	ours, peer := full.all()
	oursN, peerN := len(ours), len(peer)
	expected := full.n * len(full.slots)
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
	for _, run := range r.runs[:len(r.runs)-1] {
		o, p := run.all()
		fmt.Fprintf(&b, "| %d schedules: Jobs / slots due; lateness p99 | %d / %d; %s | %d / %d; %s | %s | | |\n", run.n,
			len(o), run.n*len(run.slots), ms(quantile(o, .99)), len(p), run.n*len(run.slots), ms(quantile(p, .99)), ratio(quantile(o, .99), quantile(p, .99)))
	}
	fmt.Fprintf(&b, "| %d schedules: lateness p50 (Job created − slot) | %s | %s | %s | | |\n", full.n, ms(op50), ms(pp50), ratio(op50, pp50))
	fmt.Fprintf(&b, "| %d schedules: lateness p99 | %s | %s | %s | ≤ peer | %s |\n", full.n, ms(op99), ms(pp99), ratio(op99, pp99), verdict(op99 <= pp99))
	fmt.Fprintf(&b, "| %d schedules: lateness max | %s | %s | %s | | |\n", full.n, ms(opMax), ms(ppMax), ratio(opMax, ppMax))
	fmt.Fprintf(&b, "| %d schedules: Jobs created / slots due (%d slots) | %d / %d | %d / %d | %.2f | all | %s |\n", full.n, len(full.slots), oursN, expected, peerN, expected, per(oursN, max(peerN, 1)), verdict(oursN == expected))
	fmt.Fprintf(&b, "| operator RSS, own objects only | %.1f MiB | | | | |\n", mib(r.rssBefore))
	fmt.Fprintf(&b, "| operator RSS, + %d Pods and %d Jobs unrelated | %.1f MiB (%+.1f %%) | | | growth < 10 %% | %s |\n", r.pods, r.jobs, mib(r.rssAfter), growth, verdict(growth < 10))
	if r.completed == 0 {
		fmt.Fprintf(&b, "| writes per completed scheduled backup | n/a: no backup completed in the window | | | ≤ 5 | **not measured** |\n")
	} else {
		fmt.Fprintf(&b, "| writes per completed scheduled backup | %.2f | | | ≤ 5 | %s |\n", writesPer, verdict(writesPer <= 5))
	}
	fmt.Fprintf(&b, "| reads per completed scheduled backup | %.2f | | | | |\n", per(reads, r.completed))
	fmt.Fprintf(&b, "| cold start: %d schedules reconciled | %s | | | < 10 s | %s |\n\n", r.schedules, r.coldStart.Round(time.Millisecond), verdict(r.coldStart < 10*time.Second))

	for _, run := range r.runs {
		fmt.Fprintf(&b, "%d schedules and %d CronJobs, per slot (Jobs seen by the count; p50 / p99 / max lateness):\n\n| slot | ours | peer |\n|---|---|---|\n", run.n, run.n)
		for _, s := range run.slots {
			fmt.Fprintf(&b, "| %s | %d; %s / %s / %s | %d; %s / %s / %s |\n", s.at.UTC().Format("15:04"),
				len(s.ours), ms(quantile(s.ours, .5)), ms(quantile(s.ours, .99)), ms(quantile(s.ours, 1)),
				len(s.peer), ms(quantile(s.peer, .5)), ms(quantile(s.peer, .99)), ms(quantile(s.peer, 1)))
		}
		o, p := run.all()
		fmt.Fprintf(&b, "\nThe slots without a Job by the count (ours %d, peer %d):\n\n", run.n*len(run.slots)-len(o), run.n*len(run.slots)-len(p))
		fmt.Fprintf(&b, "- made in the minute after the count: ours %d, peer %d;\n", run.lateOurs, run.latePeer)
		fmt.Fprintf(&b, "- skipped, as the operator says: %s (neo4j_backup_schedule_missed_slots_total by reason; the schedules' status.missedSlots went up by %d);\n", reasons(run.missedOurs), run.missedStatus)
		fmt.Fprintf(&b, "- skipped, as the CronJob controller says: %d (its MissSchedule events, \"Missed scheduled time to start a job\");\n", run.missedPeer)
		fmt.Fprintf(&b, "- the rest were neither made nor reported skipped by a minute after the count: ours %d, peer %d.\n\n",
			max(run.n*len(run.slots)-len(o)-run.lateOurs-total(run.missedOurs), 0), max(run.n*len(run.slots)-len(p)-run.latePeer-run.missedPeer, 0))
	}
	fmt.Fprintf(&b, "API cost: the operator's requests while %d schedules ran on * * * * * for two slots on an otherwise calm cluster, each backup running to completion; %d scheduled backups completed in that window (counted by a proxy between the operator and the API server):\n\n", r.costN, r.completed)
	fmt.Fprintf(&b, "| writes | count | per backup |\n|---|---|---|\n%s\n\n", strings.Join(writeLines, "\n"))
	fmt.Fprintf(&b, "| reads | count | per backup |\n|---|---|---|\n%s\n\n", strings.Join(readLines, "\n"))
	b.WriteString(full.whereTimeGoes())
	fmt.Fprintf(&b, "How it is measured: see the bench's source, `test/cmd/bench`. Lateness is the time a watch on Jobs (in the bench process) sees each Job, minus its slot (from the Job's name: `<schedule>-<yyyymmddhhmm>` for ours, `<cronjob>-<minutes since epoch>` for the peer's); both go through the same watch, so its delivery delay is in both. The count is taken 58 s after the last slot; a second count a minute later finds the Jobs made after it. The peer is kube-controller-manager's CronJob controller with its defaults (client-side limit 50 QPS / burst 100, 5 concurrent CronJob syncs); the operator runs with the chart's arguments (8 concurrent reconciles; no client-side limit, the API server's priority and fairness applies). RSS is the median of five /proc samples. The operator's final RSS after the lateness runs: %.1f MiB.\n", mib(r.rssEnd))
	b.WriteString(readingNotes)
	return b.String()
}

// whereTimeGoes renders the profiled run's measurements of where its time went.
func (l latenessRun) whereTimeGoes() string {
	if l.window == 0 || len(l.cpu) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Where the time goes, %d schedules\n\n", l.n)
	fmt.Fprintf(&b, "CPU used over the %s from 2 s before the first slot to the count (/proc/<pid>/stat, user + system; the machine has %s of CPU in that time):\n\n| process | CPU | share of the machine |\n|---|---|---|\n",
		l.window.Round(time.Second), (l.window * time.Duration(runtime.NumCPU())).Round(time.Second))
	for _, c := range l.cpu {
		fmt.Fprintf(&b, "| %s | %s | %.0f %% |\n", c.name, c.used.Round(100*time.Millisecond), 100*float64(c.used)/float64(l.window*time.Duration(runtime.NumCPU())))
	}
	type stat struct {
		key  string
		took []time.Duration
	}
	byKey := map[string]*stat{}
	for _, r := range l.requests {
		if byKey[r.key] == nil {
			byKey[r.key] = &stat{key: r.key}
		}
		byKey[r.key].took = append(byKey[r.key].took, r.took)
	}
	var stats []*stat
	for _, s := range byKey {
		stats = append(stats, s)
	}
	sort.Slice(stats, func(i, j int) bool { return len(stats[i].took) > len(stats[j].took) })
	fmt.Fprintf(&b, "\nThe operator's requests over the same time (the proxy: from the request to the last byte of the answer; watches left out):\n\n| request | count | p50 | p99 | max |\n|---|---|---|---|---|\n")
	for _, s := range stats {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", s.key, len(s.took), ms(quantile(s.took, .5)), ms(quantile(s.took, .99)), ms(quantile(s.took, 1)))
	}
	if l.goroutines != "" {
		fmt.Fprintf(&b, "\nThe operator's goroutines 10 s into the first slot (/debug/pprof/goroutine):\n\n```\n%s\n```\n", l.goroutines)
	}
	if l.opTop != "" {
		fmt.Fprintf(&b, "\nThe operator's CPU profile over the same time, by own time (`go tool pprof -top`; the profile is kept in %s):\n\n```\n%s\n```\n", l.profileDir, l.opTop)
		fmt.Fprintf(&b, "\nThe same, by cumulative time:\n\n```\n%s\n```\n", l.opCum)
	}
	if l.apiTop != "" {
		fmt.Fprintf(&b, "\nThe API server's CPU profile over the same time, by cumulative time (its /debug/pprof/profile):\n\n```\n%s\n```\n", l.apiTop)
	}
	b.WriteString("\n")
	return b.String()
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
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
