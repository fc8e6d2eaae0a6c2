package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The read path of every list and lookup must cost the same whatever the history: SQLite must find the
// rows through an index, read them in the order asked, and stop after the LIMIT. This test runs every
// read function of the store, with each filter combination its callers use, against a connection that
// records the statements they send, and asks SQLite how it would run each: EXPLAIN QUERY PLAN of the
// store's own statement text and arguments, on a migrated database. The test holds no SQL of its own.

// growing are the tables that grow with history. A plan must not read one of them in full, nor sort rows
// read from one.
var growing = []string{"deliveries", "sequence_runs", "task_runs", "events", "approvals", "chat_messages", "audit_log", "evaluations", "web_messages"}

// statement is one statement a read function sent, as it sent it.
type statement struct {
	sql  string
	args []any
}

// recorder is a querier that runs every statement on db and keeps it.
type recorder struct {
	db    querier
	stmts []statement
}

func (r *recorder) keep(query string, args []any) {
	r.stmts = append(r.stmts, statement{sql: query, args: slices.Clone(args)})
}

func (r *recorder) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r.keep(query, args)
	return r.db.ExecContext(ctx, query, args...)
}

func (r *recorder) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r.keep(query, args)
	return r.db.QueryContext(ctx, query, args...)
}

func (r *recorder) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	r.keep(query, args)
	return r.db.QueryRowContext(ctx, query, args...)
}

// planRow is one line of EXPLAIN QUERY PLAN.
type planRow struct {
	id, parent int
	detail     string
}

func explain(ctx context.Context, db querier, st statement) ([]planRow, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.sql, st.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []planRow
	for rows.Next() {
		var r planRow
		var notUsed int
		if err := rows.Scan(&r.id, &r.parent, &notUsed, &r.detail); err != nil {
			return nil, err
		}
		plan = append(plan, r)
	}
	return plan, rows.Err()
}

