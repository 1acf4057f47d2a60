// A small evaluator of the AuthorizationPolicy fields this stack emits (ALLOW rules with source
// principals, methods and Istio path patterns), so tests can ask "is this call admitted?" instead
// of comparing lists. Istio semantics: a request is allowed when any rule matches; inside a rule,
// every given field must match; an exact path, `prefix*` or `*suffix`.

export interface Call {
  readonly principal: string;
  readonly method: string;
  readonly path: string;
}

function pathMatches(pattern: string, path: string): boolean {
  if (pattern === "*") {
    return true;
  }
  if (pattern.endsWith("*")) {
    return path.startsWith(pattern.slice(0, -1));
  }
  if (pattern.startsWith("*")) {
    return path.endsWith(pattern.slice(1));
  }
  return path === pattern;
}

const anyOf = <T>(list: T[] | undefined, pred: (x: T) => boolean) =>
  list === undefined || list.some(pred);

/** True when an ALLOW policy spec admits the call (principals without the spiffe:// scheme). */
export function admits(spec: any, call: Call): boolean {
  if (spec.action !== "ALLOW") {
    throw new Error(`not an ALLOW policy: ${JSON.stringify(spec)}`);
  }
  return (spec.rules ?? []).some(
    (rule: any) =>
      anyOf(rule.from, (f: any) =>
        anyOf(f.source?.principals, (p: string) => p === call.principal),
      ) &&
      anyOf(
        rule.to,
        (t: any) =>
          anyOf(t.operation?.methods, (m: string) => m === call.method) &&
          anyOf(t.operation?.paths, (p: string) => pathMatches(p, call.path)),
      ),
  );
}
