// Package dora computes the four DORA figures — deployment frequency, lead time for changes, change
// failure rate and time to restore — for the services of a project in one stage, normally production
// (the shipyard's last stage, see ProductionStage), over a time window.
//
// Compute is pure: it takes Records, one per delivery with its sequence runs in the stage, and a Window.
// Load builds the Records from the store, and Measure does both. Everything is judged as it was known at
// the window's end: runs that ended, rollbacks that started and restores that happened at or after
// Window.To are ignored, so the figures of a past window do not change when more happens.
//
// # What counts
//
// A delivery's deployment run is its first sequence run in the stage that is not a rollback (a sequence
// named "rollback"). A deployment run is a change when it ended — state finished or timedOut, not aborted
// — and at least one of its tasks other than approval and evaluation started: a run refused at its
// approval gate, or an evaluation-only sequence, changed nothing. A change succeeded when its run
// finished with result pass or warning, and failed otherwise (result fail, or timed out). A change is in
// the window when its run ended at or after Window.From and before Window.To. Aborted runs (a person
// aborted them, or a newer delivery superseded them while they waited for approval) are neither
// deployments nor failures.
//
// # Deployment frequency
//
// Deployments is the number of successful changes in the window; DeploymentsPerDay is Deployments divided
// by the window's length in days of 24 hours.
//
// # Lead time for changes
//
// For each successful change in the window: the time from its delivery's trigger (Delivery.CreatedAt,
// when CI or a person asked for it) to the end of its deployment run. LeadTime holds the median and the
// 90th percentile.
//
// # Change failure rate
//
// Changes is the number of changes in the window, successful or failed. Failures is the number of them
// that were followed by a failure; the failure's time is the earliest of:
//   - the change's deployment run failed: when the run ended;
//   - an evaluation task of the deployment run had result fail (a failed post-deploy quality gate): when
//     that task finished;
//   - a rollback ran for the change: when the rollback run was triggered. A rollback run is any run of a
//     sequence named rollback in the stage that started before Window.To. It belongs to the change of its
//     own delivery when that delivery has one that ended by the time the rollback was triggered (a
//     shipyard's rollback triggered on a failed delivery); otherwise — a rollback triggered as a delivery of
//     its own, such as `/deliver rollback SERVICE production` — to the latest change of the same service
//     that ended at or before the rollback was triggered. So a rollback counts against the change it
//     undoes, and never against one made after it; a rollback after a later successful change counts
//     against that later change.
//
// ChangeFailureRate is Failures / Changes, and 0 when there were no changes.
//
// # Time to restore
//
// For each failure of a change in the window: the time from the failure to the first restore of the same
// service at or after it, before Window.To. A restore is another successful change, or a rollback run that
// finished with result pass or warning. Each failure is measured on its own: two failed changes before one
// fix both count, each from its own failure. A failure not restored by Window.To (an ongoing failure) is
// counted in Unrestored and in the change failure rate, and left out of time to restore. TimeToRestore
// holds the median and the 90th percentile of the restored ones.
//
// # Quantiles and empty figures
//
// Quantiles interpolate linearly between the two nearest ranks (Hyndman and Fan's method 7, the default
// of numpy and of spreadsheets' PERCENTILE.INC): the median of an even number of values is the mean of the
// middle two.
//
// With no change in the window every figure is zero and Empty is set: zero then means "no data", not
// "instant" or "never fails". Likewise LeadTime is zero when Deployments is 0, and TimeToRestore is zero
// when Restored is 0.
package dora
