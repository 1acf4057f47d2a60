// workloads: the building blocks of an application in the mesh: an injected, default-deny
// namespace and the versioned service with its routing and ALLOW policy.
export * from "./appNamespace";
export * from "./versionedService";
