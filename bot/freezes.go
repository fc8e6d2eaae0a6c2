package bot

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/truncate"
)

// freezes answers /deliver freezes: each freeze window that covers a project of the channel, whether it
// is in force now (until when) and when it next begins.
func (b *Bot) freezes(ch *config.ChannelBinding) (string, Reply, error) {
	return "channel:" + ch.Channel, Reply{Message: renderFreezes(b.eng.Freezes(), ch.Projects, b.now())}, nil
}

// renderFreezeNote is the thread reply when a freeze window holds a sequence, ends, or is overridden.
func renderFreezeNote(ev engine.Event) Message {
	if ev.Type == engine.EventSequenceFrozen && ev.Freeze != nil {
		text := fmt.Sprintf("%s · %s frozen by %s until %s", ev.Stage, StageFrozen.Emoji(), ev.Freeze.Name, clock(ev.Freeze.Until))
		if ev.Freeze.Message != "" {
			text += ": " + truncate.Bytes(ev.Freeze.Message, maxResultText)
		}
		return renderNote(text)
	}
	return renderNote(fmt.Sprintf("%s · ▶️ %s", ev.Stage, truncate.Bytes(ev.Message, maxResultText)))
}

// renderFreezes lists the windows of fs that cover any of projects, at now.
func renderFreezes(fs config.Freezes, projects []string, now time.Time) Message {
	var lines []string
	for i := range fs {
		f := &fs[i]
		if len(f.Projects) > 0 && !slices.ContainsFunc(projects, func(p string) bool { return slices.Contains(f.Projects, p) }) {
			continue
		}
		scope := "all projects"
		if len(f.Projects) > 0 {
			scope = strings.Join(f.Projects, ", ")
		}
		stages := "all stages"
		if len(f.Stages) > 0 {
			stages = strings.Join(f.Stages, ", ")
		}
		line := fmt.Sprintf("%s `%s` (%s: %s)", StageFrozen.Emoji(), f.Name, scope, stages)
		if w, ok := f.ActiveAt(now); ok {
			line += " — in force until " + clock(w.End)
			if next, ok := f.NextAfter(w.End); ok {
				line += "; next " + clock(next.Start) + " – " + clock(next.End)
			}
		} else {
			line = "· " + strings.TrimPrefix(line, StageFrozen.Emoji()+" ")
			if next, ok := f.NextAfter(now); ok {
				line += " — next " + clock(next.Start) + " – " + clock(next.End)
			} else {
				line += " — over"
			}
		}
		if f.Message != "" {
			line += ": " + f.Message
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return Message{Text: "No freeze window applies to the projects of this channel."}
	}
	return Message{Header: "Freeze windows", Text: strings.Join(lines, "\n")}
}
