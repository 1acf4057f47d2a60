// config: stack config in, a validated MeshConfig out. Registers nothing; imports only core/.
export * from "./app";
export * from "./bookinfo";
export * from "./egress";
export { ConfigError } from "./checker";
export * from "./clusterChecks";
export * from "./gatewayApiCrds";
export * from "./istio";
export * from "./istioInstalled";
export * from "./istioRevisions";
export * from "./istioReleases";
export * from "./meshConfig";
export * from "./observability";
export * from "./read";
export * from "./resilience";
export * from "./routing";
export * from "./security";
export * from "./serviceGraph";
export * from "./services";
