// specs: pure builders of what the stack emits, as typed data: Istio specs, Helm chart values,
// hardened pod and Deployment specs. Registers nothing; imports core/ and config/ types.
export * from "./addons";
export * from "./addonValues";
export * from "./egress";
export * from "./gatewayApiRouting";
export * from "./istioValues";
export * from "./linkerd";
export * from "./mergeValues";
export * from "./networkPolicy";
export * from "./rateLimit";
export * from "./revisions";
export * from "./routing";
export * from "./scoping";
export * from "./security";
export * from "./tracing";
export * from "./workload";
