package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Project is a Keptn project directory: shipyard.yaml at its root, a folder per service, and optional
// folders per stage whose files override the service-wide ones:
//
//	PROJECT/shipyard.yaml
//	PROJECT/prometheus/sli.yaml                  project-wide SLIs
//	PROJECT/SERVICE/slo.yaml                     service files for every stage
//	PROJECT/SERVICE/prometheus/sli.yaml
//	PROJECT/STAGE/prometheus/sli.yaml            stage-wide SLIs
//	PROJECT/STAGE/SERVICE/slo.yaml               overrides PROJECT/SERVICE/slo.yaml in STAGE
//	PROJECT/STAGE/SERVICE/remediation.yaml
//	PROJECT/SERVICE/job/config.yaml              job-executor-service's actions, run as Kubernetes Jobs
//	PROJECT/STAGE/SERVICE/job/config.yaml        overrides PROJECT/SERVICE/job/config.yaml in STAGE
//	PROJECT/executors.yaml                       which executor runs each task (shipgate's own, optional)
type Project struct {
	Name     string
	Dir      string
	Shipyard *Shipyard
	// Services are the folders at the root (or inside a stage folder) that are neither stages nor SLI
	// provider folders, sorted.
	Services []string
	// Executors is executors.yaml, or nil when the project has none (or it is not YAML).
	Executors *ExecutorsFile
}

// DefaultSLIProvider is the provider folder shipgate reads SLI queries from.
const DefaultSLIProvider = "prometheus"

// LoadProject reads a project directory and validates everything in it: the shipyard, every SLO, SLI,
// remediation and job/config.yaml file (with the files its tasks mount), executors.yaml, and whether
// each SLO objective has a query. The project is returned whenever its shipyard could be decoded, even with errors, so that all problems can be shown at
// once. Whether every task has an executor is left to CheckExecutors, whose severity callers choose.
func LoadProject(dir string) (*Project, Diagnostics) {
	dir = filepath.Clean(dir)
	var diags Diagnostics
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		msg := "not a directory"
		if err != nil {
			msg = unwrapPathError(err).Error()
		}
		return nil, Diagnostics{{File: dir, Severity: SeverityError, Message: "cannot read project: " + msg}}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, Diagnostics{{File: dir, Severity: SeverityError, Message: fmt.Sprintf("cannot read project: %v", err)}}
	}
	p := &Project{Name: filepath.Base(abs), Dir: dir}
	if !namePattern.MatchString(p.Name) {
		diags = append(diags, Diagnostic{File: dir, Severity: SeverityError,
			Message: fmt.Sprintf("project name %q (the directory's name) is invalid: it must start with a lowercase letter and contain only lowercase letters, digits and hyphens", p.Name)})
	}
	sy, sd := ReadShipyard(filepath.Join(dir, ShipyardFile))
	diags = append(diags, sd...)
	if sy == nil {
		return nil, diags
	}
	p.Shipyard = sy
	p.Services = p.discoverServices(&diags)
	p.validateFiles(&diags)
	if path := filepath.Join(dir, ExecutorsFileName); fileExists(path) {
		var ed Diagnostics
		p.Executors, ed = ReadExecutors(path)
		diags = append(diags, ed...)
	}
	diags.Sort()
	return p, diags
}

// LoadProjects loads every project directory (one holding a shipyard.yaml) directly under dir.
func LoadProjects(dir string) ([]*Project, Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, Diagnostics{{File: dir, Severity: SeverityError, Message: fmt.Sprintf("cannot read projects directory: %v", unwrapPathError(err))}}
	}
	var (
		projects []*Project
		diags    Diagnostics
	)
	for _, e := range entries {
		pdir := filepath.Join(dir, e.Name())
		if !isDir(pdir, e) || strings.HasPrefix(e.Name(), ".") || !fileExists(filepath.Join(pdir, ShipyardFile)) {
			continue
		}
		p, pd := LoadProject(pdir)
		diags = append(diags, pd...)
		if p != nil {
			projects = append(projects, p)
		}
	}
	return projects, diags
}

// HasService reports whether the project has the service.
func (p *Project) HasService(name string) bool {
	_, ok := slices.BinarySearch(p.Services, name)
	return ok
}

// Resource returns the path of a service's file as seen from a stage: PROJECT/STAGE/SERVICE/NAME when it
// exists, else PROJECT/SERVICE/NAME. name may contain slashes (prometheus/sli.yaml, helm/chart.tgz).
func (p *Project) Resource(stage, service, name string) (string, bool) {
	for _, path := range []string{
		filepath.Join(p.Dir, stage, service, name),
		filepath.Join(p.Dir, service, name),
	} {
		if fileExists(path) {
			return path, true
		}
	}
	return "", false
}

// SLIPaths returns the provider's sli.yaml files that apply to a service in a stage, widest scope first:
// project, stage, service, then the service's stage-specific file.
func (p *Project) SLIPaths(stage, service, provider string) []string {
	var paths []string
	for _, path := range []string{
		filepath.Join(p.Dir, provider, SLIFileName),
		filepath.Join(p.Dir, stage, provider, SLIFileName),
		filepath.Join(p.Dir, service, provider, SLIFileName),
		filepath.Join(p.Dir, stage, service, provider, SLIFileName),
	} {
		if fileExists(path) {
			paths = append(paths, path)
		}
	}
	return paths
}

// SLO reads the SLO that applies to a service in a stage. It returns nil without diagnostics when there is
// none, which Keptn treated as a passing evaluation without a score.
func (p *Project) SLO(stage, service string) (*SLO, Diagnostics) {
	path, ok := p.Resource(stage, service, SLOFile)
	if !ok {
		return nil, nil
	}
	return ReadSLO(path)
}

