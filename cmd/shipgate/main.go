// Command shipgate is a ChatOps delivery bot: it runs Keptn-format shipyards, posts each stage to chat,
// and gates promotions on SLO evaluations and approvals.
package main

import (
	"context"
	"os"
	// The container image has no /usr/share/zoneinfo; embed the zone database for times shown in chat.
	_ "time/tzdata"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
