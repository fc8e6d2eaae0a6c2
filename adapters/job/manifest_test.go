package job

import (
	"path"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestBuildRefusesBadSpecs(t *testing.T) {
	ok := Spec{Namespace: "qa", Name: "test-1-1-1", Labels: Labels(1, "qa", "test", 1), Image: "busybox"}
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"no image", func(s *Spec) { s.Image = "" }, "image is missing"},
		{"bad name", func(s *Spec) { s.Name = "Test_1" }, `job name "Test_1"`},
		{"long name", func(s *Spec) { s.Name = strings.Repeat("a", 64) }, "must be no more than 63"},
		{"no labels", func(s *Spec) { s.Labels = nil }, "needs labels"},
		{"bad label value", func(s *Spec) { s.Labels = map[string]string{LabelTask: "load test"} }, "label shipgate/task="},
		{"pull policy", func(s *Spec) { s.ImagePullPolicy = "Sometimes" }, `imagePullPolicy "Sometimes"`},
		{"negative ttl", func(s *Spec) { s.TTLSecondsAfterFinished = new(int32(-1)) }, "ttlSecondsAfterFinished"},
		{"env name", func(s *Spec) { s.Env = []EnvVar{{Name: "1X", Value: "v"}} }, `env "1X"`},
		{"env twice", func(s *Spec) { s.Env = []EnvVar{{Name: "X"}, {Name: "X"}} }, "set twice"},
		{"env value and secret", func(s *Spec) { s.Env = []EnvVar{{Name: "X", Value: "v", SecretName: "s", SecretKey: "k"}} }, "not both"},
		{"env secret without key", func(s *Spec) { s.Env = []EnvVar{{Name: "X", SecretName: "s"}} }, "needs both"},
		{"file outside /keptn", func(s *Spec) { s.Files = map[string][]byte{"/etc/passwd": nil} }, "not under /keptn"},
		{"file escaping", func(s *Spec) { s.Files = map[string][]byte{"../x": nil} }, "not a plain path"},
		{"file twice", func(s *Spec) { s.Files = map[string][]byte{"/keptn/a": nil, "a": nil} }, "both mounted at /keptn/a"},
		{"files too big", func(s *Spec) { s.Files = map[string][]byte{"big": make([]byte, MaxFilesSize)} }, "1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			_, err := build(s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := build(ok); err != nil {
		t.Errorf("valid spec refused: %v", err)
	}
}

func TestFilesKeys(t *testing.T) {
	items, data, err := files(map[string][]byte{
		"/keptn/locust/basic.py": []byte("a"),
		"locust_basic.py":        []byte("b"), // sanitises to the same key; paths are taken in sorted order
		"/keptn/dir/with space":  nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range items {
		got[it.Path] = it.Key
	}
	want := map[string]string{"locust/basic.py": "locust_basic.py", "locust_basic.py": "locust_basic.py.2", "dir/with space": "dir_with_space"}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("key of %s = %q, want %q (all: %v)", p, got[p], k, got)
		}
	}
	if string(data["locust_basic.py"]) != "a" || string(data["locust_basic.py.2"]) != "b" || data["dir_with_space"] == nil {
		t.Errorf("data = %q", data)
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in           string
		lines, bytes int
		want         string
	}{
		{"a\nb\nc\n", 2, 100, "b\nc\n"},
		{"a\nb\nc", 2, 100, "b\nc"},
		{"a\nb\n", 5, 100, "a\nb\n"},
		{"aaaa\nbb\ncc\n", 10, 7, "bb\ncc\n"}, // cut inside a line: start at the next one
		{"", 3, 10, ""},
	} {
		if got := tail(tc.in, tc.lines, tc.bytes); got != tc.want {
			t.Errorf("tail(%q, %d, %d) = %q, want %q", tc.in, tc.lines, tc.bytes, got, tc.want)
		}
	}
}

func TestTailBufferKeepsLastBytes(t *testing.T) {
	var b tailBuffer
	b.Write([]byte(strings.Repeat("x", LogTailBytes)))
	b.Write([]byte("end"))
	if s := b.String(); len(s) != LogTailBytes || !strings.HasSuffix(s, "xend") {
		t.Errorf("kept %d bytes ending %q", len(s), s[len(s)-4:])
	}
}

// Whatever paths a job/config.yaml names, the ConfigMap keys are valid and distinct, and every file
// lands under /keptn.
func FuzzFiles(f *testing.F) {
	f.Add("/keptn/locust/basic.py", "locust_basic.py")
	f.Add("a b/c", "../x")
	f.Add("/keptn/.", "..")
	f.Fuzz(func(t *testing.T, a, b string) {
		items, data, err := files(map[string][]byte{a: []byte("1"), b: []byte("2")})
		if err != nil {
			return
		}
		keys := map[string]bool{}
		for _, it := range items {
			if errs := validation.IsConfigMapKey(it.Key); len(errs) > 0 {
				t.Errorf("key %q of %q: %v", it.Key, it.Path, errs)
			}
			if keys[it.Key] {
				t.Errorf("key %q used twice", it.Key)
			}
			keys[it.Key] = true
			if p := path.Join(MountPath, it.Path); !strings.HasPrefix(p, MountPath+"/") || strings.HasPrefix(it.Path, "/") {
				t.Errorf("path %q lands at %s", it.Path, p)
			}
		}
		if len(data) != len(items) {
			t.Errorf("%d keys for %d items", len(data), len(items))
		}
	})
}

func TestFilesKeysOfLongPaths(t *testing.T) {
	long := strings.Repeat("d/", 130) + "f"
	items, _, err := files(map[string][]byte{long: nil, strings.ReplaceAll(long, "/", "_"): nil})
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Key == items[1].Key {
		t.Errorf("both files under key %q", items[0].Key)
	}
	for _, it := range items {
		if errs := validation.IsConfigMapKey(it.Key); len(errs) > 0 {
			t.Errorf("key %q: %v", it.Key, errs)
		}
	}
}
