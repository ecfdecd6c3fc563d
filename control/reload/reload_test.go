package reload

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tunnelscope/tunnelscope/models"
)

func forest(t *testing.T, class string) *models.Forest {
	t.Helper()
	f, err := (&models.File{Kind: "decision_tree", Features: []string{"x"}, Classes: []string{class},
		Trees: []models.Tree{{Feature: []int32{-1}, Threshold: []float32{0}, Left: []int32{0}, Right: []int32{-1}, Value: [][]float32{{1}}}}}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A failed reload keeps the model that was serving and says so; a good one
// replaces it and clears the failure state, as Prometheus reports its own
// configuration reloads.
func TestReload(t *testing.T) {
	t0 := time.Unix(1000, 0)
	dns, tor := forest(t, "dns"), forest(t, "tor")
	m := New(dns, t0)
	if s := m.Status(); m.Current() != dns || !s.LastOK || s.Trees != 1 || !s.LastSuccess.Equal(t0) || s.Failures != 0 {
		t.Fatalf("after New: %+v", s)
	}
	bad := errors.New("corrupt")
	if f, err := m.Reload(func() (*models.Forest, error) { return nil, bad }, t0.Add(time.Second)); f != nil || err != bad {
		t.Fatalf("failed reload returned %v, %v", f, err)
	}
	if s := m.Status(); m.Current() != dns || s.LastOK || !s.LastSuccess.Equal(t0) || s.Failures != 1 {
		t.Fatalf("after a failed reload: current %p (dns %p), %+v", m.Current(), dns, s)
	}
	t2 := t0.Add(2 * time.Second)
	if f, err := m.Reload(func() (*models.Forest, error) { return tor, nil }, t2); f != tor || err != nil {
		t.Fatalf("good reload returned %v, %v", f, err)
	}
	if s := m.Status(); m.Current() != tor || !s.LastOK || !s.LastSuccess.Equal(t2) || s.Failures != 1 {
		t.Fatalf("after a good reload: %+v", s)
	}
	// Reloading to no model is allowed: verdicts become unknown.
	m.Reload(func() (*models.Forest, error) { return nil, nil }, t2)
	if s := m.Status(); m.Current() != nil || s.Trees != 0 || !s.LastOK {
		t.Fatalf("after reloading to none: %+v", s)
	}
}

// Readers on other threads see a whole model at every moment (run with
// -race): lcores load the pointer while the control plane stores.
func TestCurrentDuringReloads(t *testing.T) {
	a, b := forest(t, "dns"), forest(t, "tor")
	m := New(a, time.Now())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if f := m.Current(); f != a && f != b {
					t.Error("a reader saw neither model")
					return
				}
				m.Status()
			}
		})
	}
	for i := range 1000 {
		next := a
		if i%2 == 0 {
			next = b
		}
		m.Reload(func() (*models.Forest, error) { return next, nil }, time.Now())
	}
	close(stop)
	wg.Wait()
}
