// Every test's temporary files go below one folder, made here and removed after the run, so that
// `npm test` leaves the system's temp folder as it found it (test private keys included). Workers
// and the processes tests start inherit TMPDIR, which os.tmpdir() reads.
const { execFileSync } = require('node:child_process');
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async () => {
  const root = mkdtempSync(join(tmpdir(), 'flux-infra-test-'));
  process.env.FLUX_INFRA_TEST_TMPDIR = root;
  process.env.TMPDIR = root;
  // The commands' bundles, built once here rather than by the first tests that start them, all at once.
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'tools', 'launch.cjs'), '--build'], { stdio: 'inherit' });
};
