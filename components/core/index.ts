// core: the ground floor. Shared types, names, labels and durations, the typed Istio API, the
// control-plane handle, and the one helper each for an Istio resource and a Helm release. It
// imports nothing of this project outside core/.
export * from "./chartRelease";
export * from "./duration";
export * from "./gatewayApi";
export * from "./istioApi";
export * from "./istioPolicyApi";
export * from "./istioResource";
export * from "./labels";
export * from "./linkerdApi";
export * from "./mesh";
export * from "./names";
export * from "./ownership";
export * from "./resources";
export * from "./routingPolicy";
export * from "./serviceOutput";
