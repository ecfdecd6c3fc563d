package models

import "testing"

func TestClassNamesRoundTrip(t *testing.T) {
	want := []string{"web_browsing", "video_streaming", "audio_streaming", "voip", "video_chat",
		"file_transfer", "mail", "p2p", "chat", "dns", "tor", "vpn", "other"}
	cs := Classes()
	if len(cs) != len(want) {
		t.Fatalf("%d classes, want %d", len(cs), len(want))
	}
	for i, c := range cs {
		if c.String() != want[i] {
			t.Errorf("class %d = %q, want %q", i, c, want[i])
		}
		if p, ok := ParseClass(want[i]); !ok || p != c {
			t.Errorf("ParseClass(%q) = %v, %v", want[i], p, ok)
		}
	}
	if _, ok := ParseClass("gaming"); ok {
		t.Error("ParseClass accepted a name outside the taxonomy")
	}
	if Class(200).String() != "unknown" || Source(9).String() != "none" {
		t.Error("out-of-range values must print as unknown/none")
	}
}
