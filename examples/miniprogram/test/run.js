// npm test. The tests need a live wxbackend and WeChat sandbox:
//   - with WXB_BACKEND_URL and WXB_SANDBOX_URL set (your `make run`, or the Go
//     test), it runs test/*.test.js against them with node's test runner;
//   - without them, it runs the Go test beside this directory
//     (harness_test.go), which starts both, with a fresh SQLite database, and
//     calls npm test back with the two set.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = path.join(__dirname, '..');

function exit(res, what) {
  if (res.error) {
    const missing = res.error.code === 'ENOENT' ? ` (${what} is not installed or not on PATH)` : '';
    console.error(`npm test: ${res.error.message}${missing}`);
    process.exit(1);
  }
  process.exit(res.status === null ? 1 : res.status);
}

if (process.env.WXB_BACKEND_URL && process.env.WXB_SANDBOX_URL) {
  if (!fs.existsSync(path.join(here, 'node_modules', 'miniprogram-simulate'))) {
    console.error('npm test: the dependencies are not installed: run npm ci in examples/miniprogram first');
    process.exit(1);
  }
  // Only this directory's *.test.js: seed/ holds the seed's page code, which
  // is run by seed.test.js, not a test of its own.
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('test', f));
  // npm test -- ARGS passes ARGS to node's test runner (--test-name-pattern=…).
  exit(spawnSync(process.execPath, ['--test', ...process.argv.slice(2), ...files], { cwd: here, stdio: 'inherit' }), 'node');
}

console.error(`npm test: WXB_BACKEND_URL and WXB_SANDBOX_URL are not set, so the Go test starts wxbackend and the
WeChat sandbox and runs these tests against them (go test -v -run TestExampleMiniProgram ./examples/miniprogram).
Against your own make run instead:
  WXB_BACKEND_URL=http://127.0.0.1:8080 WXB_SANDBOX_URL=http://127.0.0.1:8090 WXB_GATEWAY=1 npm test
`);
exit(spawnSync('go', ['test', '-count=1', '-v', '-run', '^TestExampleMiniProgram', './examples/miniprogram/'], {
  cwd: path.join(here, '..', '..'),
  stdio: 'inherit',
}), 'Go, which starts the backend for the tests,');
