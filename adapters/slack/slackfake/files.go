package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// File is a file shared through the upload flow Slack documents for files.uploadV2
// (https://docs.slack.dev/messaging/working-with-files#upload): files.getUploadURLExternal, a POST
// of the bytes to the upload URL, then files.completeUploadExternal.
type File struct {
	ID, Name, Title string
	// Length is the size in bytes declared to files.getUploadURLExternal.
	Length int
	// SnippetType is the syntax declared for a snippet ("diff"), "" for none.
	SnippetType string
	Content     []byte
	// Uploaded is set once the bytes arrived at the upload URL; Channel and ThreadTS once
	// files.completeUploadExternal shared the file.
	Uploaded          bool
	Channel, ThreadTS string
	Completed         bool
}

// Files returns the files shared in channel, in the order their uploads were completed.
func (s *Server) Files(channel string) []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileOrder {
		if f := s.files[id]; f.Completed && f.Channel == channel {
			c := *f
			c.Content = append([]byte(nil), f.Content...)
			out = append(out, c)
		}
	}
	return out
}

// getUploadURL is files.getUploadURLExternal (https://docs.slack.dev/reference/methods/files.getUploadURLExternal):
// filename and length (the size in bytes) are required; the answer is an upload_url and a
// file_id. The caller holds s.mu.
func (s *Server) getUploadURL(p params) reply {
	name := p.str("filename")
	length, err := strconv.Atoi(p.str("length"))
	if name == "" || err != nil || length <= 0 {
		return errReply("invalid_arguments", "filename and a positive length are required")
	}
	s.fileSeq++
	id := fmt.Sprintf("F%08d", s.fileSeq)
	s.files[id] = &File{ID: id, Name: name, Length: length, SnippetType: p.str("snippet_type")}
	s.fileOrder = append(s.fileOrder, id)
	return okReply(map[string]any{"upload_url": s.URL + "/upload/" + id, "file_id": id})
}

// handleUpload receives a file's bytes at the URL files.getUploadURLExternal issued: Slack takes
// them raw or as multipart/form-data with the file in a form field, and answers 200 with
// "OK - LENGTH" (https://docs.slack.dev/messaging/working-with-files#upload, step 2). An unknown
// URL is a 404.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	var content []byte
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		if err = r.ParseMultipartForm(maxBody); err == nil {
			for _, fhs := range r.MultipartForm.File {
				f, openErr := fhs[0].Open()
				if openErr != nil {
					err = openErr
					break
				}
				content, err = io.ReadAll(f)
				f.Close()
				break
			}
		}
	} else {
		content, err = io.ReadAll(io.LimitReader(r.Body, maxBody))
	}
	s.mu.Lock()
	f, ok := s.files[id]
	c := Call{Method: "upload", Status: http.StatusOK}
	switch {
	case !ok:
		c.Status = http.StatusNotFound
	case err != nil || (r.MultipartForm != nil && content == nil):
		c.Status, c.Detail = http.StatusBadRequest, "no file in the upload"
	default:
		f.Content, f.Uploaded = content, true
	}
	s.record(c)
	s.mu.Unlock()
	w.WriteHeader(c.Status)
	if c.Status == http.StatusOK {
		fmt.Fprintf(w, "OK - %d", len(content))
	}
}

// completeUpload is files.completeUploadExternal (https://docs.slack.dev/reference/methods/files.completeUploadExternal):
// files is a JSON array of {id, title}; channel_id shares them (without it they stay private);
// thread_ts makes them a reply, and must be a parent's ts ("Never use a reply's ts value; use
// its parent instead"). Every file must have been uploaded. Where the page documents a rule but this
// fake could not confirm the error code Slack answers it with (a reply's ts, a file not uploaded),
// the code is the fake's choice: shipgate branches on none of them. The caller holds s.mu.
func (s *Server) completeUpload(p params, c *Call) reply {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(p.raw("files"), &files); err != nil || len(files) == 0 {
		return errReply("invalid_arguments", "files must be a non-empty JSON array of {id, title}")
	}
	channel := p.str("channel_id")
	c.Channel = channel
	if channel != "" {
		if _, rep, ok := s.postable(channel); !ok {
			return rep
		}
	}
	thread := p.str("thread_ts")
	if thread != "" {
		parent, ok := s.byTS[msgKey{channel, thread}]
		if !ok || parent.ThreadTS != "" {
			return errReply("invalid_thread_ts", "thread_ts must be the ts of a parent message in the channel")
		}
	}
	var out []map[string]any
	for _, fs := range files {
		f, ok := s.files[fs.ID]
		if !ok || !f.Uploaded || f.Completed {
			return errReply("file_not_found", fmt.Sprintf("file %s was not uploaded", fs.ID))
		}
		out = append(out, map[string]any{"id": f.ID, "title": fs.Title})
	}
	for _, fs := range files {
		f := s.files[fs.ID]
		f.Title, f.Channel, f.ThreadTS, f.Completed = fs.Title, channel, thread, true
	}
	return okReply(map[string]any{"files": out})
}
