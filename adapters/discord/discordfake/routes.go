package discordfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/shipgate/shipgate/truncate"
)

// auth is what a route wants as credentials.
type auth int

const (
	authBot         auth = iota // Authorization: Bot <token>
	authWebhook                 // an issued, unexpired interaction token in the path
	authInteraction             // the same, and issued for the interaction id in the path
)

// route is a request matched to one of the fake's routes.
type route struct {
	name string
	auth auth
	// The path's ids.
	channelID, messageID, appID, guildID, interactionID, token string
}

// matchRoute maps method and path to a route. known is false for a path the fake does not
// serve; allowed is false for a served path with another method.
func matchRoute(method, path string) (rt route, known, allowed bool) {
	rest, ok := strings.CutPrefix(path, APIPrefix)
	if !ok {
		return route{name: RouteUnknown}, false, false
	}
	seg := strings.Split(rest, "/")
	if slices.Contains(seg, "") {
		return route{name: RouteUnknown}, false, false
	}
	var byMethod map[string]string
	switch n := len(seg); {
	case seg[0] == "channels" && n == 2:
		rt.channelID = seg[1]
		byMethod = map[string]string{http.MethodGet: RouteChannelGet}
	case seg[0] == "channels" && n >= 3 && seg[2] == "messages":
		rt.channelID = seg[1]
		switch {
		case n == 3:
			byMethod = map[string]string{http.MethodPost: RouteMessageCreate}
		case n == 4:
			rt.messageID = seg[3]
			byMethod = map[string]string{http.MethodPatch: RouteMessageEdit, http.MethodGet: RouteMessageGet, http.MethodDelete: RouteMessageDelete}
		case n == 5 && seg[4] == "threads":
			rt.messageID = seg[3]
			byMethod = map[string]string{http.MethodPost: RouteThreadCreate}
		}
	case seg[0] == "applications" && n == 3 && seg[2] == "commands":
		rt.appID = seg[1]
		byMethod = map[string]string{http.MethodPut: RouteCommandsOverwrite, http.MethodGet: RouteCommandsList}
	case seg[0] == "applications" && n == 5 && seg[2] == "guilds" && seg[4] == "commands":
		rt.appID, rt.guildID = seg[1], seg[3]
		byMethod = map[string]string{http.MethodPut: RouteCommandsOverwrite, http.MethodGet: RouteCommandsList}
	case seg[0] == "guilds" && n == 3 && seg[2] == "roles":
		rt.guildID = seg[1]
		byMethod = map[string]string{http.MethodGet: RouteGuildRoles}
	case seg[0] == "interactions" && n == 4 && seg[3] == "callback":
		rt.auth, rt.interactionID, rt.token = authInteraction, seg[1], seg[2]
		byMethod = map[string]string{http.MethodPost: RouteInteractionCallback}
	case seg[0] == "webhooks" && n == 3:
		rt.auth, rt.appID, rt.token = authWebhook, seg[1], seg[2]
		byMethod = map[string]string{http.MethodPost: RouteWebhookFollowup}
	case seg[0] == "webhooks" && n == 5 && seg[3] == "messages":
		rt.auth, rt.appID, rt.token, rt.messageID = authWebhook, seg[1], seg[2], seg[4]
		if seg[4] == "@original" {
			rt.messageID = ""
			byMethod = map[string]string{http.MethodPatch: RouteWebhookEditOriginal, http.MethodGet: RouteWebhookGetOriginal}
		} else {
			byMethod = map[string]string{http.MethodPatch: RouteWebhookEdit, http.MethodGet: RouteWebhookGet}
		}
	}
	if byMethod == nil {
		return route{name: RouteUnknown}, false, false
	}
	name, ok := byMethod[method]
	if !ok {
		rt.name = RouteUnknown
		return rt, true, false
	}
	rt.name = name
	return rt, true, true
}

// payload is a decoded JSON object, with its fields also kept as sent so that stored embeds
// and components are byte for byte what the client sent.
type payload struct {
	m   map[string]any
	raw map[string]json.RawMessage
	// uploads are the file parts of a multipart body, by form field name (files[n]).
	uploads map[string]Attachment
}

