// References between the objects of one cluster, by name. No I/O.

/** Why `name` is no `kind` of the cluster (the names it has), or undefined when it is one. */
export function unknownReferenceProblem(kind: string, name: string, known: Iterable<string>): string | undefined {
  const names = [...known];
  return names.includes(name) ? undefined : `${kind} "${name}" does not exist in this cluster (known: ${names.join(', ') || 'none'})`;
}
