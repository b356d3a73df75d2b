// `npm test`: the type-check (TypeScript 7's native tsc) and the test suite (jest) side by side,
// since neither needs the other's output; fails when either fails. Arguments go to jest.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

function run(label, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (error) => {
      process.stderr.write(`${label}: ${error.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

Promise.all([
  run('type-check', [path.join(ROOT, 'node_modules', 'typescript-native', 'bin', 'tsc'), '--noEmit', '--pretty', 'false']),
  run('jest', [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), ...process.argv.slice(2)]),
]).then(([typeCheck, tests]) => {
  if (typeCheck !== 0) process.stderr.write('type-check failed (see tsc\'s lines above)\n');
  process.exitCode = typeCheck !== 0 ? typeCheck : tests;
});