func (p payload) has(k string) bool {
	_, ok := p.m[k]
	return ok
}

// field returns the field k as sent, nil when it is absent or null.
func (p payload) field(k string) json.RawMessage {
	r := p.raw[k]
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	return bytes.Clone(r)
}

// sub returns the object field k as a payload.
func (p payload) sub(k string) payload {
	var q payload
	if r := p.field(k); r != nil {
		_ = json.Unmarshal(r, &q.m)
		_ = json.Unmarshal(r, &q.raw)
	}
	if q.m == nil {
		q.m = map[string]any{}
	}
	return q
}

// errInvalidJSON is Discord's complaint about a body it cannot parse.
var errInvalidJSON = errors.New("invalid JSON")

// decodeBody decodes a JSON body, or the payload_json part of a multipart one (which discordgo
// sends when there are files), into an object or an array.
func decodeBody(r *http.Request, raw []byte) (p payload, list []any, files []string, err error) {
	p.m = map[string]any{}
	body := raw
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		body = nil
		mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
		for {
			part, perr := mr.NextPart()
			if perr == io.EOF {
				break
			}
			if perr != nil {
				return p, nil, files, errInvalidJSON
			}
			data, _ := io.ReadAll(part)
			if part.FormName() == "payload_json" {
				body = data
			} else {
				files = append(files, part.FileName())
				if p.uploads == nil {
					p.uploads = map[string]Attachment{}
				}
				p.uploads[part.FormName()] = Attachment{Filename: part.FileName(), ContentType: part.Header.Get("Content-Type"), Content: data}
			}
		}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return p, nil, files, nil
	}
	if trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &list) != nil {
			return p, nil, files, errInvalidJSON
		}
		if list == nil {
			list = []any{}
		}
		return p, list, files, nil
	}
	if json.Unmarshal(trimmed, &p.m) != nil || json.Unmarshal(trimmed, &p.raw) != nil {
		p.m = map[string]any{}
		return p, nil, files, errInvalidJSON
	}
	return p, nil, files, nil
}

// reply is the fake's answer to one call.
type reply struct {
	status int
	body   any // nil: no body (204)
	header http.Header
	// What Call records of an error.
	code        int
	msg, detail string
}

