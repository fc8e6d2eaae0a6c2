package slackfake

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// slack-go's three-step upload works against the fake, and the file lands in the thread.
func TestUploadFile(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	api := client(f)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := api.UploadFileContext(t.Context(), slack.UploadFileParameters{Channel: "C1", ThreadTimestamp: ts, Filename: "a.diff",
		Title: "a.diff", Content: "-a\n+b\n", FileSize: 6, SnippetType: "diff"})
	if err != nil {
		t.Fatal(err)
	}
	files := f.Files("C1")
	if len(files) != 1 || files[0].ID != sum.ID || string(files[0].Content) != "-a\n+b\n" || files[0].ThreadTS != ts || files[0].SnippetType != "diff" {
		t.Fatalf("files %+v", files)
	}
}

// What Slack refuses: no filename or length, a file never uploaded, a thread_ts of a reply, a
// channel the bot is not in; an upload URL never issued is a 404.
func TestUploadRefusals(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	f.AddChannelWithoutBot("C2")
	if _, _, body := raw(t, f, "files.getUploadURLExternal", url.Values{"filename": {"a"}}); errorOf(body) != "invalid_arguments" {
		t.Errorf("no length: %v", body)
	}
	_, _, body := raw(t, f, "files.getUploadURLExternal", url.Values{"filename": {"a"}, "length": {"1"}})
	id, _ := body["file_id"].(string)
	files := `[{"id":"` + id + `"}]`
	if _, _, body := raw(t, f, "files.completeUploadExternal", url.Values{"files": {files}, "channel_id": {"C1"}}); errorOf(body) != "file_not_found" {
		t.Errorf("not uploaded: %v", body)
	}
	resp, err := http.Post(body["upload_url"].(string), "text/plain", strings.NewReader("x"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := http.Post(f.URL+"/upload/F99999999", "text/plain", strings.NewReader("x")); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown upload URL: %v %v", resp, err)
	}
	if _, _, body := raw(t, f, "files.completeUploadExternal", url.Values{"files": {files}, "channel_id": {"C2"}}); errorOf(body) != "not_in_channel" {
		t.Errorf("channel without the bot: %v", body)
	}
	_, root, _ := client(f).PostMessage("C1", slack.MsgOptionText("root", false))
	_, reply, _ := client(f).PostMessage("C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(root))
	if _, _, body := raw(t, f, "files.completeUploadExternal", url.Values{"files": {files}, "channel_id": {"C1"}, "thread_ts": {reply}}); errorOf(body) != "invalid_thread_ts" {
		t.Errorf("a reply's ts: %v", body)
	}
	if _, _, body := raw(t, f, "files.completeUploadExternal", url.Values{"files": {files}, "channel_id": {"C1"}, "thread_ts": {root}}); errorOf(body) != "" {
		t.Errorf("complete: %v", body)
	}
	if n := len(f.Files("C1")); n != 1 {
		t.Errorf("%d files", n)
	}
}
