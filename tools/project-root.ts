// The project's folder for commands that run from a bundle in node_modules/.cache (tools/launch.cjs),
// where `__dirname/..` is not the project.
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';

/** The nearest folder above `from` that holds a package.json and is not inside node_modules. */
export function projectRoot(from: string): string {
  for (let folder = from; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json')) && !folder.includes(`${sep}node_modules${sep}`) && !folder.endsWith(`${sep}node_modules`)) return folder;
    if (dirname(folder) === folder) throw new Error(`no package.json above ${from}`);
  }
}
