package exec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shipgate/shipgate/truncate"
)

// MaxSLIFile bounds the SLI results file: an object of numbers, kilobytes at most.
const MaxSLIFile = 1 << 20

// sliExample shows the expected shape in messages; it is the shape of `shipgate evaluate --sli`.
const sliExample = `{"response_time_p95": 412.5, "error_rate": null}`

// sliLocation is where a command may write SLI results: name inside dir. display names it in messages.
type sliLocation struct {
	dir, name, display string
}

// path is the absolute path given to the command as SHIPGATE_SLI_FILE.
func (l sliLocation) path() string { return filepath.Join(l.dir, l.name) }

// prepare makes the file's directory and removes a file that the service's files put there, so that only
// what the command writes counts as its results.
func (l sliLocation) prepare() error {
	p := l.path()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", l.display, err)
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("removing a stale %s: %w", l.display, err)
	}
	return nil
}

// read reads the SLI results the command wrote, or returns nil when it wrote none. The error is for the
// user and names the file.
func (l sliLocation) read() (map[string]any, error) {
	// The root keeps a symbolic link the command left from pointing the read outside its directory.
	root, err := os.OpenRoot(l.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil // the command removed the directory, and the file with it
	case err != nil:
		return nil, fmt.Errorf("SLI results file %s: %w", l.display, unwrapPath(err))
	}
	defer root.Close()
	info, err := root.Stat(l.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("SLI results file %s: %w", l.display, unwrapPath(err))
	case !info.Mode().IsRegular():
		// Opening a named pipe would wait for a writer that may never come.
		return nil, fmt.Errorf("SLI results file %s is not a regular file", l.display)
	case info.Size() > MaxSLIFile:
		return nil, fmt.Errorf("SLI results file %s is larger than %d KiB", l.display, MaxSLIFile>>10)
	}
	data, err := root.ReadFile(l.name)
	if err != nil {
		return nil, fmt.Errorf("SLI results file %s: %w", l.display, unwrapPath(err))
	}
	if len(data) > MaxSLIFile {
		return nil, fmt.Errorf("SLI results file %s is larger than %d KiB", l.display, MaxSLIFile>>10)
	}
	values, err := parseSLIResults(data)
	if err != nil {
		return nil, fmt.Errorf("SLI results file %s: %w", l.display, err)
	}
	return values, nil
}

// parseSLIResults reads a flat JSON object of SLI values, {"name": number or null}, where null means the
// value could not be obtained. Values are float64 or nil. A nested object such as {"sli": {...}} is not
// accepted: the file has one shape, the one `shipgate evaluate --sli` reads.
func parseSLIResults(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			err = errors.New("not an object")
		}
		return nil, fmt.Errorf("expected an object of SLI values such as %s: %w", sliExample, err)
	}
	values := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		name := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		if name == "" {
			return nil, errors.New("an SLI name is empty")
		}
		if string(raw) == "null" {
			values[name] = nil
			continue
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("%q is %s, expected a number or null", name, truncate.Runes(string(raw), 60))
		}
		values[name] = f
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: more data after the object")
	}
	return values, nil
}

// unwrapPath drops the path from an fs error: the message already names the file, by the name the user
// knows rather than a temporary path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
