package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The shipped config documents every key with its default, so loading it
// must give exactly Default(); a key added to the struct but not to the
// file (or with a different default) fails here.
func TestShippedConfigIsDefaults(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "configs", "appliance.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Fatalf("configs/appliance.toml differs from Default():\n got %+v\nwant %+v", c, want)
	}
	text, _ := os.ReadFile(filepath.Join("..", "..", "configs", "appliance.toml"))
	for _, key := range tomlKeys(reflect.TypeOf(Config{}), "") {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(text), leaf) {
			t.Errorf("configs/appliance.toml does not document %s", key)
		}
	}
}

func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("toml")
		if name == "" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(Duration{}) {
			keys = append(keys, tomlKeys(ft, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

func TestGoodFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.toml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestPortDefaults(t *testing.T) {
	c, err := Load("testdata/good/ports.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Live.Ports[0]; got.RxQueues != 1 || got.LinkType != "linux_sll" {
		t.Errorf("port 0 = %+v, want 1 rx queue, linux_sll", got)
	}
	if got := c.Live.Ports[1]; got.LinkType != "ethernet" || len(got.Lcores) != 2 {
		t.Errorf("port 1 = %+v, want ethernet with 2 lcores", got)
	}
}

// Each bad fixture must fail, and the message must name what is wrong so an
// operator can fix the file without reading code.
func TestBadFixtures(t *testing.T) {
	want := map[string]string{
		"unknown-key.toml":   "flow.capacty",
		"bad-duration.toml":  "sixty",
		"tiny-capacity.toml": "flow.capacity",
		"small-window.toml":  "features.window",
		"syntax.toml":        "toml: line",
		"link-type.toml":     "live.port[0].link_type",
		"lcores.toml":        "live.port[0].lcores",
		"port-worker.toml":   "queue 1 goes to worker -1",
		"ring.toml":          "live.event_ring",
		"negative.toml":      "flow.udp.active",
		"metrics.toml":       "live.metrics",
	}
	files, _ := filepath.Glob("testdata/bad/*.toml")
	if len(files) != len(want) {
		t.Fatalf("%d bad fixtures, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		_, err := Load(f)
		if err == nil {
			t.Errorf("%s: loaded without error", f)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", f, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, want[filepath.Base(f)]) || !strings.Contains(msg, filepath.Base(f)) {
			t.Errorf("%s: error %q should name %q and the file", f, msg, want[filepath.Base(f)])
		}
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	c, err := Parse("[flow.tcp]\nidle = \"90s\"\n[decap]\ngre = false\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Flow.TCP.Idle.Duration != 90*time.Second || c.Flow.TCP.Active.Duration != 300*time.Second {
		t.Errorf("tcp timeouts = %+v", c.Flow.TCP)
	}
	if c.Decap.GRE || !c.Decap.GTPU {
		t.Errorf("decap = %+v", c.Decap)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.toml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestCheckListenAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:9650": true, "[::1]:9650": true, ":9650": true, "localhost:9650": true,
		"127.0.0.1": false, "127.0.0.1:0": false, "127.0.0.1:http": false, "127.0.0.1:70000": false, "": false,
	} {
		if err := CheckListenAddr(addr); (err == nil) != ok {
			t.Errorf("CheckListenAddr(%q) = %v, want ok=%t", addr, err, ok)
		}
	}
	c, err := Parse("[live]\nmetrics = \"127.0.0.1:9650\"\n")
	if err != nil || c.Live.Metrics != "127.0.0.1:9650" {
		t.Errorf("live.metrics = %q, %v", c.Live.Metrics, err)
	}
}
