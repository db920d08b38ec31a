// Package argocd runs Ramp's Argo CD health check (config/argocd/health.lua)
// as Argo CD runs it: in gopher-lua, the interpreter Argo CD embeds, with
// the object in the global obj and only the base and table libraries open.
package argocd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	lua "github.com/yuin/gopher-lua"

	"github.com/rampcd/ramp/test/localcluster"
)

// Statuses are the health statuses Argo CD accepts from a script; any
// other it shows as Unknown.
var Statuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

// Script is the health check shipped in the repository.
func Script() (string, error) {
	repo, err := localcluster.RepoDir()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(repo, "config", "argocd", "health.lua"))
	return string(b), err
}

// Health runs script on obj, an object as the API server returns it, and
// returns the status and message it gives.
func Health(script string, obj map[string]any) (status, message string, err error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for name, open := range map[string]lua.LGFunction{lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(open), Protect: true}, lua.LString(name)); err != nil {
			return "", "", err
		}
	}
	l.SetGlobal("obj", value(l, obj))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	hs, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", l.Get(-1).Type())
	}
	status, message = lua.LVAsString(hs.RawGetString("status")), lua.LVAsString(hs.RawGetString("message"))
	if !slices.Contains(Statuses, status) {
		return "", "", errors.New("the script returned status " + status + ", which Argo CD does not know")
	}
	return status, message, nil
}

// value is v as Argo CD hands it to Lua: maps and lists as tables,
// numbers as numbers.
func value(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(value(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetString(k, value(l, item))
		}
		return t
	}
	return lua.LNil
}
