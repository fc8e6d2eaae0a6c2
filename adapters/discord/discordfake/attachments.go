package discordfake

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Attachment is a file uploaded with a message.
type Attachment struct {
	ID          string
	Filename    string
	ContentType string
	Content     []byte
}

// attachments reads a message's uploads as Discord documents them
// (https://discord.com/developers/docs/reference#uploading-files): each file is a multipart part
// named files[n]; an entry of payload_json's attachments array describes the file whose n is its
// id, and an entry naming no uploaded file is an error. A file without an entry is still attached,
// under the part's filename.
func attachments(p payload) ([]Attachment, reply, bool) {
	var fe formErrors
	for i, v := range arr(p.m, "attachments") {
		a := obj(v)
		id, ok := a["id"]
		field := fmt.Sprintf("files[%v]", id)
		if _, uploaded := p.uploads[field]; !ok || !uploaded {
			fe.add(fmt.Sprintf("attachments.%d.id", i), "ATTACHMENT_NOT_FOUND", "Attachment data not found")
		}
	}
	if len(fe) > 0 {
		return nil, formError(fe), false
	}
	var out []Attachment
	for field, u := range p.uploads {
		n, ok := strings.CutPrefix(field, "files[")
		n, ok2 := strings.CutSuffix(n, "]")
		if _, err := strconv.Atoi(n); !ok || !ok2 || err != nil {
			continue // not a file part Discord reads
		}
		u.ID = n
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b Attachment) int {
		x, _ := strconv.Atoi(a.ID)
		y, _ := strconv.Atoi(b.ID)
		return x - y
	})
	return out, reply{}, true
}

// attachmentsJSON is a message's attachments as Discord returns them (APIAttachment).
func (s *Server) attachmentsJSON(m *message) []any {
	out := []any{}
	for _, a := range m.attachments {
		out = append(out, map[string]any{"id": a.ID, "filename": a.Filename, "size": len(a.Content), "content_type": a.ContentType,
			"url": s.URL() + "/attachments/" + m.channelID + "/" + a.ID + "/" + a.Filename})
	}
	return out
}
