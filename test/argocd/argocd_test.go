// Package argocd runs the Argo CD resource customizations in config/argocd the way Argo CD runs
// them (argoproj/argo-cd util/lua/lua.go): gopher-lua with the package, base and table libraries
// and a safe os library (time and date only), the object as the global obj, a one-second
// budget; and once more with every standard library open, as Argo CD runs its built-in scripts.
// The tests are in Argo CD's own layout and format (health_test.yaml; actions/action_test.yaml
// with discoveryTests and actionTests), so the folders can be upstreamed as they are.
package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

const root = "../../config/argocd"

// health is Argo CD's health.HealthStatus.
type health struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// healthStatuses are the codes Argo CD accepts (gitops-engine pkg/health): another code reads as
// Unknown there.
var healthStatuses = map[string]bool{"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true}

func TestHealthScripts(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join(root, "*", "*", "health.lua"))
	if err != nil || len(scripts) != 3 {
		t.Fatalf("health scripts %v (%v): want Backup, BackupSchedule and Restore", scripts, err)
	}
	for _, script := range scripts {
		dir := filepath.Dir(script)
		var suite struct {
			Tests []struct {
				InputPath    string `json:"inputPath"`
				HealthStatus health `json:"healthStatus"`
			} `json:"tests"`
		}
		readYAML(t, filepath.Join(dir, "health_test.yaml"), &suite)
		if len(suite.Tests) == 0 {
			t.Errorf("%s: no tests", dir)
		}
		kind := filepath.Base(dir)
		for _, tc := range suite.Tests {
			for _, open := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/openLibs=%t", kind, tc.InputPath, open), func(t *testing.T) {
					obj := object(t, filepath.Join(dir, tc.InputPath), kind)
					out, err := run(t, script, obj, open)
					if err != nil {
						t.Fatal(err)
					}
					var got health
					if err := json.Unmarshal(out, &got); err != nil {
						t.Fatalf("%s: %v", out, err)
					}
					if !healthStatuses[got.Status] {
						t.Errorf("status %q is not one Argo CD knows", got.Status)
					}
					if got != tc.HealthStatus {
						t.Errorf("got %+v, want %+v", got, tc.HealthStatus)
					}
				})
			}
		}
	}
}

