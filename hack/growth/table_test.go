package growth

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// table lays the figures out one column per size, with how much each grew from the smallest size to the
// largest.
func table(sizes []int, figures map[int]Figures) string {
	rows := []struct {
		name string
		get  func(Figures) float64
		unit string
	}{
		{"burst: deliveries/s", func(f Figures) float64 { return f.Burst.Rate() }, "/s"},
		{"burst: POST p50", func(f Figures) float64 { return ms(f.Burst.PostP50) }, "ms"},
		{"burst: commits/s", func(f Figures) float64 { return f.Burst.CommitRate() }, "/s"},
		{"burst: commits/delivery", func(f Figures) float64 { return float64(f.Burst.Commits) / float64(f.Burst.Deliveries) }, ""},
		{"burst: WAL bytes/commit", func(f Figures) float64 { return f.Burst.BytesPerCommit() }, "B"},
		{"burst: WAL bytes/delivery", func(f Figures) float64 { return float64(f.Burst.WALBytes) / float64(f.Burst.Deliveries) }, "B"},
		{"GET deliveries?limit=20 p50", func(f Figures) float64 { return ms(f.ListP50) }, "ms"},
		{"GET deliveries?limit=20 p99", func(f Figures) float64 { return ms(f.ListP99) }, "ms"},
		{"GET deliveries/{id} p50", func(f Figures) float64 { return ms(f.GetP50) }, "ms"},
		{"/deliver history p50", func(f Figures) float64 { return ms(f.HistoryP50) }, "ms"},
		{"audit export, 1 day, p50", func(f Figures) float64 { return ms(f.AuditP50) }, "ms"},
		{"audit export: entries", func(f Figures) float64 { return float64(f.AuditEntries) }, ""},
		{"/metrics first scrape", func(f Figures) float64 { return ms(f.FirstScrape) }, "ms"},
		{"/metrics p50", func(f Figures) float64 { return ms(f.ScrapeP50) }, "ms"},
		{"VmRSS after first scrape", func(f Figures) float64 { return mib(f.AfterScrape.RSS) }, "MiB"},
		{"RssAnon after first scrape", func(f Figures) float64 { return mib(f.AfterScrape.Anon) }, "MiB"},
		{"VmRSS after the burst", func(f Figures) float64 { return mib(f.Burst.After.RSS) }, "MiB"},
		{"RssAnon after the burst", func(f Figures) float64 { return mib(f.Burst.After.Anon) }, "MiB"},
		{"start to ready", func(f Figures) float64 { return ms(f.Ready) }, "ms"},
	}
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "deliveries of history\t")
	for _, n := range sizes {
		fmt.Fprintf(tw, "%d\t", n)
	}
	fmt.Fprint(tw, "largest/smallest\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t", r.name)
		for _, n := range sizes {
			fmt.Fprintf(tw, "%s\t", format(r.get(figures[n]), r.unit))
		}
		if first, last := r.get(figures[sizes[0]]), r.get(figures[sizes[len(sizes)-1]]); first > 0 {
			fmt.Fprintf(tw, "%.2fx\t", last/first)
		} else {
			fmt.Fprint(tw, "-\t")
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	return sb.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(n int64) float64        { return float64(n) / (1 << 20) }

func format(v float64, unit string) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f%s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f%s", v, unit)
	}
	return fmt.Sprintf("%.2f%s", v, unit)
}
