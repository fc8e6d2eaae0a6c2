package growth

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/shipgate/shipgate/store"
)

// delivery is one delivery being generated: what it is, how it will go, and the ids written so far.
type delivery struct {
	project, service, version, image string
	actor, source, channel           string

	qaResult store.Result // the qa evaluation's
	decision store.ApprovalState

	id       int64
	context  string
	run      int64  // the running sequence run
	runEvent string // its triggered event
	task     int64  // the running task run
	taskName string
	event    string // the running task's triggered event
	approval int64
	root     string // the root card's message id
	edits    int    // times the root card was recorded
}

func (g *generator) newDelivery() *delivery {
	p := Projects[g.rng.IntN(len(Projects))]
	svc := p.Services[g.rng.IntN(len(p.Services))]
	key := p.Name + "/" + svc
	g.builds[key]++
	n := g.builds[key]
	version := fmt.Sprintf("v1.%d.%d", n/20, n%20)
	d := &delivery{project: p.Name, service: svc, version: version, image: fmt.Sprintf("registry.example/%s/%s:%s", p.Name, svc, version),
		actor: ciActor, source: "api"}
	if g.rng.IntN(10) < 3 {
		d.actor, d.source, d.channel = deployers[g.rng.IntN(len(deployers))], "web", HistoryChannel
	}
	switch r := g.rng.IntN(100); {
	case r < 7:
		d.qaResult = store.ResultFail
	case r < 12:
		d.qaResult = store.ResultWarning
	default:
		d.qaResult = store.ResultPass
	}
	switch r := g.rng.IntN(100); {
	case r < 3:
		d.decision = store.ApprovalRejected
	case r < 4:
		d.decision = store.ApprovalExpired
	default:
		d.decision = store.ApprovalApproved
	}
	return d
}

// seconds is a random duration between lo and hi seconds.
func (g *generator) seconds(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1)) * time.Second
}

func ptr[T any](v T) *T { return &v }

// The steps of a delivery, in order.

// trigger: the delivery is recorded with its idempotency key and audit entry, its qa sequence starts
// and so does its deployment; the root card is posted.
func (g *generator) trigger(tx *store.Tx, d *delivery, at time.Time) error {
	del := &store.Delivery{Project: d.project, Service: d.service, Image: d.image, Labels: map[string]string{"version": d.version},
		Stage: "qa", Sequence: store.DefaultSequence, Actor: d.actor, Source: d.source, SourceChannel: d.channel}
	if err := tx.CreateDelivery(g.ctx, del); err != nil {
		return err
	}
	d.id, d.context = del.ID, del.KeptnContext
	g.stats.Deliveries++
	if g.stats.First.IsZero() {
		g.stats.First = at
	}
	g.stats.Last = at
	scope, key := "trigger", fmt.Sprintf("ci-%d-%d", d.id, g.rng.Uint32())
	if d.source == "web" {
		scope, key = "web.request", uuid.NewString()
	}
	answer := fmt.Appendf(nil, `{"id":%d,"keptnContext":%q,"url":"/api/v1/deliveries/%d"}`, d.id, d.context, d.id)
	if _, err := tx.RecordIdempotencyKey(g.ctx, scope, key, d.id, answer); err != nil {
		return err
	}
	if err := g.audit(tx, d.actor, d.source, d.channel, "delivery.trigger", fmt.Sprintf("delivery:%d", d.id), true, "",
		fmt.Sprintf(`{"image":%q,"project":%q,"sequence":"delivery","service":%q,"stage":"qa"}`, d.image, d.project, d.service)); err != nil {
		return err
	}
	if err := g.startSequence(tx, d, "qa", "delivery", at, true); err != nil {
		return err
	}
	if _, err := tx.UpdateDelivery(g.ctx, d.id, store.DeliveryUpdate{State: ptr(store.StateStarted)}); err != nil {
		return err
	}
	d.root = g.messageID(at)
	if err := g.chat(tx, d, d.root, store.MessageRoot, 0); err != nil {
		return err
	}
	if err := g.startTask(tx, d, 0, "deployment", "helm", "qa", at, `"deployment":{"deploymentstrategy":"direct"},`); err != nil {
		return err
	}
	g.after(d, at, g.seconds(40, 150), (*generator).qaDeployed)
	return nil
}

