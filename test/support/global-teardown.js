// Removes the folder global-setup.js made for the run's temporary files.
const { rmSync } = require('node:fs');

module.exports = async () => {
  const root = process.env.FLUX_INFRA_TEST_TMPDIR;
  if (root) rmSync(root, { recursive: true, force: true });
};
