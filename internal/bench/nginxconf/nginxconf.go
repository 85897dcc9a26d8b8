// Package nginxconf writes the main configuration file that runs nginx
// unprivileged in a directory of its own, in front of a site configuration
// (docs/proxies/nginx.conf with its addresses replaced): what the forward-auth
// tests and make bench's gateway part both start.
package nginxconf

import "fmt"

// Main returns an nginx.conf that keeps nginx in the foreground, writes
// nothing outside dir (pid, error log at errorLevel, temporary files), logs
// no access, and includes dir/site.conf. workers 0 runs one process (no
// master); more runs a master and that many workers, whose process tree is
// then all of nginx.
func Main(dir string, workers int, errorLevel string, connections int) string {
	procs := "master_process off;\n"
	if workers > 0 {
		procs = fmt.Sprintf("master_process on;\nworker_processes %d;\n", workers)
	}
	return fmt.Sprintf(`daemon off;
%[2]spid %[1]s/nginx.pid;
error_log %[1]s/error.log %[3]s;
events { worker_connections %[4]d; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`, dir, procs, errorLevel, connections)
}
