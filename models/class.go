// Package models holds the traffic classes, verdicts and the classifiers
// that produce them.
//
// Threading: a Verdict is a plain value. Classifiers are immutable once
// built and may be shared by every worker; swapping one is the control
// plane's job (an atomic pointer read once per burst by each worker).
package models

// Class is a traffic class of the taxonomy shared with ../shared/data/flows.csv.
type Class uint8

// The taxonomy. Unknown is the zero value: no rule or model has spoken.
const (
	Unknown Class = iota
	WebBrowsing
	VideoStreaming
	AudioStreaming
	VoIP
	VideoChat
	FileTransfer
	Mail
	P2P
	Chat
	DNS
	Tor
	VPN
	Other
	numClasses
)

var classNames = [numClasses]string{
	"unknown", "web_browsing", "video_streaming", "audio_streaming", "voip",
	"video_chat", "file_transfer", "mail", "p2p", "chat", "dns", "tor", "vpn", "other",
}

func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "unknown"
}

// ParseClass maps a taxonomy name to its Class; ok is false for a name
// outside the taxonomy.
func ParseClass(name string) (c Class, ok bool) {
	for i, n := range classNames {
		if n == name {
			return Class(i), true
		}
	}
	return Unknown, false
}

// Classes lists every class but Unknown, in taxonomy order.
func Classes() []Class {
	cs := make([]Class, 0, numClasses-1)
	for c := WebBrowsing; c < numClasses; c++ {
		cs = append(cs, c)
	}
	return cs
}

// Source says what produced a verdict.
type Source uint8

// Verdict sources.
const (
	SourceNone  Source = iota // nothing classified the flow
	SourceRule                // a DPI/port rule
	SourceModel               // an ML model
	SourceFused               // rules and model combined by the control plane
)

var sourceNames = [...]string{"none", "rule", "model", "fused"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "none"
}

// Verdict is what tunnelscope says a flow is.
type Verdict struct {
	Class      Class
	Source     Source
	Confidence float32 // 0..1
	App        string  // application name where a rule knows it, e.g. "TLS.Tor"
}
