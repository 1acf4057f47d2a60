// The benchmark's big stack: the control plane and N versioned services (v1 and v2, split by
// `canary.weights` like the demo backend), built from the product's own components and config.
// `npm run bench` deploys it for several N (config `bench:services`) to show how cold `up`,
// no-op `preview` and a one-weight shift grow with the number of services.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { backendWorkload } from "../../components/apps/demoWorkloads";
import { readRawConfig, validateConfig } from "../../components/config";
import { IstioControlPlane } from "../../components/istio";
import {
  AppNamespace,
  servicePrincipal,
  VersionedService,
} from "../../components/workloads";

const config = validateConfig(readRawConfig(pulumi.getProject()));
const services = new pulumi.Config("bench").requireNumber("services");
const provider = new k8s.Provider("k8s", {});

const { mesh } = new IstioControlPlane(
  "istio",
  {
    istio: config.istio,
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

for (let i = 0; i < services; i++) {
  const name = `svc-${String(i).padStart(3, "0")}`;
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
      allow: [
        {
          principals: [servicePrincipal(config.appNamespace, "client")],
          methods: ["GET"],
        },
      ],
      workload: (version) => backendWorkload(config.images.backend, version),
    },
    { provider },
  );
}
