// dependsOn between apps: the order Flux applies them in must have no cycle. No I/O.

/** The first dependsOn cycle among `apps` (names, first repeated at the end), if any; self-dependencies are reported apart. */
export function dependencyCycle(apps: readonly { name: string; dependsOn?: string[] }[]): string[] | undefined {
  const edges = new Map(apps.map((app) => [app.name, (app.dependsOn ?? []).filter((name) => name !== app.name)]));
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (trail.includes(name)) return [...trail.slice(trail.indexOf(name)), name];
    if (done.has(name)) return undefined;
    for (const next of edges.get(name) ?? []) {
      const cycle = visit(next, [...trail, name]);
      if (cycle) return cycle;
    }
    done.add(name);
    return undefined;
  };
  for (const app of apps) {
    const cycle = visit(app.name, []);
    if (cycle) return cycle;
  }
  return undefined;
}