func okReply(body any) reply { return reply{status: http.StatusOK, body: body} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// apiError is Discord's error body {"message":…,"code":…}.
func apiError(status, code int, msg string) reply {
	return reply{status: status, body: map[string]any{"message": msg, "code": code}, code: code, msg: msg}
}

func formError(fe formErrors) reply {
	return reply{
		status: http.StatusBadRequest,
		body:   map[string]any{"code": 50035, "message": "Invalid Form Body", "errors": fe.tree()},
		code:   50035, msg: "Invalid Form Body", detail: fe.detail(),
	}
}

func (r reply) write(w http.ResponseWriter) {
	for k, vs := range r.header {
		w.Header()[k] = vs
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_ = json.NewEncoder(w).Encode(r.body)
}

// The errors Discord answers most.
var (
	errUnauthorized       = func() reply { return apiError(http.StatusUnauthorized, 0, "401: Unauthorized") }
	errNotFound           = func() reply { return apiError(http.StatusNotFound, 0, "404: Not Found") }
	errMethodNotAllowed   = func() reply { return apiError(http.StatusMethodNotAllowed, 0, "405: Method Not Allowed") }
	errUnknownWebhook     = func() reply { return apiError(http.StatusNotFound, 10015, "Unknown Webhook") }
	errUnknownInteraction = func() reply { return apiError(http.StatusNotFound, 10062, "Unknown interaction") }
	errUnknownMessage     = func() reply { return apiError(http.StatusNotFound, 10008, "Unknown Message") }
	errEmptyMessage       = func() reply { return apiError(http.StatusBadRequest, 50006, "Cannot send an empty message") }
	errBadJSON            = func() reply {
		return apiError(http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
	}
	errAcknowledged = func() reply {
		return apiError(http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
	}
	errThreadExists = func() reply {
		return apiError(http.StatusBadRequest, 160004, "A thread has already been created for this message")
	}
)

// failureReply turns f into the answer Discord gives in that situation.
func failureReply(routeName string, f Failure) reply {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
		if f.Code != 0 {
			status = http.StatusBadRequest
		}
	}
	if status != http.StatusTooManyRequests {
		msg := f.Message
		if msg == "" {
			msg = fmt.Sprintf("%d: %s", status, http.StatusText(status))
		}
		return apiError(status, f.Code, msg)
	}
	msg := f.Message
	if msg == "" {
		msg = "You are being rate limited."
	}
	body := map[string]any{"message": msg, "retry_after": f.RetryAfter, "global": f.Global}
	if f.Code != 0 {
		body["code"] = f.Code
	}
	sum := sha256.Sum256([]byte(routeName))
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter))))
	h.Set("X-RateLimit-Bucket", hex.EncodeToString(sum[:16]))
	if f.Global {
		h.Set("X-RateLimit-Global", "true")
		h.Set("X-RateLimit-Scope", "global")
	} else {
		h.Set("X-RateLimit-Scope", "user")
	}
	return reply{status: status, body: body, header: h, code: f.Code, msg: msg}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	raw, rerr := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rt, known, allowed := matchRoute(r.Method, r.URL.Path)
	p, list, files, perr := decodeBody(r, raw)
	if rerr != nil {
		perr = errInvalidJSON
	}
	c := Call{
		Route: rt.name, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		ChannelID: rt.channelID, MessageID: rt.messageID, ApplicationID: rt.appID, GuildID: rt.guildID,
		InteractionID: rt.interactionID, InteractionToken: rt.token,
		Body: p.m, Array: list, Raw: raw, Files: files, Content: str(p.m, "content"),
	}
	if rt.name == RouteInteractionCallback {
		c.Content = str(obj(p.m["data"]), "content")
	}
	if len(c.Body) == 0 {
		c.Body = nil
	}

	s.mu.Lock()
	c.Time = s.now()
	var rep reply
	switch {
	case !known:
		rep = errNotFound()
	case !allowed:
		rep = errMethodNotAllowed()
	default:
		rep = s.answer(r, rt, p, list, perr, &c)
	}
	c.Status, c.Code, c.Error, c.Detail = rep.status, rep.code, rep.msg, rep.detail
	s.record(c)
	s.mu.Unlock()
	rep.write(w)
}

