// The benchmark's big stack: the control plane and N versioned services (v1 and v2, split by
// `canary.weights` like the demo backend), built from the product's own components and config.
// `npm run bench` deploys it for several N (config `bench:services`) to show how cold `up`,
// no-op `preview` and a one-weight shift grow with the number of services, and (scale.ts) what
// istiod sends one proxy with and without `routing.scopeProxies`.
//
// The services call each other (callGraph.ts): svc-i's ALLOW policy admits svc-(i+1..i+3), so
// each calls three others, and with scoping on each gets a Sidecar importing exactly those, built
// as index.ts builds it.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { backendWorkload } from "../../components/apps/demoWorkloads";
import { readRawConfig, validateConfig } from "../../components/config";
import { IstioControlPlane } from "../../components/istio";
import {
  AppNamespace,
  ProxyScopes,
  servicePrincipal,
  VersionedService,
} from "../../components/workloads";
import { callersOf, serviceName } from "./callGraph";

const config = validateConfig(readRawConfig(pulumi.getProject()));
const services = new pulumi.Config("bench").requireNumber("services");
const provider = new k8s.Provider("k8s", {});

const { mesh } = new IstioControlPlane(
  "istio",
  {
    istio: config.istio,
    routing: config.routing,
    mtlsMode: config.security.mtlsMode,
    cni: config.security.cni,
    tracing: false,
    skipAwait: config.skipAwait,
  },
  { provider },
);
const ns = new AppNamespace(
  "bench-ns",
  { mesh, name: config.appNamespace },
  { provider },
);

const all: VersionedService[] = [];
for (let i = 0; i < services; i++) {
  const name = serviceName(i);
  all.push(
    new VersionedService(
      name,
      {
        mesh,
        namespace: config.appNamespace,
        // Only the first service follows canary.weights: the shift the benchmark times.
        versions:
          i === 0
            ? config.canary.weights
            : [
                { version: "v1", weight: 90 },
                { version: "v2", weight: 10 },
              ],
        dependsOn: [ns.namespace],
        // Its callers, one rule (none with a single service: nobody may call it).
        allow: [callersOf(i, services)]
          .filter((callers) => callers.length > 0)
          .map((callers) => ({
            principals: callers.map((c) =>
              servicePrincipal(config.appNamespace, serviceName(c)),
            ),
            methods: ["GET"],
          })),
        workload: (version) => backendWorkload(config.images.backend, version),
      },
      { provider },
    ),
  );
}

// As index.ts: each sidecar imports only what it calls.
if (mesh.scopeProxies && mesh.dataplane === "sidecar") {
  new ProxyScopes(
    "scopes",
    { mesh, services: all, external: [] },
    { provider },
  );
}
