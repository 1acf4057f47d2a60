// workloads: the building blocks of an application in the mesh: an injected, default-deny
// namespace, the versioned service with its routing and ALLOW policy, and the Sidecars that scope
// each proxy to what it calls.
export * from "./appNamespace";
export * from "./versionedService";
export * from "./proxyScopes";
