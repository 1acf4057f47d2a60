// istio: the control plane (which hands out the `mesh` handle) and the ingress gateway.
export * from "./controlPlane";
export * from "./ingressGateway";
export * from "./revisionTags";
export * from "./egressGateway";
