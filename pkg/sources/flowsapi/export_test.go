package flowsapi

import "time"

// SetBackoff shortens the wait before retrying a transient failure.
func SetBackoff(c *Client, d time.Duration) { c.backoff = d }
