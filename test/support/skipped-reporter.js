// A jest reporter, after jest's own summary: which tests were skipped and what each needs, so that
// "7 skipped" is never the whole story. A test skipped for a missing tool or feature ends its name
// with `(needs <what>)` (testWith and testNeeding in external-tools.ts); those are grouped by it.
// A skip that gives no reason is listed too, unless a name pattern (-t) was given: jest then skips
// every test it filters out, and listing those would bury the ones that matter.
'use strict';
const { relative } = require('node:path');

const NEEDS = /^(.*) \(needs (.+)\)$/s;

/** The skip list's lines for jest's aggregated results: none when nothing was skipped. */
function skippedLines(results, { rootDir, testNamePattern }) {
  const groups = new Map();
  for (const file of results.testResults) {
    for (const test of file.testResults) {
      if (test.status !== 'pending' && test.status !== 'skipped') continue;
      const match = NEEDS.exec(test.title);
      const needs = match ? match[2] : undefined;
      if (needs === undefined && testNamePattern) continue;
      const name = [relative(rootDir, file.testFilePath), ...test.ancestorTitles, match ? match[1] : test.title].join(' › ');
      if (!groups.has(needs)) groups.set(needs, []);
      groups.get(needs).push(name);
    }
  }
  const lines = [];
  for (const [needs, names] of groups) {
    const count = names.length === 1 ? '1 check' : `${names.length} checks`;
    const reason = needs === undefined ? 'giving no reason' : `${names.length === 1 ? 'needs' : 'need'} ${needs}`;
    lines.push(`skipped: ${count} ${reason}:`, ...names.map((name) => `  ${name}`));
  }
  return lines;
}

class SkippedReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    const lines = skippedLines(results, this.globalConfig);
    // Jest adds its summary reporter after every configured one and calls them in turn, each in a
    // microtask: the next turn of the event loop comes after its "Tests: ... skipped" line.
    if (lines.length > 0) setImmediate(() => process.stderr.write(`${lines.join('\n')}\n`));
  }
}

module.exports = SkippedReporter;
module.exports.skippedLines = skippedLines;
