package growth

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is what a process holds in RAM, from /proc/PID/status (Linux): VmRSS is all of it, RssAnon the
// part that is not file pages (the Go heap, stacks, SQLite's page caches), which is what grows when a
// process keeps more in memory; VmRSS also counts the binary's and the database's mapped pages.
type Memory struct {
	RSS  int64 // VmRSS, bytes
	Anon int64 // RssAnon, bytes
}

// ReadMemory reads pid's resident memory.
func ReadMemory(pid int) (Memory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.RSS
		case "RssAnon":
			dst = &m.Anon
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("read memory of process %d: %s: %w", pid, name, err)
		}
		*dst = kb << 10
	}
	if m.RSS == 0 {
		return Memory{}, fmt.Errorf("read memory of process %d: no VmRSS in /proc/%d/status", pid, pid)
	}
	return m, nil
}