// answer decides the reply to a call of a served route. The caller holds s.mu.
func (s *Server) answer(r *http.Request, rt route, p payload, list []any, perr error, c *Call) reply {
	var in *interaction
	switch rt.auth {
	case authBot:
		if r.Header.Get("Authorization") != "Bot "+s.token {
			return errUnauthorized()
		}
	case authWebhook, authInteraction:
		in = s.byToken[rt.token]
		if in != nil {
			c.InteractionID = in.id
		}
		valid := in != nil && c.Time.Sub(in.issued) <= TokenLifetime
		if rt.auth == authInteraction && (!valid || in.id != rt.interactionID) {
			return errUnknownInteraction()
		}
		if !valid {
			return errUnknownWebhook()
		}
	}
	if f, ok := s.takeFailure(rt.name); ok {
		return failureReply(rt.name, f)
	}
	if perr != nil {
		return errBadJSON()
	}
	switch rt.name {
	case RouteMessageCreate:
		return s.createMessage(rt, p, c)
	case RouteMessageEdit:
		ch, rep, ok := s.permitted(rt.channelID, 0)
		if !ok {
			return rep
		}
		if rep, ok := s.checkBody(p, messageEditFields); !ok {
			return rep
		}
		if len(arr(p.m, "embeds")) > 0 && s.permissions(ch)&PermEmbedLinks == 0 {
			return errMissingPermissions()
		}
		return s.editMessage(s.messages[msgKey{rt.channelID, rt.messageID}], p, c.Time, false)
	case RouteMessageDelete:
		return s.deleteMessage(rt)
	case RouteChannelGet:
		return s.getChannel(rt)
	case RouteMessageGet:
		// https://discord.com/developers/docs/resources/message#get-channel-message: needs Read Message History.
		if _, rep, ok := s.permitted(rt.channelID, PermReadMessageHistory); !ok {
			return rep
		}
		m := s.messages[msgKey{rt.channelID, rt.messageID}]
		if m == nil || m.flags&flagEphemeral != 0 {
			return errUnknownMessage()
		}
		return okReply(s.messageJSON(m))
	case RouteThreadCreate:
		return s.createThread(rt, p, c)
	case RouteCommandsOverwrite:
		return s.overwriteCommands(rt, list, p, c.Time)
	case RouteCommandsList:
		if raw := s.commands[rt.guildID]; raw != nil {
			return okReply(json.RawMessage(raw))
		}
		return okReply([]any{})
	case RouteGuildRoles:
		roles := []*discordgo.Role{}
		for _, r := range s.roles[rt.guildID] {
			roles = append(roles, &discordgo.Role{ID: r.ID, Name: r.Name})
		}
		return okReply(roles)
	case RouteInteractionCallback:
		return s.callback(in, p, c)
	case RouteWebhookFollowup:
		return s.followup(in, p, c)
	case RouteWebhookEditOriginal, RouteWebhookGetOriginal:
		if in.original == nil {
			return errUnknownMessage()
		}
		m := s.messages[*in.original]
		if m != nil {
			c.ChannelID, c.MessageID = m.channelID, m.id
		}
		if rt.name == RouteWebhookGetOriginal {
			if m == nil {
				return errUnknownMessage()
			}
			return okReply(s.messageJSON(m))
		}
		if rep, ok := s.checkBody(p, webhookEditFields); !ok {
			return rep
		}
		return s.editMessage(m, p, c.Time, true)
	case RouteWebhookEdit, RouteWebhookGet:
		m := s.interactionMessage(in, rt.messageID)
		if m == nil {
			return errUnknownMessage()
		}
		c.ChannelID = m.channelID
		if rt.name == RouteWebhookGet {
			return okReply(s.messageJSON(m))
		}
		if rep, ok := s.checkBody(p, webhookEditFields); !ok {
			return rep
		}
		return s.editMessage(m, p, c.Time, true)
	}
	return errNotFound()
}

// interactionMessage returns the message id if interaction in made it (@original or a
// follow-up), nil otherwise: a webhook token reaches only its own messages.
func (s *Server) interactionMessage(in *interaction, id string) *message {
	if in.original != nil && in.original.id == id {
		return s.messages[*in.original]
	}
	for _, k := range in.followups {
		if k.id == id {
			return s.messages[k]
		}
	}
	return nil
}

// newMessage stores a message built from p in channelID. flagMask is the message flags the
// route lets a client set. The caller holds s.mu.
func (s *Server) newMessage(channelID string, p payload, at time.Time, flagMask int64) *message {
	flags, _ := num(p.m, "flags")
	m := &message{
		id: s.nextID(at), channelID: channelID, content: str(p.m, "content"),
		embeds: p.field("embeds"), components: p.field("components"),
		flags: int64(flags) & flagMask, created: at,
	}
	s.messages[msgKey{channelID, m.id}] = m
	s.channels[channelID] = append(s.channels[channelID], m)
	return m
}

const (
	flagSuppressEmbeds        = 1 << 2
	flagSuppressNotifications = 1 << 12
	// botFlags are the flags a bot may set when posting; webhookFlags those of interaction
	// responses and follow-ups, which may also be ephemeral.
	botFlags     = flagSuppressEmbeds | flagSuppressNotifications | flagComponentsV2
	webhookFlags = botFlags | flagEphemeral
)

// checkBody refuses a body with fields its route does not document or of the wrong type, and checks
// its allowed_mentions.
func (s *Server) checkBody(p payload, fields map[string]field) (reply, bool) {
	var fe formErrors
	checkDocumented(&fe, "", p.m, fields)
	if len(fe) > 0 {
		return formError(fe), false
	}
	return reply{}, true
}

