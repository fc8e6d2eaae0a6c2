package engine

import "time"

// timeSleep advances a synctest bubble's clock by whole seconds.
func timeSleep(seconds int) { time.Sleep(time.Duration(seconds) * time.Second) }