// Remediation reads the remediation.yaml that applies to a service in a stage, or returns nil without
// diagnostics when there is none (a remediation sequence's get-action then finds no action).
func (p *Project) Remediation(stage, service string) (*Remediation, Diagnostics) {
	path, ok := p.Resource(stage, service, RemediationFile)
	if !ok {
		return nil, nil
	}
	return ReadRemediation(path)
}

// SLIs reads and merges the provider's indicators for a service in a stage, key by key: service overrides
// stage, which overrides project.
func (p *Project) SLIs(stage, service, provider string) (map[string]string, Diagnostics) {
	var (
		files []*SLIFile
		diags Diagnostics
	)
	for _, path := range p.SLIPaths(stage, service, provider) {
		f, fd := ReadSLIFile(path)
		diags = append(diags, fd...)
		files = append(files, f)
	}
	return MergeSLIs(files...), diags
}

// discoverServices finds the service folders and reports folders that cannot be services.
func (p *Project) discoverServices(diags *Diagnostics) []string {
	stages := p.Shipyard.StageNames()
	found := map[string]bool{}
	scan := func(dir string, inStage bool) {
		for _, name := range subdirs(dir) {
			path := filepath.Join(dir, name)
			switch {
			case !inStage && slices.Contains(stages, name):
			case isProviderDir(path):
			case !namePattern.MatchString(name):
				*diags = append(*diags, Diagnostic{File: path, Severity: SeverityWarning,
					Message: fmt.Sprintf("folder %q is ignored: it is not a stage, and a service name must start with a lowercase letter and contain only lowercase letters, digits and hyphens", name)})
			default:
				found[name] = true
			}
		}
	}
	scan(p.Dir, false)
	for _, st := range stages {
		scan(filepath.Join(p.Dir, st), true)
	}
	services := make([]string, 0, len(found))
	for s := range found {
		services = append(services, s)
	}
	slices.Sort(services)
	return services
}

// validateFiles checks every SLO, SLI and remediation file once, then checks for each stage and service
// that the SLO's objectives have a query.
func (p *Project) validateFiles(diags *Diagnostics) {
	slos := map[string]*SLO{}
	slis := map[string]*SLIFile{}
	remediations := map[string]bool{}
	for _, stage := range p.Shipyard.StageNames() {
		for _, svc := range p.Services {
			for _, dir := range []string{filepath.Join(p.Dir, svc), filepath.Join(p.Dir, stage, svc)} {
				if path := filepath.Join(dir, SLOFile); fileExists(path) {
					if _, done := slos[path]; !done {
						var d Diagnostics
						slos[path], d = ReadSLO(path)
						*diags = append(*diags, d...)
					}
				}
				if path := filepath.Join(dir, RemediationFile); fileExists(path) && !remediations[path] {
					remediations[path] = true
					_, d := ReadRemediation(path)
					*diags = append(*diags, d...)
				}
			}
			for _, path := range p.SLIPaths(stage, svc, DefaultSLIProvider) {
				if _, done := slis[path]; !done {
					var d Diagnostics
					slis[path], d = ReadSLIFile(path)
					*diags = append(*diags, d...)
				}
			}
		}
	}
	p.checkSLICoverage(slos, slis, diags)
	p.validateJobConfigs(diags)
}

// checkSLICoverage warns about objectives whose SLI has no query for some stage. It is a warning, not an
// error: another SLI provider, or a test that reports SLI values itself, may supply the value.
func (p *Project) checkSLICoverage(slos map[string]*SLO, slis map[string]*SLIFile, diags *Diagnostics) {
	type key struct {
		file string
		sli  string
	}
	missing := map[key][]string{}
	lines := map[key]int{}
	var order []key
	for _, stage := range p.Shipyard.StageNames() {
		for _, svc := range p.Services {
			path, ok := p.Resource(stage, svc, SLOFile)
			if !ok || slos[path] == nil {
				continue
			}
			var files []*SLIFile
			for _, sp := range p.SLIPaths(stage, svc, DefaultSLIProvider) {
				files = append(files, slis[sp])
			}
			indicators := MergeSLIs(files...)
			for _, o := range slos[path].Objectives {
				if o.SLI == "" || indicators[o.SLI] != "" || slices.Contains(BuiltinPrometheusSLIs, o.SLI) {
					continue
				}
				k := key{path, o.SLI}
				if _, seen := missing[k]; !seen {
					order = append(order, k)
					lines[k] = o.LineOf("sli")
				}
				missing[k] = append(missing[k], stage)
			}
		}
	}
	for _, k := range order {
		*diags = append(*diags, Diagnostic{File: k.file, Line: lines[k], Severity: SeverityWarning,
			Message: fmt.Sprintf("objective %q has no query in any %s/%s for stage %s; it gets no value unless another SLI provider supplies it", k.sli, DefaultSLIProvider, SLIFileName, strings.Join(missing[k], ", "))})
	}
}

func subdirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && isDir(filepath.Join(dir, e.Name()), e) {
			names = append(names, e.Name())
		}
	}
	return names
}

// isProviderDir reports whether a folder holds an SLI provider's queries rather than a service.
func isProviderDir(dir string) bool {
	return fileExists(filepath.Join(dir, SLIFileName))
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// unwrapPathError drops the path from an fs error: diagnostics already name the file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isDir reports whether a directory entry is a folder, following a symbolic link: Kubernetes mounts a
// ConfigMap's folders as links (into its ..data), and a project mounted that way must load whole.
func isDir(path string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
