package config

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// JobMountRoot is where job-executor-service made a task's files available in its container.
const JobMountRoot = "/keptn"

// MaxJobFilesSize is the most a task's files may hold together: they travel in one ConfigMap, and
// Kubernetes refuses a ConfigMap whose data exceeds 1 MiB.
const MaxJobFilesSize = 1 << 20

// JobConfig reads the job/config.yaml that applies to a service in a stage: PROJECT/STAGE/SERVICE's when
// it exists, else PROJECT/SERVICE's, the whole file and not merged, as Keptn's resources were layered. It
// returns nil without diagnostics when there is none.
func (p *Project) JobConfig(stage, service string) (*JobConfig, Diagnostics) {
	path, ok := p.Resource(stage, service, JobConfigFile)
	if !ok {
		return nil, nil
	}
	return ReadJobConfig(path)
}

// HasJobAction reports whether the service's job/config.yaml in the stage has an action for the task's
// triggered event, in which case the task runs as a Kubernetes Job and needs no executors.yaml entry.
// A configuration with errors has no actions.
func (p *Project) HasJobAction(stage, service, task string) bool {
	c, diags := p.JobConfig(stage, service)
	return c != nil && !diags.HasErrors() && c.HasAction(task)
}

// JobFiles reads the files a task names, as seen from a stage, and returns them by the path they are
// mounted at in the container. An entry is a path among the service's files, with or without a leading
// slash (job-executor-service read both as rooted at the service): locust/basic.py is mounted at
// /keptn/locust/basic.py, and a folder such as /charts brings every file under it. Each file is looked up
// as Project.Resource does, PROJECT/STAGE/SERVICE first, then PROJECT/SERVICE; a folder merges both,
// file by file. A missing entry, or files larger together than MaxJobFilesSize, is an error.
func (p *Project) JobFiles(stage, service string, files []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	total := 0
	for _, entry := range files {
		rel := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(entry)), "/")
		if rel == "" {
			return nil, fmt.Errorf("file %q names the whole service; name a file or folder in it", entry)
		}
		found, err := p.jobFileEntry(stage, service, rel)
		if err != nil {
			return nil, fmt.Errorf("file %q: %w", entry, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("file %q does not exist: expected %s, or %s for one stage", entry,
				filepath.Join(p.Dir, service, filepath.FromSlash(rel)), filepath.Join("STAGE", service, filepath.FromSlash(rel)))
		}
		for _, name := range slices.Sorted(maps.Keys(found)) {
			mount := path.Join(JobMountRoot, name)
			if _, dup := out[mount]; dup {
				continue
			}
			data, err := os.ReadFile(found[name])
			if err != nil {
				return nil, fmt.Errorf("file %q: %w", entry, unwrapPathError(err))
			}
			total += len(data)
			if total > MaxJobFilesSize {
				return nil, fmt.Errorf("the task's files hold more than %d bytes (1 MiB), the most a Kubernetes ConfigMap can carry; %s brings the total to %d bytes", MaxJobFilesSize, mount, total)
			}
			out[mount] = data
		}
	}
	return out, nil
}

// jobFileEntry finds rel (slash-separated, relative to the service) as a file or a folder, returning the
// files by their path relative to the service. A stage's file wins over the service's of the same name.
func (p *Project) jobFileEntry(stage, service, rel string) (map[string]string, error) {
	found := map[string]string{}
	for _, base := range []string{filepath.Join(p.Dir, service), filepath.Join(p.Dir, stage, service)} {
		root := filepath.Join(base, filepath.FromSlash(rel))
		info, err := os.Stat(root)
		if err != nil {
			continue
		}
		if !info.IsDir() {
			found[rel] = root
			continue
		}
		err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if isDir(path, e) {
				return nil
			}
			r, err := filepath.Rel(base, path)
			if err != nil {
				return err
			}
			found[filepath.ToSlash(r)] = path
			return nil
		})
		if err != nil {
			return nil, unwrapPathError(err)
		}
	}
	return found, nil
}

// validateJobConfigs checks every job/config.yaml once, then, for each stage and service, that the files
// its tasks name exist and fit in a ConfigMap. A file missing in several stages is one error naming them.
func (p *Project) validateJobConfigs(diags *Diagnostics) {
	configs := map[string]*JobConfig{}
	type key struct {
		file string
		line int
		msg  string
	}
	stagesOf := map[key][]string{}
	var order []key
	for _, stage := range p.Shipyard.StageNames() {
		for _, svc := range p.Services {
			path, ok := p.Resource(stage, svc, JobConfigFile)
			if !ok {
				continue
			}
			c, done := configs[path]
			if !done {
				var d Diagnostics
				c, d = ReadJobConfig(path)
				configs[path] = c
				*diags = append(*diags, d...)
			}
			if c == nil {
				continue
			}
			for _, a := range c.Actions {
				if a == nil {
					continue
				}
				for _, t := range a.Tasks {
					if t == nil || len(t.Files) == 0 {
						continue
					}
					report := func(line int, err error) {
						k := key{path, line, fmt.Sprintf("action %q, task %q: %v", a.Name, t.Name, err)}
						if _, seen := stagesOf[k]; !seen {
							order = append(order, k)
						}
						stagesOf[k] = append(stagesOf[k], stage)
					}
					// Entry by entry first, so that a missing file is reported at its own line.
					ok := true
					for i, f := range t.Files {
						if strings.Trim(f, "/ ") == "" {
							ok = false // reported by ParseJobConfig
						} else if _, err := p.JobFiles(stage, svc, []string{f}); err != nil {
							report(t.LineOf(fmt.Sprintf("files[%d]", i)), err)
							ok = false
						}
					}
					if _, err := p.JobFiles(stage, svc, t.Files); ok && err != nil {
						report(t.LineOf("files"), err)
					}
				}
			}
		}
	}
	for _, k := range order {
		*diags = append(*diags, Diagnostic{File: k.file, Line: k.line, Severity: SeverityError,
			Message: fmt.Sprintf("%s (stage %s)", k.msg, strings.Join(stagesOf[k], ", "))})
	}
}
