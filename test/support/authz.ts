// A small evaluator of the AuthorizationPolicy fields this stack emits (ALLOW rules with source
// principals, methods and Istio path patterns), so tests can ask "is this call admitted?" instead
// of comparing lists. Istio semantics: a request is allowed when any rule matches; inside a rule,
// every given field must match; an exact path, `prefix*` or `*suffix`.
import type { AuthorizationPolicySpec } from "../../components/core";

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

/** True when the list is absent (the field is not constrained) or any item matches. */
const anyOf = <T>(list: readonly T[] | undefined, pred: (x: T) => boolean) =>
  list === undefined || list.some(pred);

/** True when an ALLOW policy spec admits the call (principals without the spiffe:// scheme). */
export function admits(spec: AuthorizationPolicySpec, call: Call): boolean {
  if (spec.action !== "ALLOW") {
    throw new Error(`not an ALLOW policy: ${JSON.stringify(spec)}`);
  }
  return (spec.rules ?? []).some(
    (rule) =>
      anyOf(rule.from, (f) =>
        anyOf(f.source.principals, (p) => p === call.principal),
      ) &&
      anyOf(
        rule.to,
        (t) =>
          anyOf(t.operation.methods, (m) => m === call.method) &&
          anyOf(t.operation.paths, (p) => pathMatches(p, call.path)),
      ),
  );
}
