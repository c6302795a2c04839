package config

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestFieldsBindConfig: every key decodes into a Config field of its own, and every
// Config field but File, Origin and fromList is some key's, so that a key is declared
// once, in fields, and a Config field cannot be forgotten there.
func TestFieldsBindConfig(t *testing.T) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	byAddr := map[uintptr]string{}
	for i := range v.NumField() {
		byAddr[v.Field(i).Addr().Pointer()] = v.Type().Field(i).Name
	}
	bound := map[string]string{}
	for _, f := range fields {
		if f.at == nil {
			t.Errorf("key %s: no Config field", f.key)
			continue
		}
		p := reflect.ValueOf(f.at(&c))
		name, ok := byAddr[p.Pointer()]
		switch {
		case !ok:
			t.Errorf("key %s: decodes outside Config", f.key)
		case bound[name] != "":
			t.Errorf("keys %s and %s: both decode into %s", bound[name], f.key, name)
		}
		bound[name] = f.key
		if f.def != nil {
			want := map[kind]reflect.Type{kString: reflect.TypeFor[string](), kInt: reflect.TypeFor[int64](), kDuration: reflect.TypeFor[time.Duration]()}[f.kind()]
			if reflect.TypeOf(f.def) != want {
				t.Errorf("key %s: default %T, want %v", f.key, f.def, want)
			}
		}
	}
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if bound[name] == "" && !slices.Contains([]string{"File", "Origin", "fromList"}, name) {
			t.Errorf("Config.%s: no key decodes into it", name)
		}
	}
}

// TestEveryKeyDecodedAndShown: a flag of every key, set to a value that is not its
// default, reaches the key's Config field and its setting.
func TestEveryKeyDecodedAndShown(t *testing.T) {
	flags := map[string]string{}
	want := map[string]string{}
	for _, f := range fields {
		var val string
		switch f.kind() {
		case kSources:
			continue // set instead of queue_url in TestLayering
		case kString:
			val = "x-" + f.key
			if len(f.enum) > 0 {
				val = f.enum[len(f.enum)-1]
			}
		case kInt:
			val = fmt.Sprint(f.min + 1)
		case kDuration:
			val = (time.Duration(f.min) + time.Second).String()
		}
		if fmt.Sprint(f.def) == val {
			t.Fatalf("key %s: %s is its default", f.key, val)
		}
		flags[f.key], want[f.key] = val, val
	}
	c, err := Load(Input{Dir: t.TempDir(), Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Setting{}
	for _, s := range c.Settings() {
		got[s.Key] = s
	}
	for _, f := range fields {
		w, ok := want[f.key]
		if !ok {
			continue
		}
		if s := got[f.key]; s.Value != w || s.Origin != "--"+FlagName(f.key) {
			t.Errorf("setting %s = %+v, want %q from --%s", f.key, s, w, FlagName(f.key))
		}
		if v := fmt.Sprint(reflect.ValueOf(f.at(c)).Elem().Interface()); v != w {
			t.Errorf("Config field of %s = %s, want %s", f.key, v, w)
		}
	}
	if len(c.Sources) != 1 || c.Sources[0].QueueURL != want["queue_url"] || fmt.Sprint(c.Sources[0].Concurrency) != want["concurrency"] {
		t.Errorf("sources = %+v", c.Sources)
	}
}
