package exec

import (
	"testing"

	"github.com/shipgate/shipgate/store"
)

// BenchmarkExecTrue measures what the executor adds to a command: preparing the working directory from
// the test project's service files, the environment, starting /bin/true in its own process group,
// collecting the result, and removing the directory.
func BenchmarkExecTrue(b *testing.B) {
	x := testExecutor(b)
	task := newTask(map[string]any{"command": []any{"/bin/true"}})
	task.ProjectConfig = testProject(b)
	for b.Loop() {
		res, err := x.Execute(b.Context(), task)
		if err != nil || res.Result != store.ResultPass {
			b.Fatalf("Execute: %v %+v", err, res)
		}
	}
}
