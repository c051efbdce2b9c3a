package executions

import "sync"

// Memo keeps what a warm instance learnt about executions, by ARN. A nil
// Memo keeps nothing.
type Memo[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

// Get returns what is kept for the execution.
func (c *Memo[V]) Get(arn string) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[arn]
	return v, ok
}

// Put keeps v for the execution.
func (c *Memo[V]) Put(arn string, v V) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]V{}
	}
	c.m[arn] = v
}
