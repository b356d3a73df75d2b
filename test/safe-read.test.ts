// The one reader for files flux-infra did not write itself: links, FIFOs, devices, oversized files
// and invalid UTF-8 are refused in one line, and nothing blocks or reads without end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRegularFile, readRegularFileBytes, UnsafeFileError } from '../lib/io/safe-read';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'flux-infra-safe-read-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

test('reads a regular file, and undefined for a missing one', () => {
  writeFileSync(join(folder, 'a'), 'hello\n');
  expect(readRegularFile(join(folder, 'a'))).toBe('hello\n');
  expect(readRegularFile(join(folder, 'missing'))).toBeUndefined();
});

test('reads a file of exactly the limit, and fails one byte over it', () => {
  writeFileSync(join(folder, 'a'), 'x'.repeat(10));
  expect(readRegularFileBytes(join(folder, 'a'), { maxBytes: 10 })?.length).toBe(10);
  expect(() => readRegularFileBytes(join(folder, 'a'), { maxBytes: 9, what: 'the fleet file' })).toThrow(/^the fleet file is 10 bytes, over the 9 bytes flux-infra reads/);
});

test('fails on a symbolic link, even one to a regular file, naming it', () => {
  writeFileSync(join(folder, 'target'), 'secret');
  symlinkSync(join(folder, 'target'), join(folder, 'link'));
  expect(() => readRegularFile(join(folder, 'link'))).toThrow(UnsafeFileError);
  expect(() => readRegularFile(join(folder, 'link'))).toThrow(/link is a symbolic link, which flux-infra never follows/);
});

test('fails on a link to /dev/zero at once, without reading it', () => {
  symlinkSync('/dev/zero', join(folder, 'zero'));
  expect(() => readRegularFile(join(folder, 'zero'))).toThrow(/symbolic link/);
});

test('fails on a device and a folder instead of reading them', () => {
  expect(() => readRegularFile('/dev/zero')).toThrow(/is not a regular file/);
  expect(() => readRegularFile(folder)).toThrow(/is not a regular file/);
});

test('fails on a FIFO with no writer instead of hanging', () => {
  execFileSync('mkfifo', [join(folder, 'fifo')]);
  expect(() => readRegularFile(join(folder, 'fifo'), { what: 'the lock' })).toThrow(/^the lock is not a regular file/);
});

test('fails in one line where a folder above the file is a file', () => {
  writeFileSync(join(folder, 'a'), 'not a folder');
  expect(() => readRegularFile(join(folder, 'a', 'b'), { what: '.sops.yaml' })).toThrow('cannot read .sops.yaml (ENOTDIR): check that it and the folders above it can be read');
});

test('fails on invalid UTF-8 instead of writing U+FFFD', () => {
  writeFileSync(join(folder, 'a'), Buffer.from([0x61, 0xff, 0x62]));
  expect(() => readRegularFile(join(folder, 'a'), { what: 'fleet.yaml' })).toThrow('fleet.yaml is not valid UTF-8: save it as UTF-8');
  expect(readRegularFileBytes(join(folder, 'a'))).toEqual(Buffer.from([0x61, 0xff, 0x62]));
});
