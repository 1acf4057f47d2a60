// The stack output `services` (index.ts), which `npm run rollout -- --service` and `npm run
// traffic -- --service` read: one shape for the program that writes it and the tools that read it.

/** What Istio's metrics call one version's pods (canonical service and revision), or why that is unknown. */
export type VersionMetrics =
  | { readonly service: string; readonly revision: string }
  | { readonly unknown: string };

/** `services.<name>`: where a declared service is, the split the last `up` deployed, its metrics' names. */
export interface DeclaredServiceOutput {
  readonly namespace: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: "http" | "http2" | "grpc" | "tcp";
  readonly weights: Readonly<Record<string, number>>;
  readonly routeOnly: boolean;
  /** The path the ingress routes to it, or null. */
  readonly ingressPath: string | null;
  readonly metrics: Readonly<Record<string, VersionMetrics>>;
}
