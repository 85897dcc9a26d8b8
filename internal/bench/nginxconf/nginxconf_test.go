package nginxconf

import (
	"strings"
	"testing"
)

func TestMain_OneProcessOrMasterAndWorkers(t *testing.T) {
	one := Main("/tmp/x", 0, "info", 64)
	for _, want := range []string{"daemon off;\nmaster_process off;\npid /tmp/x/nginx.pid;", "error_log /tmp/x/error.log info;", "worker_connections 64;", "include /tmp/x/site.conf;"} {
		if !strings.Contains(one, want) {
			t.Errorf("one process: lacks %q:\n%s", want, one)
		}
	}
	if strings.Contains(one, "worker_processes") {
		t.Errorf("one process names workers:\n%s", one)
	}
	two := Main("/tmp/y", 2, "warn", 4096)
	if !strings.Contains(two, "master_process on;\nworker_processes 2;\npid /tmp/y/nginx.pid;") {
		t.Errorf("master and workers:\n%s", two)
	}
}