// tableRef finds the tables a statement names and the aliases it gives them ("FROM sequence_runs s").
var tableRef = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+([a-z_]+)(?:\s+(?:AS\s+)?([a-z_]+))?`)

// limitClause is the LIMIT of the outermost query, at the end of the statement.
var limitClause = regexp.MustCompile(`(?i)\bLIMIT\s+(\?|\d+)\s*$`)

// limited reports whether st ends with a LIMIT that bounds it: a positive number, or a parameter bound to
// one (the store passes -1 for no limit).
func limited(st statement) bool {
	m := limitClause.FindStringSubmatch(strings.TrimSpace(st.sql))
	if m == nil {
		return false
	}
	if m[1] != "?" {
		return m[1] != "0"
	}
	if len(st.args) == 0 {
		return false
	}
	n, ok := st.args[len(st.args)-1].(int)
	return ok && n > 0
}

// planProblems says what in a plan reads or sorts history:
//   - a SCAN of a growing table: every row it holds. A scan of an index that gives the rows in the order
//     asked, at the top level of a statement with a LIMIT and no sort, stops after LIMIT matching rows,
//     and passes: it is how a list with a filter no index holds is read.
//   - a temporary B-tree (ORDER BY, GROUP BY, DISTINCT) in a statement that reads a growing table: every
//     matching row is read and sorted before the first is returned. sortsBounded allows it, for a query
//     whose matching rows are bounded by something other than history.
func planProblems(st statement, plan []planRow, sortsBounded bool) []string {
	isGrowing := growingIn(st)
	reads := len(growingReads(st, plan)) > 0
	sorts := slices.ContainsFunc(plan, func(r planRow) bool { return strings.HasPrefix(r.detail, "USE TEMP B-TREE") })
	var problems []string
	for _, r := range plan {
		f := strings.Fields(r.detail)
		switch {
		case len(f) > 1 && f[0] == "SCAN" && isGrowing(f[1]):
			ordered := strings.Contains(r.detail, " INDEX ") && r.parent == 0 && !sorts && limited(st)
			if !ordered && !slices.Contains(liveOnlyIndexes, f[len(f)-1]) {
				problems = append(problems, "reads the whole table: "+r.detail)
			}
		case strings.HasPrefix(r.detail, "USE TEMP B-TREE") && reads && !sortsBounded:
			problems = append(problems, "sorts every matching row: "+r.detail)
		}
	}
	return problems
}

// liveOnlyIndexes are partial indexes that hold live rows only, never history: reading one whole costs
// what is live (a queue), however long the history.
var liveOnlyIndexes = []string{"sequence_runs_queued", "sequence_runs_frozen"}

// growingIn returns whether a name in st's plan (a table, or an alias st gives one) is a growing table.
func growingIn(st statement) func(name string) bool {
	tables := map[string]string{}
	for _, m := range tableRef.FindAllStringSubmatch(st.sql, -1) {
		tables[m[1]] = m[1]
		if m[2] != "" {
			tables[m[2]] = m[1]
		}
	}
	return func(name string) bool { return slices.Contains(growing, tables[name]) }
}

// growingReads are the plan's lines that read a growing table.
func growingReads(st statement, plan []planRow) []string {
	isGrowing := growingIn(st)
	var out []string
	for _, r := range plan {
		if f := strings.Fields(r.detail); len(f) > 1 && (f[0] == "SCAN" || f[0] == "SEARCH") && isGrowing(f[1]) {
			out = append(out, r.detail)
		}
	}
	return out
}

// planCase is one read function called as a caller calls it.
type planCase struct {
	name   string // the caller, and the filters it sets
	method string // the read function it calls (a method of queries)
	run    func(ctx context.Context, q queries) error
	// sortsBounded, when set, says why the rows this query sorts are bounded by something other than
	// history. The sort is then allowed, and the test fails once the plan no longer needs it. What makes
	// them bounded is the way they are read, so reads pins it: the plan's reads of growing tables, which
	// must stay exactly these.
	sortsBounded string
	reads        []string
	// notJudged marks queries owned by another change: their plans are logged, not judged.
	notJudged bool
}

// planFixture is a migrated database with a row in each table, so that the read functions run every
// statement they have (GetEvaluation reads SLI values only for an evaluation that exists).
type planFixture struct {
	d  *Delivery
	r  *SequenceRun
	tr *TaskRun
	a  *Approval
	e  *Evaluation
	m  *ChatMessage
	ev *Event
	w  *WebMessage
}

func seedPlanFixture(t *testing.T, s *Store) planFixture {
	t.Helper()
	d, r, tr := seedTask(t, s)
	f := planFixture{d: d, r: r, tr: tr}
	update(t, s, func(tx *Tx) error {
		ctx := t.Context()
		f.a = &Approval{TaskRunID: tr.ID}
		if err := tx.CreateApproval(ctx, f.a); err != nil {
			return err
		}
		if err := tx.CastVote(ctx, &Vote{ApprovalID: f.a.ID, Voter: "U1", Decision: DecisionApprove}); err != nil {
			return err
		}
		f.e = &Evaluation{DeliveryID: d.ID, TaskRunID: tr.ID, Project: d.Project, Stage: "qa", Service: d.Service, Result: ResultPass,
			Score: 100, SLIs: map[string]SLIValue{"error_rate": {Value: new(0.5), Success: true}}}
		if err := tx.CreateEvaluation(ctx, f.e); err != nil {
			return err
		}
		f.m = &ChatMessage{DeliveryID: d.ID, Platform: "slack", Channel: "C1", MessageID: "1.2", Kind: MessageRoot}
		if err := tx.SaveChatMessage(ctx, f.m); err != nil {
			return err
		}
		f.w = &WebMessage{Seq: 1, Channel: "demo", MessageID: "c0ffee-1", ThreadID: "c0ffee-1", Root: true, Version: 1, Body: []byte(`{}`)}
		if err := tx.SaveWebMessage(ctx, f.w); err != nil {
			return err
		}
		f.ev = &Event{DeliveryID: d.ID, KeptnContext: d.KeptnContext, Type: "sh.keptn.event.qa.delivery.triggered"}
		if err := tx.AppendEvent(ctx, f.ev); err != nil {
			return err
		}
		if _, err := tx.RecordIdempotencyKey(ctx, "api", "k1", d.ID, nil); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &AuditEntry{Actor: "U1", Action: "delivery.trigger", Target: "delivery:1", Allowed: true})
	})
	return f
}

// apiListLimit is the API's page of 20 and the one more row it reads to know whether a next page exists.
const apiListLimit = 21

// auditExportPage is the page size of `shipgate audit export`.
const auditExportPage = 1000

// webRootsKept and webRepliesKept are what the web console holds of a channel: its newest root cards,
// and the newest replies of each.
const (
	webRootsKept   = 500
	webRepliesKept = 300
)

// planCases are the read functions as their callers call them. Callers are named so that a new caller
// with new filters has an obvious place to go.
func planCases(f planFixture) []planCase {
	var cases []planCase
	add := func(name, method string, run func(context.Context, queries) error) {
		cases = append(cases, planCase{name: name, method: method, run: run})
	}
	list := func(dq DeliveryQuery) func(context.Context, queries) error {
		return func(ctx context.Context, q queries) error { _, err := q.ListDeliveries(ctx, dq); return err }
	}
	at := &Position{At: f.d.CreatedAt, ID: f.d.ID}

	// GET /api/v1/deliveries: any combination of its filters, first page and next page.
	for mask := range 16 {
		for _, after := range []*Position{nil, at} {
			dq := DeliveryQuery{Limit: apiListLimit, After: after}
			var names []string
			if mask&1 != 0 {
				dq.Project, names = "fulltour", append(names, "project")
			}
			if mask&2 != 0 {
				dq.Service, names = "helloservice", append(names, "service")
			}
			if mask&4 != 0 {
				dq.Stage, names = "production", append(names, "stage")
			}
			if mask&8 != 0 {
				dq.State, names = StateWaitingForApproval, append(names, "state")
			}
			if len(names) == 0 {
				names = []string{"every project"}
			}
			if after != nil {
				names = append(names, "next page")
			}
			add("api list: "+strings.Join(names, ", "), "ListDeliveries", list(dq))
		}
	}
	// A token of two projects: one query per project.
	add("api list: a token's two projects", "ListDeliveries", list(DeliveryQuery{Projects: []string{"fulltour", "shop"}, Limit: apiListLimit}))
	add("api list: a token's two projects, next page", "ListDeliveries", list(DeliveryQuery{Projects: []string{"fulltour", "shop"}, Limit: apiListLimit, After: at}))
	add("api list: a token's two projects, state", "ListDeliveries", list(DeliveryQuery{Projects: []string{"fulltour", "shop"}, State: StateStarted, Limit: apiListLimit}))
	add("/deliver status: newest of a project", "ListDeliveries", list(DeliveryQuery{Project: "fulltour", Limit: 10}))
	add("/deliver history", "ListDeliveries", list(DeliveryQuery{Project: "fulltour", Service: "helloservice", Limit: 10}))
	add("/deliver history --stage", "ListDeliveries", list(DeliveryQuery{Project: "fulltour", Service: "helloservice", Stage: "production", Limit: 10}))
	add("/deliver rollback: the last delivery in the stage", "ListDeliveries", list(DeliveryQuery{Project: "fulltour", Service: "helloservice", Stage: "production", Limit: 1}))
	add("approval evidence: the version running in the stage", "ListDeliveries", list(DeliveryQuery{Project: "fulltour", Service: "helloservice", Stage: "production", Limit: 20}))
	add("bot catch-up at start: live deliveries", "ListDeliveries", list(DeliveryQuery{State: StateStarted}))

	add("api delivery, /deliver status ID", "GetDelivery", func(ctx context.Context, q queries) error { _, err := q.GetDelivery(ctx, f.d.ID); return err })
	add("executor event by Keptn context", "GetDeliveryByContext", func(ctx context.Context, q queries) error {
		_, err := q.GetDeliveryByContext(ctx, f.d.KeptnContext)
		return err
	})
	since, until := f.d.CreatedAt.Add(-30*24*time.Hour), f.d.CreatedAt.Add(time.Hour)
	for _, service := range []string{"", "helloservice"} {
		name := "DORA, /deliver stats: a stage's window"
		if service != "" {
			name += ", one service"
		}
		add(name, "ListStageFacts", func(ctx context.Context, q queries) error {
			// The fixture's run is live in qa: both statements run, the runs' and their tasks'.
			_, _, err := q.ListStageFacts(ctx, StageHistoryQuery{Project: "fulltour", Stage: "qa", Service: service, Since: since, Until: until})
			return err
		})
	}

	approvals := func(aq ApprovalQuery) func(context.Context, queries) error {
		return func(ctx context.Context, q queries) error { _, err := q.ListApprovals(ctx, aq); return err }
	}
	add("engine recovery: approvals of a task", "ListApprovals", approvals(ApprovalQuery{TaskRunID: f.tr.ID}))
	add("engine abort: pending approval of a task", "ListApprovals", approvals(ApprovalQuery{TaskRunID: f.tr.ID, State: ApprovalPending}))
	add("api delivery, delivery audit: approvals of a delivery", "ListApprovals", approvals(ApprovalQuery{DeliveryID: f.d.ID}))
	add("approval card, catch-up: pending approvals of a delivery", "ListApprovals", approvals(ApprovalQuery{DeliveryID: f.d.ID, State: ApprovalPending}))
	add("/deliver approvals: every pending approval", "ListApprovals", approvals(ApprovalQuery{State: ApprovalPending}))
	add("approval card", "GetApproval", func(ctx context.Context, q queries) error { _, err := q.GetApproval(ctx, f.a.ID); return err })
	add("changes of an approval", "GetApprovalChanges", func(ctx context.Context, q queries) error {
		_, err := q.GetApprovalChanges(ctx, f.a.ID)
		return err
	})
	add("approval card: votes", "ListVotes", func(ctx context.Context, q queries) error { _, err := q.ListVotes(ctx, f.a.ID); return err })
	add("vote", "GetBallot", func(ctx context.Context, q queries) error { _, err := q.GetBallot(ctx, f.a.ID); return err })

	audit := func(aq AuditQuery) func(context.Context, queries) error {
		return func(ctx context.Context, q queries) error { _, err := q.ListAudit(ctx, aq); return err }
	}
	add("/deliver audit", "ListAudit", audit(AuditQuery{Since: since, Limit: 5000}))
	for _, since := range []time.Time{{}, since} {
		for _, actor := range []string{"", "U1"} {
			for _, after := range []*Position{nil, {At: f.d.CreatedAt, ID: 1}} {
				name := "audit export"
				if !since.IsZero() {
					name += " --since"
				}
				if actor != "" {
					name += " --actor"
				}
				if after != nil {
					name += ", next page"
				}
				add(name, "ListAudit", audit(AuditQuery{Since: since, Actor: actor, OldestFirst: true, After: after, Limit: auditExportPage}))
			}
		}
	}

	// The evidence pack: the trail of each of a delivery's targets (the delivery, its approvals, its
	// evaluations), oldest first, one index range each.
	add("evidence pack: audit of one target", "ListAudit", audit(AuditQuery{Target: "delivery:1", OldestFirst: true}))

	add("api events of a delivery", "ListEvents", func(ctx context.Context, q queries) error { _, err := q.ListEvents(ctx, f.d.ID); return err })
	add("engine: the event a task answers", "GetEvent", func(ctx context.Context, q queries) error { _, err := q.GetEvent(ctx, f.ev.ID); return err })

	tasks := func(tq TaskRunQuery) func(context.Context, queries) error {
		return func(ctx context.Context, q queries) error { _, err := q.ListTaskRuns(ctx, tq); return err }
	}
	add("engine, stage status: tasks of a sequence run", "ListTaskRuns", tasks(TaskRunQuery{SequenceRunID: f.r.ID}))
	add("engine abort: live tasks of a sequence run", "ListTaskRuns", tasks(TaskRunQuery{SequenceRunID: f.r.ID, States: LiveTaskStates()}))
	add("api delivery: tasks of a delivery", "ListTaskRuns", tasks(TaskRunQuery{DeliveryID: f.d.ID}))
	live := "only live tasks: what is in flight, however long the history"
	byState := []string{"SEARCH task_runs USING INDEX task_runs_by_state (state=?)"}
	cases = append(cases,
		planCase{name: "engine recovery at start: live tasks", method: "ListTaskRuns", run: tasks(TaskRunQuery{States: LiveTaskStates()}),
			sortsBounded: live, reads: byState},
		planCase{name: "engine reconcile, process groups: started tasks", method: "ListTaskRuns", run: tasks(TaskRunQuery{States: []TaskState{TaskStarted}}),
			sortsBounded: live, reads: byState})
	add("engine: a task run", "GetTaskRun", func(ctx context.Context, q queries) error { _, err := q.GetTaskRun(ctx, f.tr.ID); return err })

	add("click: the message clicked", "GetChatMessage", func(ctx context.Context, q queries) error {
		_, err := q.GetChatMessage(ctx, f.m.Platform, f.m.Channel, f.m.MessageID)
		return err
	})
	add("card edit: the root card in a channel", "RootMessage", func(ctx context.Context, q queries) error {
		_, err := q.RootMessage(ctx, f.d.ID, f.m.Platform, f.m.Channel)
		return err
	})
	add("api delivery, approval edits: messages of a delivery", "ListChatMessages", func(ctx context.Context, q queries) error {
		_, err := q.ListChatMessages(ctx, f.d.ID)
		return err
	})

	add("web console start: the newest root cards of a channel", "ListWebRoots", func(ctx context.Context, q queries) error {
		_, err := q.ListWebRoots(ctx, f.w.Channel, webRootsKept)
		return err
	})
	add("web console start: the newest replies of each thread", "ListWebReplies", func(ctx context.Context, q queries) error {
		_, err := q.ListWebReplies(ctx, f.w.Channel, f.w.ThreadID, webRepliesKept)
		return err
	})
	add("web console start: where its order goes on", "LastWebSeq", func(ctx context.Context, q queries) error {
		_, err := q.LastWebSeq(ctx)
		return err
	})
	add("web console start: a prefix for its ids", "WebMessageIDTaken", func(ctx context.Context, q queries) error {
		_, err := q.WebMessageIDTaken(ctx, f.w.Channel, "c0ffee-")
		return err
	})
	add("web console edit: a message it does not hold in memory", "GetWebMessage", func(ctx context.Context, q queries) error {
		_, err := q.GetWebMessage(ctx, f.w.Channel, f.w.MessageID)
		return err
	})

	add("api delivery, /deliver history: evaluations of a delivery", "ListEvaluations", func(ctx context.Context, q queries) error {
		_, err := q.ListEvaluations(ctx, f.d.ID)
		return err
	})
	add("an evaluation", "GetEvaluation", func(ctx context.Context, q queries) error { _, err := q.GetEvaluation(ctx, f.e.ID); return err })
	for _, results := range [][]Result{nil, {ResultPass}, {ResultPass, ResultWarning}} {
		add(fmt.Sprintf("evaluation baseline, results %v", results), "PreviousEvaluations", func(ctx context.Context, q queries) error {
			_, err := q.PreviousEvaluations(ctx, PreviousQuery{Project: "fulltour", Stage: "qa", Service: "helloservice", Results: results, Limit: 3})
			return err
		})
	}

	add("idempotent request", "GetIdempotencyKey", func(ctx context.Context, q queries) error {
		_, err := q.GetIdempotencyKey(ctx, "api", "k1")
		return err
	})
	add("engine: a sequence run", "GetSequenceRun", func(ctx context.Context, q queries) error { _, err := q.GetSequenceRun(ctx, f.r.ID); return err })

	add("engine: the next queued run of a place", "NextQueued", func(ctx context.Context, q queries) error {
		_, err := q.NextQueued(ctx, QueueScope{Project: "fulltour", Stage: "qa", Service: "helloservice"})
		return err
	})
	add("/metrics: queue depths", "QueueDepths", func(ctx context.Context, q queries) error {
		_, err := q.QueueDepths(ctx)
		return err
	})
	add("engine recover: runs a freeze window holds", "FrozenSequenceRuns", func(ctx context.Context, q queries) error {
		_, err := q.FrozenSequenceRuns(ctx)
		return err
	})

	// The sequence runs of a delivery, and those of a place waiting for approval: their plans are logged
	// only, since both are a handful (a delivery has a run per stage; a place has at most a few waiting).
	runs := func(sq SequenceRunQuery) func(context.Context, queries) error {
		return func(ctx context.Context, q queries) error { _, err := q.ListSequenceRuns(ctx, sq); return err }
	}
	for _, c := range []planCase{
		{name: "supersede: runs of a place waiting for approval", method: "ListSequenceRuns", run: runs(SequenceRunQuery{Project: "fulltour", Stage: "qa", Service: "helloservice", States: []SequenceState{StateWaitingForApproval}})},
		{name: "runs of a delivery", method: "ListSequenceRuns", run: runs(SequenceRunQuery{DeliveryID: f.d.ID})},
		{name: "runs of a delivery in a stage", method: "ListSequenceRuns", run: runs(SequenceRunQuery{DeliveryID: f.d.ID, Stage: "qa"})},
	} {
		c.notJudged = true
		cases = append(cases, c)
	}
	return cases
}

// wantJudged is how many statements the judged cases send: the test must have checked them all, so
// that a case that stops sending its statement, or a loop that stops adding cases, cannot pass unseen.
// The API's list is 32 cases; a token's two projects are two statements each, and so are a read of
// evaluations (their SLI values), of a stage's facts (the runs, then their tasks) and the next queued run
// (is the queue held, then its oldest run).
const wantJudged = 101

func TestReadQueryPlans(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	f := seedPlanFixture(t, s)

	covered := map[string]bool{}
	judged := 0
	for _, c := range planCases(f) {
		covered[c.method] = true
		rec := &recorder{db: s.reader}
		if err := c.run(ctx, queries{q: rec}); err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %s: %v", c.name, c.method, err)
			continue
		}
		if len(rec.stmts) == 0 {
			t.Errorf("%s: %s sent no statement", c.name, c.method)
		}
		for _, st := range rec.stmts {
			plan, err := explain(ctx, s.reader, st)
			if err != nil {
				t.Errorf("%s: explain %q: %v", c.name, st.sql, err)
				continue
			}
			var lines []string
			for _, r := range plan {
				lines = append(lines, r.detail)
			}
			t.Logf("%s (%s):\n\t%s", c.name, c.method, strings.Join(lines, "\n\t"))
			if c.notJudged {
				continue
			}
			judged++
			if problems := planProblems(st, plan, c.sortsBounded != ""); len(problems) > 0 {
				t.Errorf("%s: %s: the plan grows with history:\n\t%s\nstatement: %s", c.name, c.method, strings.Join(problems, "\n\t"), oneLine(st.sql))
			}
			if c.sortsBounded == "" {
				continue
			}
			if !slices.ContainsFunc(plan, func(r planRow) bool { return strings.HasPrefix(r.detail, "USE TEMP B-TREE") }) {
				t.Errorf("%s: allowed to sort (%s), but the plan no longer sorts: drop sortsBounded", c.name, c.sortsBounded)
			}
			if got := growingReads(st, plan); !slices.Equal(got, c.reads) {
				t.Errorf("%s: allowed to sort because of how it reads, but it reads\n\t%s\nwant\n\t%s", c.name,
					strings.Join(got, "\n\t"), strings.Join(c.reads, "\n\t"))
			}
		}
	}
	if judged != wantJudged {
		t.Errorf("judged %d statements, want %d", judged, wantJudged)
	}
	// Every read function is explained: a new one needs a case here.
	typ := reflect.TypeFor[queries]()
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !covered[name] {
			t.Errorf("read function %s has no case in planCases", name)
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// The check catches what this change fixed: without 0003's indexes, the newest deliveries are found by
// reading and sorting the whole table.
func TestReadQueryPlansCatchUnindexedList(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	seedDelivery(t, s)
	list := func() (statement, []planRow) {
		t.Helper()
		rec := &recorder{db: s.reader}
		if _, err := (queries{q: rec}).ListDeliveries(ctx, DeliveryQuery{Limit: apiListLimit}); err != nil {
			t.Fatal(err)
		}
		if len(rec.stmts) != 1 {
			t.Fatalf("ListDeliveries sent %d statements, want 1", len(rec.stmts))
		}
		plan, err := explain(ctx, s.reader, rec.stmts[0])
		if err != nil {
			t.Fatal(err)
		}
		return rec.stmts[0], plan
	}
	if st, plan := list(); len(planProblems(st, plan, false)) != 0 {
		t.Fatalf("indexed list judged a problem: %v", planProblems(st, plan, false))
	}
	if _, err := s.writer.ExecContext(ctx, `DROP INDEX deliveries_by_time`); err != nil {
		t.Fatal(err)
	}
	st, plan := list()
	problems := planProblems(st, plan, false)
	if len(problems) != 2 || !strings.Contains(problems[0], "SCAN deliveries") || !strings.Contains(problems[1], "TEMP B-TREE FOR ORDER BY") {
		t.Errorf("unindexed list: problems %q, want the full scan and the sort", problems)
	}
}

func TestPlanProblems(t *testing.T) {
	limit20 := statement{sql: "SELECT id FROM deliveries ORDER BY created_at DESC, id DESC LIMIT ?", args: []any{20}}
	noLimit := statement{sql: "SELECT id FROM deliveries ORDER BY created_at DESC, id DESC LIMIT ?", args: []any{-1}}
	aliased := statement{sql: "SELECT a.id FROM approvals a JOIN deliveries d ON d.id = a.delivery_id WHERE a.id = ?", args: []any{1}}
	votes := statement{sql: "SELECT voter FROM approval_votes WHERE approval_id = ? ORDER BY created_at, rowid", args: []any{1}}
	row := func(parent int, detail string) planRow { return planRow{parent: parent, detail: detail} }
	tests := []struct {
		name         string
		st           statement
		plan         []planRow
		sortsBounded bool
		want         int
	}{
		{"index search", limit20, []planRow{row(0, "SEARCH deliveries USING INDEX deliveries_by_project (project=?)")}, false, 0},
		{"ordered index scan stopped by LIMIT", limit20, []planRow{row(0, "SCAN deliveries USING INDEX deliveries_by_time")}, false, 0},
		{"ordered index scan without LIMIT", noLimit, []planRow{row(0, "SCAN deliveries USING INDEX deliveries_by_time")}, false, 1},
		{"table scan with LIMIT", limit20, []planRow{row(0, "SCAN deliveries")}, false, 1},
		{"index scan then sort", limit20, []planRow{row(0, "SCAN deliveries USING INDEX deliveries_by_service"), row(0, "USE TEMP B-TREE FOR ORDER BY")}, false, 2},
		{"sort of a search", limit20, []planRow{row(0, "SEARCH deliveries USING INDEX deliveries_by_service (project=?)"), row(0, "USE TEMP B-TREE FOR ORDER BY")}, false, 1},
		{"partial sort", limit20, []planRow{row(0, "SEARCH deliveries USING INDEX x (project=?)"), row(0, "USE TEMP B-TREE FOR LAST TERM OF ORDER BY")}, false, 1},
		{"bounded sort", limit20, []planRow{row(0, "SEARCH deliveries USING INDEX deliveries_by_state (state=?)"), row(0, "USE TEMP B-TREE FOR ORDER BY")}, true, 0},
		{"bounded sort does not allow a scan", limit20, []planRow{row(0, "SCAN deliveries"), row(0, "USE TEMP B-TREE FOR ORDER BY")}, true, 1},
		{"scan of an alias", aliased, []planRow{row(0, "SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"), row(0, "SCAN d")}, false, 1},
		{"scan in a subquery is not stopped by the LIMIT", limit20, []planRow{row(0, "SEARCH deliveries USING INDEX x (project=?)"), row(1, "SCAN deliveries USING INDEX deliveries_by_time")}, false, 1},
		{"virtual table", limit20, []planRow{row(0, "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)"), row(1, "SCAN json_each VIRTUAL TABLE INDEX 1:")}, false, 0},
		{"sort of a table that does not grow with history", votes, []planRow{row(0, "SEARCH approval_votes USING INDEX sqlite_autoindex_approval_votes_1 (approval_id=?)"), row(0, "USE TEMP B-TREE FOR ORDER BY")}, false, 0},
	}
	for _, tt := range tests {
		if got := planProblems(tt.st, tt.plan, tt.sortsBounded); len(got) != tt.want {
			t.Errorf("%s: problems %q, want %d", tt.name, got, tt.want)
		}
	}
}