func TestScheduleActions(t *testing.T) {
	dir := filepath.Join(root, v1.GroupVersion.Group, "BackupSchedule", "actions")
	var suite struct {
		DiscoveryTests []struct {
			InputPath string `json:"inputPath"`
			Result    []struct {
				Name        string `json:"name"`
				Disabled    bool   `json:"disabled"`
				DisplayName string `json:"displayName,omitempty"`
			} `json:"result"`
		} `json:"discoveryTests"`
		ActionTests []struct {
			Action             string `json:"action"`
			InputPath          string `json:"inputPath"`
			ExpectedOutputPath string `json:"expectedOutputPath"`
		} `json:"actionTests"`
	}
	readYAML(t, filepath.Join(dir, "action_test.yaml"), &suite)
	if len(suite.DiscoveryTests) == 0 || len(suite.ActionTests) == 0 {
		t.Fatal("no discovery or action tests")
	}
	for _, tc := range suite.DiscoveryTests {
		t.Run("discovery/"+tc.InputPath, func(t *testing.T) {
			out, err := run(t, filepath.Join(dir, "discovery.lua"), object(t, filepath.Join(dir, tc.InputPath), "BackupSchedule"), false)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]struct {
				Disabled    bool   `json:"disabled"`
				DisplayName string `json:"displayName"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if len(got) != len(tc.Result) {
				t.Errorf("actions %s, want %d", out, len(tc.Result))
			}
			for _, want := range tc.Result {
				a, ok := got[want.Name]
				if !ok || a.Disabled != want.Disabled || a.DisplayName != want.DisplayName {
					t.Errorf("action %s: got %+v (present %t), want %+v", want.Name, a, ok, want)
				}
				if _, err := os.Stat(filepath.Join(dir, want.Name, "action.lua")); err != nil {
					t.Errorf("action %s has no action.lua: %v", want.Name, err)
				}
			}
		})
	}
	for _, tc := range suite.ActionTests {
		t.Run("action/"+tc.Action+"/"+tc.InputPath, func(t *testing.T) {
			before := time.Now().UTC().Truncate(time.Second)
			out, err := run(t, filepath.Join(dir, tc.Action, "action.lua"), object(t, filepath.Join(dir, tc.InputPath), "BackupSchedule"), false)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			// The trigger's value is the time the action ran (as Argo CD's own tests set such
			// fields aside, util/lua/custom_actions_test.go): it must be that time, then it is
			// compared as the fixture has it.
			if anns, ok := got["metadata"].(map[string]any)["annotations"].(map[string]any); ok {
				if v, ok := anns[v1.TriggerAnnotation].(string); ok {
					at, err := time.Parse("2006-01-02T15:04:05Z", v)
					if err != nil || at.Before(before) || at.After(time.Now().UTC().Add(time.Second)) {
						t.Errorf("trigger %q is not the time the action ran (%v)", v, err)
					}
					anns[v1.TriggerAnnotation] = "<the time of the action>"
				}
			}
			want := object(t, filepath.Join(dir, tc.ExpectedOutputPath), "BackupSchedule")
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

// object reads a test object and checks it is one of kind.
func object(t *testing.T, path, kind string) map[string]any {
	t.Helper()
	var obj map[string]any
	readYAML(t, path, &obj)
	if obj["apiVersion"] != v1.GroupVersion.String() || obj["kind"] != kind {
		t.Fatalf("%s is a %v %v, not a %s %s", path, obj["apiVersion"], obj["kind"], v1.GroupVersion, kind)
	}
	return obj
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// run runs script with obj as Argo CD does and returns what it returned, as JSON.
func run(t *testing.T, script string, obj map[string]any, openLibs bool) ([]byte, error) {
	t.Helper()
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.OsLibName, openSafeOs}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			t.Fatal(err)
		}
	}
	l.PreloadModule(lua.OsLibName, openSafeOs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("actionParams", l.NewTable())
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(string(src)); err != nil {
		return nil, err
	}
	return json.Marshal(fromLua(l.Get(-1)))
}

// openSafeOs is Argo CD's safe os library (util/lua/oslib_safe.go): time and date, nothing that
// reads files, runs programs or exits. Both are gopher-lua's own.
func openSafeOs(l *lua.LState) int {
	full := lua.NewState()
	defer full.Close()
	osmod := full.GetGlobal(lua.OsLibName).(*lua.LTable)
	mod := l.NewTable()
	for _, name := range []string{"time", "date"} {
		fn := osmod.RawGetString(name).(*lua.LFunction)
		mod.RawSetString(name, l.NewFunction(fn.GFunction))
	}
	l.SetGlobal(lua.OsLibName, mod)
	l.Push(mod)
	return 1
}

// toLua is Argo CD's decodeValue: maps and slices become tables, JSON numbers Lua numbers.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		tb := l.NewTable()
		for k, e := range v {
			tb.RawSetString(k, toLua(l, e))
		}
		return tb
	case []any:
		tb := l.NewTable()
		for _, e := range v {
			tb.Append(toLua(l, e))
		}
		return tb
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	panic(fmt.Sprintf("no Lua value for %T", v))
}

// fromLua is what layeh.com/gopher-json's Encode makes of a Lua value, which Argo CD decodes: a
// table with keys 1..n is an array, any other a map.
func fromLua(v lua.LValue) any {
	switch v := v.(type) {
	case *lua.LTable:
		n := v.MaxN()
		if n > 0 {
			arr := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				arr = append(arr, fromLua(v.RawGetInt(i)))
			}
			return arr
		}
		m := map[string]any{}
		v.ForEach(func(k, e lua.LValue) { m[k.String()] = fromLua(e) })
		return m
	case lua.LString:
		return string(v)
	case lua.LBool:
		return bool(v)
	case lua.LNumber:
		return float64(v)
	}
	return nil
}
