package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Approval task properties that shipgate adds to Keptn's pass and warning (Keptn ignores unknown
// properties, so a shipyard that uses them stays valid for Keptn).
const (
	propTimeout       = "timeout"
	propRemindEvery   = "remind_every"
	propEscalateAfter = "escalate_after"
	propEscalateTo    = "escalate_to"
)

// validateApproval checks an approval task's timeout ladder: its durations parse and are positive, the
// escalation comes before the timeout (else the timeout decides first and nobody is ever asked),
// escalate_after and escalate_to come together, and escalate_to names roles. Whether the roles are bound
// in a channel of the project is CheckApprovalRoles', which knows the bindings.
func validateApproval(d diagnoser, where string, task *Task) {
	durations := map[string]time.Duration{}
	for _, key := range []string{propTimeout, propRemindEvery, propEscalateAfter} {
		v, ok := task.Properties[key]
		if !ok {
			continue
		}
		line := task.LineOf("properties." + key)
		s, isString := v.(string)
		dur, err := time.ParseDuration(s)
		switch {
		case !isString || err != nil:
			d.errorf(line, "%s: approval %s %v is not a duration; use a Go duration such as 4h or 30m", where, key, v)
		case dur <= 0:
			d.errorf(line, "%s: approval %s %q must be positive", where, key, s)
		default:
			durations[key] = dur
		}
	}
	_, hasAfter := task.Properties[propEscalateAfter]
	to, hasTo := task.Properties[propEscalateTo]
	switch {
	case hasAfter && !hasTo:
		d.errorf(task.LineOf("properties."+propEscalateAfter), "%s: approval escalate_after needs escalate_to, the roles to add as approvers", where)
	case hasTo && !hasAfter:
		d.errorf(task.LineOf("properties."+propEscalateTo), "%s: approval escalate_to needs escalate_after, how long to wait before adding them", where)
	}
	if hasTo {
		if _, ok := approvalRoles(to); !ok {
			d.errorf(task.LineOf("properties."+propEscalateTo), "%s: approval escalate_to must be a role or a list of roles, such as [engineering-leads]", where)
		}
	}
	timeout, after := durations[propTimeout], durations[propEscalateAfter]
	if timeout > 0 && after > 0 && after >= timeout {
		d.errorf(task.LineOf("properties."+propEscalateAfter), "%s: approval escalate_after %s is not before its timeout %s; the timeout would decide first and the escalation never happen",
			where, after, timeout)
	}
	if every := durations[propRemindEvery]; timeout > 0 && every >= timeout {
		d.warnf(task.LineOf("properties."+propRemindEvery), "%s: approval remind_every %s is not shorter than its timeout %s, so no reminder is ever sent", where, every, timeout)
	}
}

// approvalRoles reads a role list property: one role or a list of them, none empty.
func approvalRoles(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, v != ""
	case []any:
		out := make([]string, 0, len(v))
		for _, r := range v {
			s, ok := r.(string)
			if !ok || s == "" {
				return nil, false
			}
			out = append(out, s)
		}
		return out, len(out) > 0
	}
	return nil, false
}

// CheckApprovalRoles reports each role an approval task escalates to that no channel serving the
// project binds: an escalation to it would add approvers nobody holds, and ping nobody.
func (c *Config) CheckApprovalRoles(projects []*Project) Diagnostics {
	var diags Diagnostics
	for _, p := range projects {
		if p.Shipyard == nil {
			continue
		}
		bound := map[string]bool{}
		for _, ch := range c.Channels {
			if !slices.Contains(ch.Projects, p.Name) {
				continue
			}
			for role, members := range ch.Roles {
				if len(members) > 0 {
					bound[role] = true
				}
			}
		}
		d := diagnoser{file: p.Shipyard.File, diags: &diags}
		for _, st := range p.Shipyard.Spec.Stages {
			for _, seq := range st.Sequences {
				for _, task := range seq.Tasks {
					if task.Name != "approval" {
						continue
					}
					roles, _ := approvalRoles(task.Properties[propEscalateTo])
					var missing []string
					for _, r := range roles {
						if !bound[r] {
							missing = append(missing, r)
						}
					}
					if len(missing) > 0 {
						d.errorf(task.LineOf("properties."+propEscalateTo), "stage %q, sequence %q: approval escalate_to %s: %s",
							st.Name, seq.Name, strings.Join(missing, ", "), notBound(c, p.Name, len(missing)))
					}
				}
			}
		}
	}
	return diags
}

// notBound says where a role is missing: in the roles of the channels that serve the project, or that
// no channel serves it.
func notBound(c *Config, project string, n int) string {
	what := "no channel binding of project %s gives this role to anyone; add it under roles in %s"
	if n > 1 {
		what = "no channel binding of project %s gives these roles to anyone; add them under roles in %s"
	}
	return fmt.Sprintf(what, project, c.File)
}
