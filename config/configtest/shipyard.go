package configtest

import (
	"fmt"
	"strings"
)

// TutorialShipyard is the Keptn tutorial's shipyard (project fulltour) as shipgate's tests run it: qa
// deploys, tests and evaluates each build and rolls back a failed one; production waits for a manual
// approval, then deploys and releases. Unlike the tutorial, it has no remediation sequence and no
// evaluation timeframe; tests that need a different shape build a Variant of it.
const TutorialShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: test
            - name: evaluation
        - name: rollback
          triggeredOn: [{event: qa.delivery.finished, selector: {match: {result: fail}}}]
          tasks: [{name: rollback}]
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks:
            - name: approval
              properties: {pass: manual, warning: manual}
            - name: deployment
            - name: release
`

// QARollback is TutorialShipyard's rollback sequence in qa, for variants without it.
const QARollback = `        - name: rollback
          triggeredOn: [{event: qa.delivery.finished, selector: {match: {result: fail}}}]
          tasks: [{name: rollback}]
`

// Variant returns base with each pair of oldNew applied: old replaced by new. Each old must appear in
// base exactly once, else Variant panics (it runs where no testing.T is, to initialise a package's
// shipyard), so that a change to the base cannot silently change or drop what a variant says differs.
func Variant(base string, oldNew ...string) string {
	if len(oldNew)%2 != 0 {
		panic("configtest.Variant: odd number of old, new strings")
	}
	for i := 0; i < len(oldNew); i += 2 {
		old, repl := oldNew[i], oldNew[i+1]
		if n := strings.Count(base, old); n != 1 {
			panic(fmt.Sprintf("configtest.Variant: %q appears %d times in the base, want once", old, n))
		}
		base = strings.Replace(base, old, repl, 1)
	}
	return base
}
