// Package reload swaps the classifier of a running appliance. A reload
// loads and checks the new model completely before one atomic store, so
// the workers see either the old model or the new one, never a mix, and a
// bad file leaves the old model serving. The outcome is kept for the
// metrics, as Prometheus keeps its own configuration reloads'.
//
// Threading: Reload is called by the control plane (one goroutine at a
// time; concurrent calls are serialised). Current may be called from any
// thread, lcores included: it is one atomic load, and the live loop calls
// it once per burst. Status is safe from any goroutine.
package reload

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunnelscope/tunnelscope/models"
)

// Model is the current classifier and the record of reloads.
type Model struct {
	mu       sync.Mutex // one reload at a time
	cur      atomic.Pointer[models.Forest]
	ok       atomic.Bool
	success  atomic.Int64 // unix ns of the last successful load
	failures atomic.Uint64
}

// New starts with f (nil: no model), loaded at now.
func New(f *models.Forest, now time.Time) *Model {
	m := &Model{}
	m.cur.Store(f)
	m.ok.Store(true)
	m.success.Store(now.UnixNano())
	return m
}

// Current is the model workers should use now; nil means none.
func (m *Model) Current() *models.Forest { return m.cur.Load() }

// Reload calls load and, if it succeeds, makes its model current. On
// failure the current model stays and the error is returned and counted.
func (m *Model) Reload(load func() (*models.Forest, error), now time.Time) (*models.Forest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, err := load()
	if err != nil {
		m.ok.Store(false)
		m.failures.Add(1)
		return nil, err
	}
	m.cur.Store(f)
	m.ok.Store(true)
	m.success.Store(now.UnixNano())
	return f, nil
}

// Status is what the metrics report about the model.
type Status struct {
	Trees       int       // of the current model; 0 without one
	LastOK      bool      // the last load, at start or reload, succeeded
	LastSuccess time.Time // when a model was last loaded
	Failures    uint64    // reloads that failed
}

// Status reads the record of reloads.
func (m *Model) Status() Status {
	s := Status{LastOK: m.ok.Load(), LastSuccess: time.Unix(0, m.success.Load()), Failures: m.failures.Load()}
	if f := m.cur.Load(); f != nil {
		s.Trees = f.Trees()
	}
	return s
}