// createMessage posts a message. The channel is checked before the body, as Discord resolves the
// route's channel first.
func (s *Server) createMessage(rt route, p payload, c *Call) reply {
	ch, rep, ok := s.permitted(rt.channelID, 0)
	if !ok {
		return rep
	}
	if rep, ok := s.checkBody(p, messageCreateFields); !ok {
		return rep
	}
	if need := sendPermissions(ch, len(arr(p.m, "embeds")) > 0); s.permissions(ch)&need != need {
		return errMissingPermissions()
	}
	var fe formErrors
	checkMessage(&fe, "", p.m)
	if len(fe) > 0 {
		return formError(fe)
	}
	atts, rep, ok := attachments(p)
	if !ok {
		return rep
	}
	if emptyMessage(p.m) && len(atts) == 0 {
		return errEmptyMessage()
	}
	m := s.newMessage(rt.channelID, p, c.Time, botFlags)
	m.attachments = atts
	c.MessageID = m.id
	return okReply(s.messageJSON(m))
}

// editMessage applies an edit to m: only the fields sent change, and embeds and components
// sent are replaced whole. webhook says the edit came through an interaction token, which
// also resolves a deferred response's loading state.
func (s *Server) editMessage(m *message, p payload, at time.Time, webhook bool) reply {
	if m == nil || (!webhook && m.flags&flagEphemeral != 0) {
		return errUnknownMessage()
	}
	var fe formErrors
	checkMessage(&fe, "", p.m)
	if len(fe) > 0 {
		return formError(fe)
	}
	next := *m
	if p.has("content") {
		next.content = str(p.m, "content")
	}
	if p.has("embeds") {
		next.embeds = p.field("embeds")
	}
	if p.has("components") {
		next.components = p.field("components")
	}
	if f, ok := num(p.m, "flags"); ok {
		// Only SUPPRESS_EMBEDS can be changed on an existing message.
		next.flags = next.flags&^flagSuppressEmbeds | int64(f)&flagSuppressEmbeds
	}
	if webhook {
		next.flags &^= flagLoading
	}
	if next.content == "" && isEmptyArray(next.embeds) && isEmptyArray(next.components) {
		return errEmptyMessage()
	}
	next.edits++
	t := at
	next.edited = &t
	*m = next
	return okReply(s.messageJSON(m))
}

func isEmptyArray(raw json.RawMessage) bool {
	var items []json.RawMessage
	return len(raw) == 0 || json.Unmarshal(raw, &items) != nil || len(items) == 0
}

// discordTime formats t as Discord does: "2024-01-02T15:04:05.000000+00:00".
func discordTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000-07:00") }

func botUser() map[string]any {
	return map[string]any{
		"id": BotUserID, "username": BotUsername, "global_name": nil, "discriminator": "0000",
		"avatar": nil, "bot": true, "public_flags": 0,
	}
}

func arrayOrEmpty(raw json.RawMessage) any {
	if len(raw) == 0 {
		return []any{}
	}
	return raw
}

// messageJSON is the message object Discord answers. The caller holds s.mu.
func (s *Server) messageJSON(m *message) map[string]any {
	var edited any
	if m.edited != nil {
		edited = discordTime(*m.edited)
	}
	out := map[string]any{
		"id": m.id, "channel_id": m.channelID, "type": 0, "content": m.content,
		"author": botUser(), "timestamp": discordTime(m.created), "edited_timestamp": edited,
		"tts": false, "mention_everyone": false, "mentions": []any{}, "mention_roles": []any{},
		"attachments": s.attachmentsJSON(m), "embeds": arrayOrEmpty(m.embeds), "components": arrayOrEmpty(m.components),
		"pinned": false, "flags": m.flags,
	}
	if m.webhookID != "" {
		out["webhook_id"] = m.webhookID
		out["application_id"] = m.webhookID
	}
	if tid, ok := s.threadOf[m.id]; ok {
		out["thread"] = threadJSON(s.threads[tid])
	}
	return out
}

