// Rendering one component on its own: stand-ins for the control plane's parts, one provider, and
// the check every component must pass (each child owned by it and on that provider).
import * as assert from "assert";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  type Dataplane,
  type Mesh,
  needsGatewayApi,
  type RoutingApi,
} from "../../components/core";
import { ref } from "./finders";
import { render, type RecordedResource, type Rendering } from "./mocks";

const STAND_IN = "test:stand-in:Part";

/** `type::name` of the stand-ins, as dependsOn records them. */
export const STAND_INS = {
  crds: `${STAND_IN}::crds`,
  istiod: `${STAND_IN}::istiod`,
  rootNamespace: `${STAND_IN}::root-ns`,
};

/** What a component is built with. */
export interface Stage {
  readonly mesh: Mesh;
  readonly provider: k8s.Provider;
}

/**
 * Renders what `build` makes, given a mesh of stand-ins (plain component resources in place of
 * the base and istiod releases and the root namespace) and a Kubernetes provider.
 */
export function renderComponent(
  build: (stage: Stage) => void,
  options: {
    skipAwait?: boolean;
    dataplane?: Dataplane;
    routingApi?: RoutingApi;
    scopeProxies?: boolean;
  } = {},
): Promise<Rendering> {
  return render(() => {
    const part = (name: string) => new pulumi.ComponentResource(STAND_IN, name);
    const istiod = part("istiod");
    const dataplane = options.dataplane ?? "sidecar";
    const routingApi = options.routingApi ?? "istio";
    const mesh: Mesh = {
      crds: part("crds"),
      istiod,
      dataPlane: dataplane === "ambient" ? part("ztunnel") : istiod,
      gatewayApiCrds: needsGatewayApi(dataplane, routingApi)
        ? part("gateway-api-crds")
        : undefined,
      rootNamespace: part("root-ns"),
      dataplane,
      routingApi,
      scopeProxies: options.scopeProxies ?? true,
      skipAwait: options.skipAwait ?? false,
    };
    build({ mesh, provider: new k8s.Provider("k8s", {}) });
  });
}

/** The resources `component` owns, directly or through its own children. */
export function ownedBy(
  r: Rendering,
  component: RecordedResource<unknown>,
): RecordedResource[] {
  const byRef = new Map(r.resources.map((x) => [ref(x), x]));
  const owner = ref(component);
  const isOwned = (x: RecordedResource): boolean => {
    for (let p = x.parent; p !== undefined; p = byRef.get(p)?.parent) {
      if (p === owner) {
        return true;
      }
    }
    return false;
  };
  return r.resources.filter(isOwned);
}

/**
 * Every resource of the rendering but the stand-ins, the provider and the stack is owned by the
 * one component of type `type`, and every Kubernetes object uses the provider it was given.
 */
export function assertOwnsEverything(r: Rendering, type: string): void {
  const [component] = r.resources.filter((x) => x.type === type);
  assert.ok(component, `no ${type} was registered`);
  const owned = new Set(ownedBy(r, component).map(ref));
  const rest = r.resources.filter(
    (x) =>
      x !== component &&
      x.type !== STAND_IN &&
      x.type !== "pulumi:pulumi:Stack" &&
      !x.type.startsWith("pulumi:providers:"),
  );
  assert.ok(rest.length > 0);
  for (const x of rest) {
    assert.ok(owned.has(ref(x)), `${ref(x)} is not a child of the ${type}`);
    if (x.custom && x.type.startsWith("kubernetes:")) {
      assert.match(
        x.provider ?? "",
        /pulumi:providers:kubernetes::k8s::k8s-id$/,
        `${ref(x)} does not use the provider it was given`,
      );
    }
  }
}
