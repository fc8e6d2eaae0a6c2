package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/engine/slo"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// RoleAuditor may read the audit trail in chat (/deliver audit).
const RoleAuditor = "auditor"

const (
	// defaultAuditSince is how far back /deliver audit looks without --since.
	defaultAuditSince = 7 * 24 * time.Hour
	// maxAuditLines bounds the entries one answer shows; `shipgate audit export` has them all.
	maxAuditLines = 25
	// auditScan bounds the entries read to find those of the channel's projects.
	auditScan = 5000
)

// audit lists the newest audit entries about the channel's projects (or made in the channel), newest
// first: when, who, from where, what, and whether it was allowed and why.
func (b *Bot) audit(ctx context.Context, ch *config.ChannelBinding, cmd Command) (string, Reply, error) {
	since := cmd.Since
	if since == 0 {
		since = defaultAuditSince
	}
	from := b.now().Add(-since)
	entries, err := b.st.ListAudit(ctx, store.AuditQuery{Since: from, Limit: auditScan})
	if err != nil {
		return "", Reply{}, err
	}
	scope := auditScope{b: b, ch: ch, projects: map[string]string{}}
	var lines []string
	matched := 0
	for _, e := range entries {
		ok, err := scope.covers(ctx, e)
		if err != nil {
			return "", Reply{}, err
		}
		if !ok {
			continue
		}
		matched++
		if len(lines) < maxAuditLines {
			lines = append(lines, auditLine(e, ch))
		}
	}
	header := fmt.Sprintf("Audit trail since %s", clock(from))
	if matched == 0 {
		return "", Reply{Message: Message{Header: header, Text: "Nothing was recorded for " + strings.Join(ch.Projects, ", ") + " in that time."}}, nil
	}
	text := strings.Join(lines, "\n")
	if matched > len(lines) {
		text += fmt.Sprintf("\n…and %d older entries; `shipgate audit export --since %s` writes them all as JSON lines.", matched-len(lines), sinceWord(since))
	}
	if len(entries) == auditScan {
		text += fmt.Sprintf("\n(only the newest %d entries of all projects were searched; use a shorter --since or the export)", auditScan)
	}
	return "", Reply{Message: Message{Header: header, Text: text}}, nil
}

// auditLine is one entry as chat shows it.
func auditLine(e *store.AuditEntry, ch *config.ChannelBinding) string {
	verdict := "✅"
	if !e.Allowed {
		verdict = "⛔"
	}
	line := fmt.Sprintf("%s %s · %s · %s", verdict, e.At.UTC().Format("01-02 15:04"), who(e.Actor, e.Platform, ch), e.Action)
	if e.Target != "" {
		line += " " + e.Target
	}
	if e.Reason != "" {
		line += ": " + truncate.Bytes(e.Reason, 200)
	}
	return line
}

// sinceWord writes a --since back so that ParseSince reads the same duration: whole days as 7d, anything
// else as Go writes a duration.
func sinceWord(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// auditScope decides which entries belong to a channel: those made in it, and those whose target is a
// delivery, approval or service of one of its projects.
type auditScope struct {
	b        *Bot
	ch       *config.ChannelBinding
	projects map[string]string // target -> its project, looked up once
}

func (s auditScope) covers(ctx context.Context, e *store.AuditEntry) (bool, error) {
	if e.Platform == s.ch.Platform && e.Channel == s.ch.Channel {
		return true, nil
	}
	project, err := s.projectOf(ctx, e.Target)
	if err != nil {
		return false, err
	}
	return project != "" && slices.Contains(s.ch.Projects, project), nil
}

// projectOf is the project a target names: delivery:N, approval:N, service:PROJECT/SERVICE; "" for others.
func (s auditScope) projectOf(ctx context.Context, target string) (string, error) {
	if p, ok := s.projects[target]; ok {
		return p, nil
	}
	kind, rest, _ := strings.Cut(target, ":")
	var project string
	switch kind {
	case "service":
		project, _, _ = strings.Cut(rest, "/")
	case "delivery", "approval":
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			break
		}
		if kind == "approval" {
			a, err := s.b.st.GetApproval(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				break
			} else if err != nil {
				return "", err
			}
			id = a.DeliveryID
		}
		d, err := s.b.st.GetDelivery(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			break
		} else if err != nil {
			return "", err
		}
		project = d.Project
	}
	s.projects[target] = project
	return project, nil
}

// historyDetails is what /deliver history adds to a delivery's summary: its latest evaluation score, who
// approved it, and where its thread is in this channel. linkCtx bounds asking the platform for the link;
// once it has ended the link is left out.
func (b *Bot) historyDetails(ctx, linkCtx context.Context, d *store.Delivery, ch *config.ChannelBinding) (string, error) {
	var parts []string
	evs, err := b.st.ListEvaluations(ctx, d.ID)
	if err != nil {
		return "", err
	}
	if len(evs) > 0 {
		e := evs[len(evs)-1]
		parts = append(parts, fmt.Sprintf("score %s (%s)", slo.FormatScore(e.Score), e.Stage))
	}
	approvals, err := b.st.ListApprovals(ctx, store.ApprovalQuery{DeliveryID: d.ID})
	if err != nil {
		return "", err
	}
	var approvers []string
	for _, a := range approvals {
		votes, err := b.st.ListVotes(ctx, a.ID)
		if err != nil {
			return "", err
		}
		if names := voterList(votes, store.DecisionApprove, ch); names != "" {
			approvers = append(approvers, names)
		}
	}
	if len(approvers) > 0 {
		parts = append(parts, "approved by "+strings.Join(approvers, ", "))
	}
	msgs, err := b.st.ListChatMessages(ctx, d.ID)
	if err != nil {
		return "", err
	}
	for _, m := range msgs {
		if m.Kind == store.MessageRoot && m.Platform == ch.Platform && m.Channel == ch.Channel {
			if link := b.threadLink(linkCtx, ch, m); link != "" {
				parts = append(parts, link)
			}
		}
	}
	if len(parts) == 0 {
		return "", nil
	}
	return " · " + strings.Join(parts, " · "), nil
}

// threadLink is history's "thread: LINK" for a delivery's root card in a channel, or "".
func (b *Bot) threadLink(ctx context.Context, ch *config.ChannelBinding, root *store.ChatMessage) string {
	if ctx.Err() != nil {
		return ""
	}
	if link := b.MessageLink(ctx, engine.Platform(ch.Platform), root.Channel, root.MessageID); link != "" {
		return "thread: " + link
	}
	return ""
}

// MessageLink links to a posted message when its platform can say where it is (a Permalinker), else
// "". A failure to ask only leaves the link out; it is logged.
func (b *Bot) MessageLink(ctx context.Context, platform engine.Platform, channel, messageID string) string {
	pl, ok := b.posters[platform].(Permalinker)
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, permalinkTimeout)
	defer cancel()
	link, err := pl.Permalink(ctx, channel, messageID)
	if err != nil {
		b.log.Warn("permalink", "platform", platform, "channel", channel, "message", messageID, "err", err)
		return ""
	}
	return link
}

// permalinkTimeout bounds one link request, and historyLinksTimeout all of one /deliver history answer's
// (up to maxListed), so that a slow platform cannot hold the answer past the 3 seconds it has.
const (
	permalinkTimeout    = 500 * time.Millisecond
	historyLinksTimeout = 1500 * time.Millisecond
)