// qaDeployed: the qa deployment finished; the test starts.
func (g *generator) qaDeployed(tx *store.Tx, d *delivery, at time.Time) error {
	if err := g.finishTask(tx, d, "qa", store.ResultPass, g.deployMessage(d, "qa"), g.deployData(d, "qa"), at); err != nil {
		return err
	}
	if err := g.startTask(tx, d, 1, "test", "exec", "qa", at, `"test":{"teststrategy":"performance"},`); err != nil {
		return err
	}
	g.after(d, at, g.seconds(180, 420), (*generator).qaTested)
	return nil
}

// qaTested: the test finished and the evaluation scores it; qa ends, and either the rollback or
// production's approval starts.
func (g *generator) qaTested(tx *store.Tx, d *delivery, at time.Time) error {
	start := at.Add(-5 * time.Minute)
	if err := g.finishTask(tx, d, "qa", store.ResultPass, "k6: 0 failed, p95 412 ms", g.testData(start, at), at); err != nil {
		return err
	}
	if err := g.startTask(tx, d, 2, "evaluation", "evaluator", "qa", at, `"evaluation":{"timeframe":"5m"},`); err != nil {
		return err
	}
	eval, err := g.evaluate(tx, d, start, at)
	if err != nil {
		return err
	}
	data := fmt.Sprintf(`{"evaluation":{"result":%q,"score":%g,"evaluationId":%d,"timeStart":%q,"timeEnd":%q}}`,
		d.qaResult, eval.Score, eval.ID, start.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	if err := g.finishTask(tx, d, "qa", d.qaResult, eval.Message, data, at); err != nil {
		return err
	}
	if err := g.finishSequence(tx, d, "qa", "delivery", d.qaResult, at); err != nil {
		return err
	}
	worst := d.qaResult
	if _, err := tx.UpdateDelivery(g.ctx, d.id, store.DeliveryUpdate{Result: ptr(d.qaResult), WorstResult: &worst}); err != nil {
		return err
	}
	if d.qaResult == store.ResultFail {
		if err := g.startSequence(tx, d, "qa", "rollback", at, false); err != nil {
			return err
		}
		if err := g.startTask(tx, d, 0, "rollback", "helm", "qa", at, ""); err != nil {
			return err
		}
		g.after(d, at, g.seconds(20, 90), (*generator).rolledBack)
		return nil
	}
	if err := g.startSequence(tx, d, "production", "delivery", at, false); err != nil {
		return err
	}
	if err := g.startTask(tx, d, 0, "approval", "approval", "production", at, `"approval":{"pass":"manual","warning":"manual"},`); err != nil {
		return err
	}
	expires := at.Add(24 * time.Hour)
	a := &store.Approval{TaskRunID: d.task, Required: 1, Roles: []string{"approver"}, ExpiresAt: &expires}
	if err := tx.CreateApproval(g.ctx, a); err != nil {
		return err
	}
	d.approval = a.ID
	if _, err := tx.UpdateSequenceRun(g.ctx, d.run, store.SequenceRunUpdate{State: ptr(store.StateWaitingForApproval)}); err != nil {
		return err
	}
	if _, err := tx.UpdateDelivery(g.ctx, d.id, store.DeliveryUpdate{State: ptr(store.StateWaitingForApproval)}); err != nil {
		return err
	}
	if err := g.chat(tx, d, g.messageID(at), store.MessageApproval, a.ID); err != nil {
		return err
	}
	// People take from minutes to most of a working day; an approval nobody decides expires after 24h.
	wait := time.Duration(math.Exp(math.Log(float64(20*time.Minute)) + g.rng.NormFloat64()))
	wait = min(wait, 20*time.Hour)
	if d.decision == store.ApprovalExpired {
		wait = 24 * time.Hour
		if at.Add(wait).After(g.shape.End.Add(-settled)) {
			d.decision = store.ApprovalApproved // it would not have expired yet
		}
	}
	g.after(d, at, wait, (*generator).decided)
	return nil
}

// rolledBack: the rollback of a failed build finished, and with it the delivery.
func (g *generator) rolledBack(tx *store.Tx, d *delivery, at time.Time) error {
	if err := g.finishTask(tx, d, "qa", store.ResultPass, g.deployMessage(d, "qa")+" (rolled back)", g.deployData(d, "qa"), at); err != nil {
		return err
	}
	if err := g.finishSequence(tx, d, "qa", "rollback", store.ResultPass, at); err != nil {
		return err
	}
	return g.finish(tx, d, store.ResultFail, "evaluation failed in qa; rolled back", at)
}

// decided: someone approved or rejected the approval, or nobody did and it expired. Now and then
// someone without the role tried first.
func (g *generator) decided(tx *store.Tx, d *delivery, at time.Time) error {
	target := fmt.Sprintf("approval:%d", d.approval)
	if g.rng.IntN(10) == 0 {
		if err := g.audit(tx, d.actor, "web", HistoryChannel, "approval.approve", target, false,
			"you need the role approver to decide this approval", fmt.Sprintf(`{"delivery":%d,"stage":"production"}`, d.id)); err != nil {
			return err
		}
	}
	result, by, reason := store.ResultPass, approvers[g.rng.IntN(len(approvers))], ""
	switch d.decision {
	case store.ApprovalExpired:
		result, by, reason = store.ResultFail, "shipgate", "expired after 24h without a decision"
		if err := g.audit(tx, by, "", "", "approval.expire", target, true, reason, ""); err != nil {
			return err
		}
	default:
		decision := store.DecisionApprove
		reason = "approved by " + by
		if d.decision == store.ApprovalRejected {
			decision, result, reason = store.DecisionReject, store.ResultFail, "rejected by "+by+": error budget spent"
		}
		if err := tx.CastVote(g.ctx, &store.Vote{ApprovalID: d.approval, Voter: by, Platform: "web", Decision: decision}); err != nil {
			return err
		}
		if err := g.audit(tx, by, "web", HistoryChannel, "approval."+string(decision), target, true, "",
			fmt.Sprintf(`{"delivery":%d,"reason":"","roles":["approver"],"stage":"production"}`, d.id)); err != nil {
			return err
		}
	}
	if _, err := tx.DecideApproval(g.ctx, d.approval, d.decision, by, reason); err != nil {
		return err
	}
	if _, err := tx.UpdateSequenceRun(g.ctx, d.run, store.SequenceRunUpdate{State: ptr(store.StateStarted)}); err != nil {
		return err
	}
	data := fmt.Sprintf(`{"approval":{"decidedBy":%q,"state":%q}}`, by, d.decision)
	if err := g.finishTask(tx, d, "production", result, reason, data, at); err != nil {
		return err
	}
	if result == store.ResultFail {
		if err := g.finishSequence(tx, d, "production", "delivery", store.ResultFail, at); err != nil {
			return err
		}
		return g.finish(tx, d, store.ResultFail, reason, at)
	}
	if _, err := tx.UpdateDelivery(g.ctx, d.id, store.DeliveryUpdate{State: ptr(store.StateStarted)}); err != nil {
		return err
	}
	if err := g.startTask(tx, d, 1, "deployment", "helm", "production", at, `"deployment":{"deploymentstrategy":"direct"},`); err != nil {
		return err
	}
	g.after(d, at, g.seconds(40, 150), (*generator).released)
	return nil
}

// released: production's deployment finished, the release ran, and the delivery is done.
func (g *generator) released(tx *store.Tx, d *delivery, at time.Time) error {
	if err := g.finishTask(tx, d, "production", store.ResultPass, g.deployMessage(d, "production"), g.deployData(d, "production"), at); err != nil {
		return err
	}
	if err := g.startTask(tx, d, 2, "release", "webhook", "production", at, ""); err != nil {
		return err
	}
	release := fmt.Sprintf(`{"release":{"statusCode":200,"attempts":1,"url":"https://ci.example/hooks/released?service=%s"}}`, d.service)
	if err := g.finishTask(tx, d, "production", store.ResultPass, "POST https://ci.example/hooks/released → 200 OK", release, at); err != nil {
		return err
	}
	if err := g.finishSequence(tx, d, "production", "delivery", store.ResultPass, at); err != nil {
		return err
	}
	return g.finish(tx, d, d.qaResult, "", at)
}

// finish ends the delivery, edits its root card, and sometimes someone looks at it from chat.
func (g *generator) finish(tx *store.Tx, d *delivery, result store.Result, message string, at time.Time) error {
	worst := result
	if d.qaResult == store.ResultWarning && result == store.ResultPass {
		worst = store.ResultWarning
	}
	if _, err := tx.UpdateDelivery(g.ctx, d.id, store.DeliveryUpdate{State: ptr(store.StateFinished), Result: &result,
		WorstResult: &worst, Message: &message}); err != nil {
		return err
	}
	if err := g.chat(tx, d, d.root, store.MessageRoot, 0); err != nil {
		return err
	}
	if g.rng.IntN(2) == 0 {
		who := deployers[g.rng.IntN(len(deployers))]
		text := "status " + strconv.FormatInt(d.id, 10)
		if _, err := tx.RecordIdempotencyKey(g.ctx, "web.request", uuid.NewString(), 0, json.RawMessage(`{"Public":false}`)); err != nil {
			return err
		}
		if err := g.audit(tx, who, "web", HistoryChannel, "command.status", fmt.Sprintf("delivery:%d", d.id), true, "",
			fmt.Sprintf(`{"text":%q}`, text)); err != nil {
			return err
		}
	}
	return nil
}

// What the steps write.

func (g *generator) startSequence(tx *store.Tx, d *delivery, stage, sequence string, at time.Time, first bool) error {
	trig := uuid.NewString()
	r := &store.SequenceRun{DeliveryID: d.id, Stage: stage, Sequence: sequence, TriggeredEventID: trig}
	if err := tx.CreateSequenceRun(g.ctx, r); err != nil {
		return err
	}
	d.run, d.runEvent = r.ID, trig
	data := fmt.Sprintf(`{"configurationChange":{"values":{"image":%q}},"labels":{"version":%q},"project":%q,"service":%q,"stage":%q}`,
		d.image, d.version, d.project, d.service, stage)
	if !first {
		data = fmt.Sprintf(`{"configurationChange":{"values":{"image":%q}},"evaluation":{"result":%q},"labels":{"version":%q},"project":%q,"result":%q,"service":%q,"stage":%q,"status":"succeeded"}`,
			d.image, d.qaResult, d.version, d.project, d.qaResult, d.service, stage)
	}
	if err := g.event(tx, d, fmt.Sprintf("sh.keptn.event.%s.%s.triggered", stage, sequence), trig, "", data, at); err != nil {
		return err
	}
	if _, err := tx.UpdateSequenceRun(g.ctx, r.ID, store.SequenceRunUpdate{State: ptr(store.StateStarted)}); err != nil {
		return err
	}
	return g.event(tx, d, fmt.Sprintf("sh.keptn.event.%s.%s.started", stage, sequence), "", trig,
		fmt.Sprintf(`{"project":%q,"service":%q,"stage":%q}`, d.project, d.service, stage), at)
}

func (g *generator) finishSequence(tx *store.Tx, d *delivery, stage, sequence string, result store.Result, at time.Time) error {
	if _, err := tx.UpdateSequenceRun(g.ctx, d.run, store.SequenceRunUpdate{State: ptr(store.StateFinished), Result: &result,
		Status: ptr(store.StatusSucceeded)}); err != nil {
		return err
	}
	if err := g.event(tx, d, fmt.Sprintf("sh.keptn.event.%s.%s.finished", stage, sequence), "", d.runEvent,
		fmt.Sprintf(`{"message":"","project":%q,"result":%q,"service":%q,"stage":%q,"status":"succeeded"}`, d.project, result, d.service, stage), at); err != nil {
		return err
	}
	return g.chat(tx, d, g.messageID(at), store.MessageThread, 0)
}

// startTask triggers and starts task name of the running sequence; properties is the task's part of
// the triggered event's data, a JSON member with a trailing comma, or "".
func (g *generator) startTask(tx *store.Tx, d *delivery, position int, name, executor, stage string, at time.Time, properties string) error {
	trig := uuid.NewString()
	t := &store.TaskRun{SequenceRunID: d.run, Position: position, Name: name, Executor: executor, TriggeredEventID: trig}
	if err := tx.CreateTaskRun(g.ctx, t); err != nil {
		return err
	}
	d.task, d.taskName, d.event = t.ID, name, trig
	data := fmt.Sprintf(`{"configurationChange":{"values":{"image":%q}},%s"labels":{"version":%q},"message":"","project":%q,"service":%q,"stage":%q}`,
		d.image, properties, d.version, d.project, d.service, stage)
	if err := g.event(tx, d, "sh.keptn.event."+name+".triggered", trig, "", data, at); err != nil {
		return err
	}
	if _, err := tx.UpdateTaskRun(g.ctx, t.ID, store.TaskRunUpdate{State: ptr(store.TaskStarted)}); err != nil {
		return err
	}
	if err := g.event(tx, d, "sh.keptn.event."+name+".started", "", trig,
		fmt.Sprintf(`{"message":"","project":%q,"service":%q,"stage":%q,"status":"succeeded"}`, d.project, d.service, stage), at); err != nil {
		return err
	}
	return g.chat(tx, d, g.messageID(at), store.MessageThread, 0)
}

// finishTask finishes the running task with its result data, a JSON object.
func (g *generator) finishTask(tx *store.Tx, d *delivery, stage string, result store.Result, message, data string, at time.Time) error {
	if _, err := tx.UpdateTaskRun(g.ctx, d.task, store.TaskRunUpdate{State: ptr(store.TaskFinished), Result: &result,
		Status: ptr(store.StatusSucceeded), Message: &message, Data: json.RawMessage(data)}); err != nil {
		return err
	}
	// The finished event carries the result data merged with the scope, as Keptn's did.
	event := fmt.Sprintf(`{"message":%q,"project":%q,"result":%q,"service":%q,"stage":%q,"status":"succeeded",%s`,
		message, d.project, result, d.service, stage, data[1:])
	if err := g.event(tx, d, "sh.keptn.event."+d.taskName+".finished", "", d.event, event, at); err != nil {
		return err
	}
	return g.chat(tx, d, g.messageID(at), store.MessageThread, 0)
}

// evaluate stores the qa evaluation: three SLIs scored against the service's previous build.
func (g *generator) evaluate(tx *store.Tx, d *delivery, start, end time.Time) (*store.Evaluation, error) {
	key := d.project + "/" + d.service
	p95 := 300 + 200*g.rng.Float64()
	throughput := 80 + 40*g.rng.Float64()
	errRate := 0.5 * g.rng.Float64()
	score := 100.0
	switch d.qaResult {
	case store.ResultWarning:
		p95, score = 700+50*g.rng.Float64(), 83.3
	case store.ResultFail:
		p95, score = 950+200*g.rng.Float64(), 33.3
	}
	var compared []int64
	if prev := g.lastEval[key]; prev != 0 {
		compared = []int64{prev}
	}
	objectives := fmt.Sprintf(`[{"sli":"response_time_p95","display_name":"Response time P95","value":%.1f,"compared_value":412.5,"status":%q,"score":1,"weight":1,"key_sli":false,"pass_targets":[{"criteria":"<=+10%%","target_value":453.75,"violated":false},{"criteria":"<600","target_value":600,"violated":false}],"warning_targets":[{"criteria":"<=800","target_value":800,"violated":false}]},`+
		`{"sli":"throughput","display_name":"Throughput","value":%.1f,"compared_value":100,"status":"pass","score":1,"weight":1,"key_sli":false,"pass_targets":[{"criteria":">=-80%%","target_value":20,"violated":false}],"warning_targets":null},`+
		`{"sli":"error_rate","display_name":"Error rate","value":%.3f,"compared_value":0,"status":"pass","score":2,"weight":2,"key_sli":true,"pass_targets":[{"criteria":"<=1","target_value":1,"violated":false}],"warning_targets":[{"criteria":"<=2","target_value":2,"violated":false}]}]`,
		p95, d.qaResult, throughput, errRate)
	e := &store.Evaluation{DeliveryID: d.id, TaskRunID: d.task, Project: d.project, Stage: "qa", Service: d.service,
		Result: d.qaResult, Status: store.StatusSucceeded, Score: score, TimeStart: start, TimeEnd: end,
		Message:    fmt.Sprintf("Evaluation %s: score %.1f of 100", d.qaResult, score),
		Objectives: json.RawMessage(objectives), ComparedIDs: compared,
		SLIs: map[string]store.SLIValue{
			"response_time_p95": {Value: &p95, Success: true},
			"throughput":        {Value: &throughput, Success: true},
			"error_rate":        {Value: &errRate, Success: true},
		}}
	if err := tx.CreateEvaluation(g.ctx, e); err != nil {
		return nil, err
	}
	if d.qaResult != store.ResultFail {
		g.lastEval[key] = e.ID
	}
	return e, nil
}

func (g *generator) event(tx *store.Tx, d *delivery, typ, id, triggeredID, data string, at time.Time) error {
	e := &store.Event{ID: id, DeliveryID: d.id, KeptnContext: d.context, TriggeredID: triggeredID, Type: typ, Source: "shipgate",
		Time: at, Data: json.RawMessage(data)}
	if err := tx.AppendEvent(g.ctx, e); err != nil {
		return err
	}
	g.stats.Events++
	return nil
}

func (g *generator) audit(tx *store.Tx, actor, platform, channel, action, target string, allowed bool, reason, details string) error {
	a := &store.AuditEntry{Actor: actor, Platform: platform, Channel: channel, Action: action, Target: target, Allowed: allowed, Reason: reason}
	if details != "" {
		a.Details = json.RawMessage(details)
	}
	if err := tx.AppendAudit(g.ctx, a); err != nil {
		return err
	}
	g.stats.Audit++
	return nil
}

// chat records a message posted in the web console's channel, in the delivery's thread (the root card
// is its own thread); recording the root card again is an edit, which updates its record.
func (g *generator) chat(tx *store.Tx, d *delivery, id string, kind store.MessageKind, approval int64) error {
	m := &store.ChatMessage{DeliveryID: d.id, Platform: "web", Channel: HistoryChannel, MessageID: id, ThreadID: d.root, Kind: kind,
		ApprovalID: approval}
	if err := tx.SaveChatMessage(g.ctx, m); err != nil {
		return err
	}
	if id != d.root || kind != store.MessageRoot || d.edits == 0 {
		g.stats.Chat++ // not an edit
	}
	if id == d.root {
		d.edits++
	}
	return nil
}

// messageID is a new chat message id, shaped as the web console's.
func (g *generator) messageID(at time.Time) string {
	g.messages++
	return fmt.Sprintf("h%x-%d", at.Unix()/86400, g.messages)
}

func (g *generator) deployMessage(d *delivery, stage string) string {
	return fmt.Sprintf("%s revision %d in %s-%s: chart %s-0.1.0, image %s", d.service, g.builds[d.project+"/"+d.service],
		d.project, stage, d.service, d.image)
}

func (g *generator) deployData(d *delivery, stage string) string {
	rev := g.builds[d.project+"/"+d.service]
	return fmt.Sprintf(`{"deployment":{"deploymentstrategy":"direct","deploymentNames":["direct"],"deploymentURIsLocal":["http://%s.%s-%s:80"],`+
		`"helm":{"release":%q,"namespace":"%s-%s","stage":%q,"revision":%d,"status":"deployed","chartVersion":"0.1.0","image":%q,`+
		`"previousRevision":%d,"previousImage":"registry.example/%s/%s:previous","previousChartVersion":"0.1.0"}}}`,
		d.service, d.project, stage, d.service, d.project, stage, stage, rev, d.image, rev-1, d.project, d.service)
}

// testOutput is the tail of a load test's output, as the exec executor keeps it.
const testOutput = `     checks.........................: 100.00% ✓ 2400      ✗ 0
     data_received..................: 3.1 MB  52 kB/s
     data_sent......................: 212 kB  3.5 kB/s
     http_req_blocked...............: avg=8.1µs    min=1.2µs   med=3.4µs    max=2.1ms    p(90)=5.6µs    p(95)=7.9µs
     http_req_connecting............: avg=2.9µs    min=0s      med=0s       max=1.2ms    p(90)=0s       p(95)=0s
     http_req_duration..............: avg=201.3ms  min=102.5ms med=188.1ms  max=702.2ms  p(90)=361.9ms  p(95)=412.5ms
     http_req_failed................: 0.00%   ✓ 0         ✗ 2400
     http_req_receiving.............: avg=61.2µs   min=14.1µs  med=52.8µs   max=1.9ms    p(90)=96.2µs   p(95)=121.3µs
     http_reqs......................: 2400    40/s
     iteration_duration.............: avg=1.2s     min=1.1s    med=1.2s     max=1.7s     p(90)=1.36s    p(95)=1.41s
     iterations.....................: 2400    40/s
     vus............................: 50      min=50      max=50
`

func (g *generator) testData(start, end time.Time) string {
	out, _ := json.Marshal(testOutput)
	return fmt.Sprintf(`{"test":{"start":%q,"end":%q,"exitCode":0,"output":%s,"outputTruncated":false}}`,
		start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), out)
}
