package exec

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/config"
)

// Bounds of the service files copied into a work dir. A service folder is meant to hold test scripts and
// their data, not build output; the bounds keep a misplaced artifact from filling the disk on every run.
const (
	DefaultMaxCopyBytes = 64 << 20
	DefaultMaxCopyFiles = 10_000
)

// copyLimits bounds what prepareWorkDir copies; the zero value means the defaults.
type copyLimits struct {
	bytes int64
	files int
}

func (l copyLimits) orDefault() copyLimits {
	if l.bytes == 0 {
		l.bytes = DefaultMaxCopyBytes
	}
	if l.files == 0 {
		l.files = DefaultMaxCopyFiles
	}
	return l
}

// copyLimitError is returned when a service's files exceed the copy limits; its message is for the user.
type copyLimitError struct {
	service string
	limits  copyLimits
}

func (e copyLimitError) Error() string {
	return fmt.Sprintf("the files of service %s exceed what the exec executor copies into the working directory (%d MiB, %d files); move large files out of the service folder, or set files: false",
		e.service, e.limits.bytes>>20, e.limits.files)
}

// runDir is the temporary directory of one run: the command's working directory inside it, and the
// default SLI results file beside it, so that a service file of the same name is never taken for results.
type runDir struct {
	root string
	work string
	sli  sliLocation
}

// newRunDir creates the run's directories under base.
func newRunDir(base string, s settings) (runDir, error) {
	root, err := os.MkdirTemp(base, "shipgate-exec-")
	if err != nil {
		return runDir{}, fmt.Errorf("creating the run directory: %w", err)
	}
	// The command is told absolute paths, which stay right after it changes directory.
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	d := runDir{root: root, work: filepath.Join(root, "work")}
	if err := os.Mkdir(d.work, 0o755); err != nil {
		_ = os.RemoveAll(root)
		return runDir{}, fmt.Errorf("creating the working directory: %w", err)
	}
	d.sli = sliLocation{dir: root, name: "sli.json", display: "SHIPGATE_SLI_FILE"}
	if s.sliFile != "" {
		d.sli = sliLocation{dir: d.work, name: s.sliFile, display: s.sliFile}
	}
	return d, nil
}

// remove deletes the run directory, including directories the command made read-only.
func (d runDir) remove() error {
	if err := os.RemoveAll(d.root); err == nil {
		return nil
	}
	_ = filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(d.root)
}

// prepareWorkDir copies the service's files into dst as Keptn resolved a service's resources for a
// stage: PROJECT/SERVICE first, then PROJECT/STAGE/SERVICE over it, so a stage-specific file wins.
// Relative symbolic links that stay within the project are followed (their target is copied); others,
// and absolute ones, are skipped. Without a project, or without a folder for the service, dst stays
// empty.
func prepareWorkDir(ctx context.Context, p *config.Project, stage, service, dst string, limits copyLimits, log *slog.Logger) error {
	if p == nil || !singleName(service) {
		return nil
	}
	root, err := os.OpenRoot(p.Dir)
	if err != nil {
		return fmt.Errorf("opening project %s: %w", p.Name, err)
	}
	defer root.Close()
	c := &copier{ctx: ctx, src: root, service: service, limits: limits.orDefault(), log: log}
	srcs := []string{service}
	if singleName(stage) {
		srcs = append(srcs, path.Join(stage, service))
	}
	for _, src := range srcs {
		info, err := root.Stat(src)
		if err != nil || !info.IsDir() {
			continue
		}
		if err := c.copyDir(src, dst, []os.FileInfo{info}); err != nil {
			return err
		}
	}
	return nil
}

// singleName reports whether name is one path element that stays in its parent: a service or stage name
// as the project allows them, never "" or "..".
func singleName(name string) bool {
	return name != "" && name != "." && filepath.IsLocal(name) && !strings.ContainsAny(name, `/\`)
}

type copier struct {
	ctx     context.Context
	src     *os.Root
	service string
	limits  copyLimits
	log     *slog.Logger
	bytes   int64
	files   int
}

// copyDir copies the project directory src (slash-separated, relative to the project) into dst.
// ancestors are the directories being copied, so that a symbolic link to one of them is not followed
// round in a loop.
func (c *copier) copyDir(src, dst string, ancestors []os.FileInfo) error {
	dir, err := c.src.Open(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		s, d := path.Join(src, e.Name()), filepath.Join(dst, e.Name())
		// Stat through the root follows a symbolic link only if it stays inside the project.
		info, err := c.src.Stat(s)
		if err != nil {
			if e.Type()&fs.ModeSymlink != 0 {
				c.log.Debug("skipping a symbolic link that leads out of the project or nowhere", "file", s, "err", err)
				continue
			}
			return fmt.Errorf("reading %s: %w", s, err)
		}
		switch {
		case info.IsDir():
			if slices.ContainsFunc(ancestors, func(a os.FileInfo) bool { return os.SameFile(a, info) }) {
				c.log.Debug("skipping a symbolic link to a directory that contains it", "file", s)
				continue
			}
			if err := makeDir(d); err != nil {
				return err
			}
			if err := c.copyDir(s, d, append(ancestors, info)); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := c.copyFile(s, d, info); err != nil {
				return err
			}
		default:
			c.log.Debug("skipping a file that is neither a regular file nor a directory", "file", s, "mode", info.Mode())
		}
	}
	return nil
}

// makeDir makes dst a directory, replacing a file of the same name: the stage's folder wins over the
// service's file.
func makeDir(dst string) error {
	if info, err := os.Lstat(dst); err == nil {
		if info.IsDir() {
			return nil
		}
		if err := os.Remove(dst); err != nil {
			return fmt.Errorf("replacing %s with a directory: %w", dst, err)
		}
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	return nil
}

func (c *copier) copyFile(src, dst string, info os.FileInfo) error {
	c.files++
	c.bytes += info.Size()
	if c.files > c.limits.files || c.bytes > c.limits.bytes {
		return copyLimitError{service: c.service, limits: c.limits}
	}
	in, err := c.src.Open(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	defer in.Close()
	// Whatever the service's copy left here, a file or a directory, the stage's file replaces it.
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("replacing %s: %w", dst, err)
	}
	// The mode is kept so that scripts stay executable; the owner may always read and write the copy.
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm()|0o600)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	// A file that grows while it is copied is cut at the size it had, which the limits counted.
	_, err = io.Copy(out, io.LimitReader(in, info.Size()))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}
