// README.md and docs/*.md: every relative link reaches a file that exists and, with an #anchor, a
// heading of that file (GitHub's rule: lower case, spaces to '-', other punctuation dropped, a
// repeated heading gets -1, -2); and README stays a page a newcomer reads in ten minutes.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..');
const FILES = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join(ROOT, 'docs', name))];

/** The text outside fenced code blocks and inline code, where links and headings live. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, (code) => code.replace(/[[\]()#]/g, ' '));
}

/** GitHub's anchor of a heading's text. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of text.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const base = anchorOf(match[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

function relativeLinks(file: string): string[] {
  return [...prose(readFileSync(file, 'utf8')).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

test('the anchor rule matches GitHub on the headings these pages have', () => {
  expect(anchorOf('Secrets in git: SOPS with age')).toBe('secrets-in-git-sops-with-age');
  expect(anchorOf("Making the default fleet's staging your own")).toBe('making-the-default-fleets-staging-your-own');
  expect(anchorOf('What must be refused, and every Receiver type')).toBe('what-must-be-refused-and-every-receiver-type');
  expect(anchorOf('Set-up')).toBe('set-up');
});

describe.each(FILES.map((file) => [relative(ROOT, file), file]))('%s', (_name, file) => {
  test('every relative link points to a file that exists, and every #anchor to one of its headings', () => {
    const broken: string[] = [];
    for (const target of relativeLinks(file)) {
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const linked = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      if (!existsSync(linked)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(linked).isDirectory() || !linked.endsWith('.md')) {
        broken.push(`${target}: an anchor into a file that is not Markdown`);
        continue;
      }
      if (!anchorsOf(linked).has(anchor)) broken.push(`${target}: no heading with that anchor`);
    }
    expect(broken).toEqual([]);
  });
});

test('README.md has links to every page under docs/', () => {
  const links = new Set(relativeLinks(join(ROOT, 'README.md')).map((target) => target.split('#')[0]));
  for (const file of FILES.slice(1)) expect([...links]).toContain(relative(ROOT, file));
});

test('README.md stays under 3,000 words', () => {
  const words = readFileSync(join(ROOT, 'README.md'), 'utf8').split(/\s+/).filter((word) => word !== '').length;
  expect(words).toBeLessThan(3000);
});
