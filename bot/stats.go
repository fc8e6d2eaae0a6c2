package bot

import (
	"context"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine/dora"
)

// statsWindow is how far back /deliver stats measures.
const statsWindow = 30 * 24 * time.Hour

// stats answers /deliver stats SERVICE with the service's four DORA figures over the last 30 days in
// the production stage (the shipyard's last, or --stage).
func (b *Bot) stats(ctx context.Context, ch *config.ChannelBinding, cmd Command) (string, Reply, error) {
	p, err := b.projectFor(ch, cmd.Project, cmd.Service)
	if err != nil {
		return "", Reply{}, err
	}
	target := "service:" + p.Name + "/" + cmd.Service
	if err := b.eng.CheckScope(p.Name, cmd.Service, cmd.Stage); err != nil {
		return target, Reply{}, engineRefusal(err, CmdStats)
	}
	stage := cmd.Stage
	if stage == "" {
		stage = dora.ProductionStage(p)
	}
	f, err := dora.Measure(ctx, b.st, dora.Query{Project: p.Name, Service: cmd.Service, Stage: stage, Window: dora.Last(statsWindow, b.now())})
	if err != nil {
		return target, Reply{}, err
	}
	return target, Reply{Message: Message{Header: "DORA figures of " + cmd.Service, Text: f.Summary()}}, nil
}