func threadJSON(th *Thread) map[string]any {
	return map[string]any{
		"id": th.ID, "type": 11, "guild_id": th.GuildID, "parent_id": th.ParentID, "name": th.Name, "owner_id": BotUserID,
		"last_message_id": nil, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
		"flags": 0, "total_message_sent": 0,
		"thread_metadata": map[string]any{
			"archived": false, "auto_archive_duration": th.AutoArchiveDuration, "locked": false,
			"archive_timestamp": discordTime(th.Created), "create_timestamp": discordTime(th.Created),
		},
	}
}

// createThread starts a thread on a message
// (https://discord.com/developers/docs/resources/channel#start-thread-from-message): it needs Create
// Public Threads, cannot start in a thread, and gives the thread the message's id.
func (s *Server) createThread(rt route, p payload, c *Call) reply {
	parent, rep, ok := s.permitted(rt.channelID, PermCreatePublicThreads)
	if !ok {
		return rep
	}
	if rep, ok := s.checkBody(p, threadFromMessageFields); !ok {
		return rep
	}
	if parent.isThread() {
		return errThreadInThread()
	}
	m := s.messages[msgKey{rt.channelID, rt.messageID}]
	if m == nil || m.flags&flagEphemeral != 0 {
		return errUnknownMessage()
	}
	if _, ok := s.threadOf[m.id]; ok {
		return errThreadExists()
	}
	var fe formErrors
	checkThread(&fe, p.m)
	if len(fe) > 0 {
		return formError(fe)
	}
	archive := 1440 // a text channel's default_auto_archive_duration
	if d, ok := num(p.m, "auto_archive_duration"); ok && d != 0 {
		archive = int(d)
	}
	// Discord gives a thread started on a message the message's id.
	th := &Thread{
		ID: m.id, GuildID: parent.guildID, ParentID: rt.channelID, MessageID: m.id, Name: str(p.m, "name"),
		AutoArchiveDuration: archive, Created: c.Time,
	}
	s.threads[th.ID] = th
	s.threadOf[m.id] = th.ID
	s.chans[th.ID] = &channel{id: th.ID, guildID: parent.guildID, parentID: parent.id, name: th.Name, typ: discordgo.ChannelTypeGuildPublicThread}
	c.ThreadID = th.ID
	return reply{status: http.StatusCreated, body: threadJSON(th)}
}

func (s *Server) overwriteCommands(rt route, list []any, p payload, at time.Time) reply {
	if list == nil && len(p.m) > 0 {
		var fe formErrors
		fe.add("", "BASE_TYPE_ARRAY", "Must be an array.")
		return formError(fe)
	}
	var fe formErrors
	checkCommands(&fe, list)
	if len(fe) > 0 {
		return formError(fe)
	}
	var old []map[string]any
	if raw := s.commands[rt.guildID]; raw != nil {
		_ = json.Unmarshal(raw, &old)
	}
	cmds := make([]map[string]any, 0, len(list))
	for _, c := range list {
		cmd := obj(c)
		typ := 1.0
		if t, ok := num(cmd, "type"); ok {
			typ = t
		}
		cmd["type"] = typ
		// An overwrite keeps the id of a command it keeps (same type and name), as Discord does.
		id := ""
		for _, o := range old {
			if o["name"] == cmd["name"] && o["type"] == typ {
				id, _ = o["id"].(string)
			}
		}
		if id == "" {
			id = s.nextID(at)
		}
		cmd["id"] = id
		cmd["application_id"] = rt.appID
		if rt.guildID != "" {
			cmd["guild_id"] = rt.guildID
		}
		cmd["version"] = s.nextID(at)
		if _, ok := cmd["default_member_permissions"]; !ok {
			cmd["default_member_permissions"] = nil
		}
		if _, ok := cmd["nsfw"]; !ok {
			cmd["nsfw"] = false
		}
		cmds = append(cmds, cmd)
	}
	raw, _ := json.Marshal(cmds)
	s.commands[rt.guildID] = raw
	return okReply(json.RawMessage(raw))
}

// Interaction response types (discordgo.InteractionResponseType).
const (
	respPong            = 1
	respMessage         = 4
	respDeferredMessage = 5
	respDeferredUpdate  = 6
	respUpdateMessage   = 7
	respAutocomplete    = 8
	respModal           = 9
	respPremiumRequired = 10
	respLaunchActivity  = 12
)

