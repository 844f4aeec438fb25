// Package prometheus checks the chart's alert rules and Grafana dashboard with Prometheus's own
// PromQL: every query parses (promql/parser); every metric it reads is one the operator exports
// (internal/metrics), matched on labels that metric has; and each alert fires in the situations
// it is written for, and only in those, evaluated by Prometheus's engine over series written in
// its test language (promql/promqltest). The alerts' "for" is Prometheus's rule manager's, not
// evaluated here. A module of its own so that Prometheus's dependencies do not move the
// operator's.
package prometheus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"sigs.k8s.io/yaml"

	"github.com/graphkeeper/neo4j-backup-operator/internal/metrics"
)

const (
	chart     = "../../charts/neo4j-backup-operator"
	namespace = "neo4j-backup-system"
	// job is the metrics Service's name: the job a ServiceMonitor's targets get.
	job = "nbo-neo4j-backup-operator-metrics"
)

// monitoring renders the chart's PrometheusRule and dashboard with helm (KUBEBUILDER_ASSETS/helm).
func monitoring(t *testing.T) (alerts map[string]string, dashboard []byte) {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		t.Fatal("KUBEBUILDER_ASSETS must name the folder hack/build-k8s.sh prints: run the tests with make test")
	}
	cmd := exec.Command(filepath.Join(dir, "helm"), "template", "nbo", chart, "--namespace", namespace, "--kube-version", "1.37.2",
		"--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true", "--set", "serviceMonitor.enabled=true")
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v: %s", err, stderr.String())
	}
	alerts = map[string]string{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var o struct {
			Kind string `json:"kind"`
			Spec struct {
				Groups []struct {
					Rules []struct {
						Alert string `json:"alert"`
						Expr  string `json:"expr"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"spec"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		switch o.Kind {
		case "PrometheusRule":
			for _, g := range o.Spec.Groups {
				for _, r := range g.Rules {
					alerts[r.Alert] = r.Expr
				}
			}
		case "ConfigMap":
			if d, ok := o.Data["neo4j-backup.json"]; ok {
				dashboard = []byte(d)
			}
		}
	}
	if len(alerts) == 0 || dashboard == nil {
		t.Fatalf("no alerts (%d) or no dashboard", len(alerts))
	}
	return alerts, dashboard
}

// dashboardQueries are the dashboard's PromQL, by where they are: every panel target's expr, and
// the selector of every label_values variable, with Grafana's variables replaced as Grafana
// would (a regex value for a label, a duration for an interval).
func dashboardQueries(t *testing.T, dashboard []byte) map[string]string {
	t.Helper()
	var d struct {
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile(`\$\{?(\w+)\}?`)
	expand := func(q string) string {
		return vars.ReplaceAllStringFunc(q, func(v string) string {
			if strings.HasPrefix(strings.Trim(v, "${}"), "__") {
				return "5m" // $__rate_interval, $__interval, $__range
			}
			return ".*"
		})
	}
	out := map[string]string{}
	labelValues := regexp.MustCompile(`^label_values\((.+), *\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)["query"].(string)
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(<selector>, <label>)", v.Name, q)
			continue
		}
		out["variable "+v.Name] = expand(m[1])
	}
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for i, target := range p.Targets {
			out[fmt.Sprintf("panel %q query %d", p.Title, i)] = expand(target.Expr)
		}
	}
	return out
}

// scrapedElsewhere are the series the queries read that are not the operator's own: Prometheus's
// up, and controller-runtime's, which the e2e suite finds in the leader's scrape.
var scrapedElsewhere = regexp.MustCompile(`^(up|controller_runtime_[a-z_]+|workqueue_[a-z_]+)$`)

func TestEveryQueryParsesAndReadsWhatTheOperatorExports(t *testing.T) {
	alerts, dashboard := monitoring(t)
	queries := dashboardQueries(t, dashboard)
	for name, expr := range alerts {
		queries["alert "+name] = expr
	}
	families, err := metrics.Families()
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	read := map[string]bool{}
	for where, q := range queries {
		expr, err := p.ParseExpr(q)
		if err != nil {
			t.Errorf("%s: %v\n%s", where, err, q)
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			for _, name := range selected(t, where, vs) {
				read[name] = true
				if scrapedElsewhere.MatchString(name) {
					continue
				}
				base, known := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum"), []string{"job", "instance"}
				if base != name {
					known = append(known, "le")
				}
				have, ok := families[base]
				if !ok {
					t.Errorf("%s reads %s, which the operator does not export", where, name)
					continue
				}
				for _, m := range vs.LabelMatchers {
					if m.Name != labels.MetricName && !slices.Contains(have, m.Name) && !slices.Contains(known, m.Name) {
						t.Errorf("%s matches %s on %q, a label it does not have (%v)", where, name, m.Name, have)
					}
				}
			}
			return nil
		})
	}
	// The window and the last result are what a backup owner watches: the dashboard shows them.
	for _, name := range []string{"neo4j_backup_restorable_newest_timestamp_seconds", "neo4j_backup_restorable_oldest_timestamp_seconds",
		"neo4j_backup_restorable_newest_transaction", "neo4j_backup_schedule_last_backup_result"} {
		if !read[name] {
			t.Errorf("nothing reads %s", name)
		}
	}
}

