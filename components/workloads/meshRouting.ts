// A VersionedService's routing on the mesh behind its `mesh` handle: Istio's (serviceRouting.ts:
// DestinationRules, a VirtualService or an HTTPRoute, ALLOW policies) or Linkerd's
// (linkerdRouting.ts: an HTTPRoute, a Server and its authorization). One entry point, so the
// component stays the same for every mesh.
import {
  createLinkerdRouting,
  type LinkerdRoutingArgs,
} from "./linkerdRouting";
import {
  createServiceRouting,
  type MeshRouting,
  type ServiceRoutingArgs,
} from "./serviceRouting";

export function createMeshRouting(
  a: ServiceRoutingArgs & LinkerdRoutingArgs,
): MeshRouting {
  return a.mesh.provider === "linkerd"
    ? createLinkerdRouting(a)
    : createServiceRouting(a);
}