// callbackDataFields are the data fields of each response type that takes data; PONG (1) and
// DEFERRED_UPDATE_MESSAGE (6) take none.
var callbackDataFields = map[float64]map[string]field{
	respMessage: callbackMessageFields, respUpdateMessage: callbackMessageFields, respDeferredMessage: callbackDeferredFields,
	respAutocomplete: callbackAutocompleteFields, respModal: callbackModalFields,
}

func interactionResponseType(t float64) discordgo.InteractionResponseType {
	return discordgo.InteractionResponseType(t)
}

func messageFlags(f float64) discordgo.MessageFlags { return discordgo.MessageFlags(f) }

func (s *Server) callback(in *interaction, p payload, c *Call) reply {
	if in.callback != nil {
		return errAcknowledged()
	}
	typ, _ := num(p.m, "type")
	data := p.sub("data")
	var fe formErrors
	checkFields(&fe, "", p.m, callbackFields)
	if dataFields := callbackDataFields[typ]; dataFields != nil {
		checkDocumented(&fe, "data", data.m, dataFields)
	} else if p.has("data") {
		fe.add("data", "UNKNOWN_FIELD", "This response type takes no data")
	}
	switch typ {
	case respMessage, respUpdateMessage:
		checkMessage(&fe, "data", data.m)
		if len(fe) == 0 && typ == respMessage && emptyMessage(data.m) {
			return errEmptyMessage()
		}
	case respAutocomplete:
		checkChoices(&fe, "data.choices", arr(data.m, "choices"))
	case respModal:
		checkModal(&fe, "data", data.m)
	case respPong, respDeferredMessage, respDeferredUpdate, respPremiumRequired, respLaunchActivity:
	default:
		fe.add("type", "BASE_TYPE_CHOICES", "Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.")
	}
	if len(fe) > 0 {
		return formError(fe)
	}

	switch typ {
	case respMessage, respDeferredMessage:
		m := s.newMessage(in.channelID, data, c.Time, webhookFlags)
		if typ == respDeferredMessage {
			// The "is thinking…" placeholder: nothing but the loading state until edited.
			m.content, m.embeds, m.components = "", nil, nil
			m.flags = m.flags&flagEphemeral | flagLoading
		}
		s.ownMessage(in, m, c)
		in.original = &msgKey{m.channelID, m.id}
	case respDeferredUpdate, respUpdateMessage:
		// These answer a component's message, which must be one Discord holds
		// (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type:
		// "only valid for component-based interactions").
		if in.messageID == "" {
			return apiError(http.StatusBadRequest, 50035, "Invalid Form Body: this response type answers a component's message, and the interaction has none")
		}
		m := s.messages[msgKey{in.channelID, in.messageID}]
		if m == nil {
			return errUnknownMessage()
		}
		in.original = &msgKey{m.channelID, m.id}
		c.ChannelID, c.MessageID = m.channelID, m.id
		if typ == respUpdateMessage {
			if rep := s.editMessage(m, data, c.Time, true); rep.status != http.StatusOK {
				return rep
			}
		}
	}

	cb := &Callback{
		InteractionID: in.id, Token: in.token, Type: interactionResponseType(typ),
		Data: p.field("data"), Content: str(data.m, "content"),
		Embeds: decodeEmbeds(data.field("embeds")), Components: decodeComponents(data.field("components")),
		CustomID: str(data.m, "custom_id"), Title: str(data.m, "title"), Time: c.Time,
	}
	if f, ok := num(data.m, "flags"); ok {
		cb.Flags = messageFlags(f)
	}
	if raw := data.field("choices"); raw != nil {
		_ = json.Unmarshal(raw, &cb.Choices)
	}
	in.callback = cb
	return noContent()
}

// ownMessage marks m as made by interaction in and notes it in the call.
func (s *Server) ownMessage(in *interaction, m *message, c *Call) {
	m.webhookID, m.interactionID, m.interactionTok = c.ApplicationID, in.id, in.token
	if m.webhookID == "" {
		m.webhookID = DefaultAppID
	}
	c.ChannelID, c.MessageID = m.channelID, m.id
}

