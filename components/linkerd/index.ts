// linkerd: Linkerd's control plane (which hands out the `mesh` handle) and its identity.
export * from "./controlPlane";
export * from "./identity";
export * from "./identityCerts";
