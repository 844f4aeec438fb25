package controllers

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadCacheSharesOneLoadAmongConcurrentReaders(t *testing.T) {
	c := newReadCache(time.Hour)
	var loads atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.get("k", func() (any, error) { loads.Add(1); <-release; return 7, nil })
			if err != nil || v.(int) != 7 {
				t.Errorf("got %v %v", v, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("%d loads for 50 concurrent readers, want 1", n)
	}
}

func TestReadCacheExpiresAndForgetsErrors(t *testing.T) {
	c := newReadCache(20 * time.Millisecond)
	n := 0
	load := func() (any, error) { n++; return n, nil }
	a, _ := c.get("k", load)
	b, _ := c.get("k", load)
	if a != b {
		t.Errorf("a fresh value was loaded again: %v %v", a, b)
	}
	time.Sleep(30 * time.Millisecond)
	if v, _ := c.get("k", load); v == a {
		t.Error("an expired value was returned")
	}
	boom := errors.New("boom")
	if _, err := c.get("e", func() (any, error) { return nil, boom }); err != boom {
		t.Fatal(err)
	}
	if v, err := c.get("e", func() (any, error) { return 1, nil }); err != nil || v.(int) != 1 {
		t.Errorf("a failed read was kept: %v %v", v, err)
	}
}