func (s *Server) followup(in *interaction, p payload, c *Call) reply {
	if rep, ok := s.checkBody(p, followupFields); !ok {
		return rep
	}
	var fe formErrors
	checkMessage(&fe, "", p.m)
	if len(fe) > 0 {
		return formError(fe)
	}
	if emptyMessage(p.m) {
		return errEmptyMessage()
	}
	channel := in.channelID
	if tid := c.Query.Get("thread_id"); tid != "" {
		channel = tid
	}
	m := s.newMessage(channel, p, c.Time, webhookFlags)
	s.ownMessage(in, m, c)
	in.followups = append(in.followups, msgKey{m.channelID, m.id})
	if c.Query.Get("wait") == "true" {
		return okReply(s.messageJSON(m))
	}
	return noContent()
}

// RespondInline records response, the body of the HTTP answer a handler gave to the inbound
// interaction payload interaction (as built by Command, Component, …), as that interaction's
// callback. Discord takes an inline answer exactly like a POST to the callback route, but the
// fake never sees it; after RespondInline, @original exists for the handler's later
// InteractionResponseEdit and a type 7 answer has updated the clicked message, as in Discord.
// The interaction's channel and message are taken from the payload. It returns an error when
// the payload's token was not issued by IssueInteraction, when the interaction was already
// acknowledged, or when Discord would refuse the response (the error names the fields).
func (s *Server) RespondInline(interaction, response []byte) error {
	var in struct {
		ID        string `json:"id"`
		Token     string `json:"token"`
		ChannelID string `json:"channel_id"`
		Message   *struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	if err := json.Unmarshal(interaction, &in); err != nil {
		return fmt.Errorf("discordfake: interaction payload: %w", err)
	}
	var p payload
	if json.Unmarshal(response, &p.m) != nil || json.Unmarshal(response, &p.raw) != nil || p.m == nil {
		return fmt.Errorf("discordfake: inline response %s is not a JSON object", truncate.Excerpt(string(response), 200))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Call{Route: RouteInteractionInline, Method: http.MethodPost, Time: s.now(), InteractionID: in.ID,
		InteractionToken: in.Token, ChannelID: in.ChannelID, Body: p.m, Raw: bytes.Clone(response), Content: str(obj(p.m["data"]), "content")}
	defer func() { s.record(c) }()
	rec := s.byToken[in.Token]
	if rec == nil || rec.id != in.ID {
		c.Status, c.Code, c.Error = http.StatusNotFound, 10062, "Unknown interaction"
		return fmt.Errorf("discordfake: interaction %s: token not issued by IssueInteraction", in.ID)
	}
	// Discord sends an interaction from the channel its message is in: a thread's id for a message in a
	// thread. A payload saying otherwise was built wrong, and a handler tested with it proves nothing.
	// It is refused before the interaction learns its channel from it, so that a refusal leaves nothing
	// behind.
	if in.Message != nil {
		if where, ok := s.channelOf(in.Message.ID); ok && where != in.ChannelID {
			c.Status, c.Error = http.StatusBadRequest, "interaction from the wrong channel"
			return fmt.Errorf("discordfake: interaction %s names channel %s, but message %s is in %s: Discord sends the message's own channel (a thread's id in a thread)",
				in.ID, in.ChannelID, in.Message.ID, where)
		}
	}
	if rec.channelID == "" {
		rec.channelID = in.ChannelID
	}
	if rec.messageID == "" && in.Message != nil {
		rec.messageID = in.Message.ID
	}
	rep := s.callback(rec, p, &c)
	c.Status, c.Code, c.Error, c.Detail = rep.status, rep.code, rep.msg, rep.detail
	if rep.status == http.StatusNoContent {
		c.Status = http.StatusOK
	}
	if rep.status >= 300 {
		msg := fmt.Sprintf("discordfake: inline response to %s refused: %d %s (code %d)", in.ID, rep.status, rep.msg, rep.code)
		if rep.detail != "" {
			msg += ": " + rep.detail
		}
		return errors.New(msg)
	}
	return nil
}
