package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/truncate"
)

// maxSince bounds how far back --since may look; the audit trail and DORA windows are read whole.
const maxSince = 400 * 24 * time.Hour

// ParseSince reads how far back to look, as people write it in a command or on a command line: a number
// of days (7d), or a Go duration (12h, 90m, 1h30m). It is positive and at most about 13 months.
func ParseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > int(maxSince/(24*time.Hour)) {
			return 0, fmt.Errorf("--since looks back at most %dd", int(maxSince.Hours()/24))
		}
		if err != nil {
			return 0, fmt.Errorf("--since %q is not a number of days such as 7d, or a duration such as 12h", truncate.Excerpt(s, maxEcho))
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("--since %q is not a number of days such as 7d, or a duration such as 12h", truncate.Excerpt(s, maxEcho))
		}
	}
	switch {
	case d <= 0:
		return 0, fmt.Errorf("--since must look back some time, such as 7d")
	case d > maxSince:
		return 0, fmt.Errorf("--since looks back at most %dd", int(maxSince.Hours()/24))
	}
	return d, nil
}