// selected names the metrics a selector reads: its name, or each name of a __name__ alternation.
func selected(t *testing.T, where string, vs *parser.VectorSelector) []string {
	if vs.Name != "" {
		return []string{vs.Name}
	}
	for _, m := range vs.LabelMatchers {
		if m.Name != labels.MetricName {
			continue
		}
		if m.Type == labels.MatchEqual {
			return []string{m.Value}
		}
		if m.Type == labels.MatchRegexp && regexp.MustCompile(`^[a-z0-9_]+(\|[a-z0-9_]+)*$`).MatchString(m.Value) {
			return strings.Split(m.Value, "|")
		}
	}
	t.Errorf("%s: %s reads no metric by name", where, vs)
	return nil
}

// eval is a promqltest script line that evaluates an alert's expression (on one line) at a time.
func eval(expr, at string) string {
	return "eval instant at " + at + " " + strings.Join(strings.Fields(expr), " ")
}

// The alerts, each over series where it must fire and series where it must not, the expected
// result written by hand from the alert's rule (the chart's defaults: staleIntervals 2,
// failedWindow 15m). An expected result lists exactly the series that alert; none, that it is
// silent.
func TestAlertsFireWhenTheyShould(t *testing.T) {
	alerts, _ := monitoring(t)
	for _, tc := range []struct {
		alert, script string
	}{
		{"Neo4jBackupStale", `
load 5m
  neo4j_backup_schedule_interval_seconds{namespace="prod", schedule="late"} 3600x100
  neo4j_backup_schedule_last_success_timestamp_seconds{namespace="prod", schedule="late"} 3600x100
  neo4j_backup_schedule_interval_seconds{namespace="prod", schedule="fine"} 3600x100
  neo4j_backup_schedule_last_success_timestamp_seconds{namespace="prod", schedule="fine"} 14400x100

` + eval(alerts["Neo4jBackupStale"], "5h") + `
  {namespace="prod", schedule="late"} 14400
`},
		{"Neo4jBackupNeverSucceeded", `
load 5m
  neo4j_backup_schedule_interval_seconds{namespace="prod", schedule="new"} 3600x100
  neo4j_backup_schedule_interval_seconds{namespace="prod", schedule="fine"} 3600x100
  neo4j_backup_schedule_last_success_timestamp_seconds{namespace="prod", schedule="fine"} 600x100

` + eval(alerts["Neo4jBackupNeverSucceeded"], "1h") + `
  neo4j_backup_schedule_interval_seconds{namespace="prod", schedule="new"} 3600
`},
		{"Neo4jBackupFailed", `
load 1m
  neo4j_backup_backups_total{namespace="prod", cluster="graph", schedule="nightly", phase="Failed"} 0 0 0 0 1 1 1 1
  neo4j_backup_backups_total{namespace="prod", cluster="graph", schedule="nightly", phase="Succeeded"} 0 1 2 3 4 5 6 7
  neo4j_backup_backups_total{namespace="prod", cluster="graph", schedule="hourly", phase="PartiallyFailed"} 1 1 1 1 1 1 1 1

` + eval(alerts["Neo4jBackupFailed"], "7m") + `
  {namespace="prod", cluster="graph", schedule="nightly", phase="Failed"} 1
`},
		{"Neo4jBackupRestorableWindowBehind", `
load 5m
  neo4j_backup_schedule_interval_seconds{namespace="prod", schedule="nightly"} 3600x100
  neo4j_backup_restorable_newest_timestamp_seconds{namespace="prod", cluster="graph", schedule="nightly", database="neo4j"} 14400x100
  neo4j_backup_restorable_newest_timestamp_seconds{namespace="prod", cluster="graph", schedule="nightly", database="movies"} 3600x100
  neo4j_backup_restorable_newest_timestamp_seconds{namespace="prod", cluster="graph", schedule="suspended", database="neo4j"} 0x100

` + eval(alerts["Neo4jBackupRestorableWindowBehind"], "5h") + `
  neo4j_backup_restorable_newest_timestamp_seconds{namespace="prod", cluster="graph", schedule="nightly", database="movies"} 14400
`},
		{"Neo4jBackupStorageLow", `
load 5m
  neo4j_backup_storage_next_full_fits{namespace="prod", schedule="full"} 0x100
  neo4j_backup_storage_next_full_fits{namespace="prod", schedule="roomy"} 1x100

` + eval(alerts["Neo4jBackupStorageLow"], "10m") + `
  neo4j_backup_storage_next_full_fits{namespace="prod", schedule="full"} 0
`},
		{"Neo4jBackupUnverified", `
load 5m
  neo4j_backup_schedule_verified{namespace="prod", schedule="failed"} 0x100
  neo4j_backup_schedule_verified{namespace="prod", schedule="stale"} 1x100
  neo4j_backup_schedule_last_verified_timestamp_seconds{namespace="prod", schedule="stale"} 0x100
  neo4j_backup_schedule_verify_interval_seconds{namespace="prod", schedule="stale"} 3600x100
  neo4j_backup_schedule_verified{namespace="prod", schedule="fine"} 1x100
  neo4j_backup_schedule_last_verified_timestamp_seconds{namespace="prod", schedule="fine"} 14400x100
  neo4j_backup_schedule_verify_interval_seconds{namespace="prod", schedule="fine"} 3600x100

` + eval(alerts["Neo4jBackupUnverified"], "5h") + `
  neo4j_backup_schedule_verified{namespace="prod", schedule="failed"} 0
  {namespace="prod", schedule="stale"} 18000
`},
		{"Neo4jRestoreFailed", `
load 1m
  neo4j_backup_restore_duration_seconds_count{namespace="prod", mode="Verify", phase="Failed"} 0 0 0 0 1 1 1 1
  neo4j_backup_restore_duration_seconds_count{namespace="prod", mode="Replace", phase="Succeeded"} 0 1 1 1 1 1 1 1

` + eval(alerts["Neo4jRestoreFailed"], "7m") + `
  {namespace="prod", mode="Verify"} 1
`},
		{"Neo4jBackupOperatorDown: nothing scraped", `
load 1m
  up{job="another", namespace="` + namespace + `"} 1x100

` + eval(alerts["Neo4jBackupOperatorDown"], "5m") + `
  {} 1
`},
		{"Neo4jBackupOperatorDown: scraped, not up", `
load 1m
  up{job="` + job + `", namespace="` + namespace + `", instance="a"} 0x100

` + eval(alerts["Neo4jBackupOperatorDown"], "5m") + `
  {} 1
`},
		{"Neo4jBackupOperatorDown: one replica up", `
load 1m
  up{job="` + job + `", namespace="` + namespace + `", instance="a"} 0x100
  up{job="` + job + `", namespace="` + namespace + `", instance="b"} 1x100

` + eval(alerts["Neo4jBackupOperatorDown"], "5m") + `
`},
		{"Neo4jBackupOperatorNotReconciling: up, no leader", `
load 1m
  up{job="` + job + `", namespace="` + namespace + `", instance="a"} 1x100
  controller_runtime_reconcile_total{job="` + job + `", namespace="` + namespace + `", instance="a", controller="other", result="success"} 1x100

` + eval(alerts["Neo4jBackupOperatorNotReconciling"], "5m") + `
  up{job="` + job + `", namespace="` + namespace + `", instance="a"} 1
`},
		{"Neo4jBackupOperatorNotReconciling: a standby and a leader", `
load 1m
  up{job="` + job + `", namespace="` + namespace + `", instance="a"} 1x100
  up{job="` + job + `", namespace="` + namespace + `", instance="b"} 1x100
  controller_runtime_reconcile_total{job="` + job + `", namespace="` + namespace + `", instance="b", controller="backupschedule", result="success"} 7x100

` + eval(alerts["Neo4jBackupOperatorNotReconciling"], "5m") + `
`},
	} {
		t.Run(tc.alert, func(t *testing.T) {
			name, _, _ := strings.Cut(tc.alert, ":")
			if alerts[name] == "" {
				t.Fatalf("the chart has no alert %s", name)
			}
			promqltest.RunTest(t, tc.script, promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery))
		})
	}
	if len(alerts) != 9 {
		t.Errorf("%d alerts, and cases for 9: %v", len(alerts), alerts)
	}
}
