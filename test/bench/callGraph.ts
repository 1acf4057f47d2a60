// Who calls whom in the benchmark's big stack (bigStack.ts deploys it, scale.ts measures it): each
// service svc-i admits the next three, svc-(i+1), svc-(i+2) and svc-(i+3) (mod N, never itself),
// so each service calls three others and svc-000, the one that follows `canary.weights` (the
// shift the benchmark times), is called by svc-001, svc-002 and svc-003.
// Plain TypeScript, no imports: `npm run bench` copies it beside bigStack.ts into the project copy.

/** Callers per service. */
export const CALLERS_PER_SERVICE = 3;

/** The name of service i: svc-000, svc-001... */
export function serviceName(i: number): string {
  return `svc-${String(i).padStart(3, "0")}`;
}

/** The indexes of the services whose principals svc-i's ALLOW policy admits, in order, each once. */
export function callersOf(i: number, n: number): number[] {
  const callers: number[] = [];
  for (let k = 1; k <= CALLERS_PER_SERVICE; k++) {
    const c = (i + k) % n;
    if (c !== i && !callers.includes(c)) {
      callers.push(c);
    }
  }
  return callers;
}

/** The indexes of the services svc-i calls (those whose policies admit it), ascending. */
export function calleesOf(i: number, n: number): number[] {
  const callees: number[] = [];
  for (let j = 0; j < n; j++) {
    if (callersOf(j, n).includes(i)) {
      callees.push(j);
    }
  }
  return callees;
}
