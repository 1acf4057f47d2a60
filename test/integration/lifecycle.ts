// What a cold `up` must have created and what `destroy` must leave behind, read from the API
// server itself.
import {
  check,
  HELM_RELEASES,
  ISTIO_CRDS,
  kube,
  log,
  StackObject,
} from "./harness";
import { KubeObject } from "./kubeClient";
import { eventually } from "./controlPlane";

/** Every object of the stack is in the API server, with the CRDs and the Helm releases. */
export async function checkUpCreatedEverything(
  objects: StackObject[],
): Promise<void> {
  check(objects.length > 10, `only ${objects.length} objects in the stack`);
  for (const o of objects) {
    check(
      await kube.get(o.path),
      `${o.urn} is not in the API server (${o.path})`,
    );
  }
  const crds = (
    await kube.list("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
  ).map((c) => c.metadata.name);
  for (const crd of ISTIO_CRDS) {
    check(crds.includes(crd), `CRD ${crd} is not registered`);
  }
  for (const [ns, rel] of HELM_RELEASES) {
    const secrets = await kube.list(
      `/api/v1/namespaces/${ns}/secrets?labelSelector=owner%3Dhelm,name%3D${rel}`,
    );
    check(secrets.length > 0, `Helm release ${ns}/${rel} is not recorded`);
  }
  const istioObjects = objects.filter((o) => o.path.includes(".istio.io/"));
  check(istioObjects.length >= 5, `only ${istioObjects.length} Istio objects`);
  log(
    `${objects.length} stack objects found in the API server, ${istioObjects.length} of them Istio resources`,
  );
}

const APP_NAMESPACES = [
  "mesh-demo",
  "bookinfo",
  "istio-ingress",
  "istio-system",
];

/**
 * Nothing of the stack is left: its objects, its namespaces (which only go once every pod's
 * deletion has completed), Istio's webhooks, and any object stored in Istio's CRDs. The CRDs
 * themselves stay: the base chart marks them helm.sh/resource-policy=keep, so uninstalling
 * Istio never deletes everyone's Istio config with them.
 */
export async function checkDestroyed(objects: StackObject[]): Promise<void> {
  // Namespaces finish terminating only after their pods are gone (KWOK completes deletions);
  // whatever is still there after two minutes is reported below.
  await eventually(
    "the stack's namespaces terminating",
    async () => {
      for (const ns of APP_NAMESPACES) {
        check(!(await kube.get(`/api/v1/namespaces/${ns}`)), `${ns} remains`);
      }
    },
    120_000,
  ).catch(() => undefined);
  const leftovers: string[] = [];
  for (const o of objects) {
    const present = Boolean(await kube.get(o.path));
    if (isSharedCrd(o.path)) {
      // The Gateway API CRDs are the cluster's: deleting one deletes every team's objects of
      // its kind, so the stack retains them (retainOnDelete).
      check(
        present,
        `the Gateway API CRD ${o.path} was deleted with the stack`,
      );
    } else if (present) {
      leftovers.push(o.path);
    }
  }
  for (const ns of APP_NAMESPACES) {
    if (await kube.get(`/api/v1/namespaces/${ns}`)) {
      leftovers.push(`namespace ${ns}`);
    }
  }
  const podsLeft = (await kube.list("/api/v1/pods")).filter((p) =>
    APP_NAMESPACES.includes(p.metadata.namespace ?? ""),
  );
  leftovers.push(
    ...podsLeft.map((p) => `pod ${p.metadata.namespace}/${p.metadata.name}`),
  );
  const crds = (
    await kube.list("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
  ).filter((c) => c.metadata.name.endsWith(".istio.io"));
  for (const crd of crds) {
    if (crd.metadata.annotations?.["helm.sh/resource-policy"] !== "keep") {
      leftovers.push(`CRD ${crd.metadata.name}`);
    }
    const version = crd.spec.versions.find(
      (v: { storage: boolean }) => v.storage,
    ).name;
    const stored = await kube.list(
      `/apis/${crd.spec.group}/${version}/${crd.spec.names.plural}`,
    );
    leftovers.push(
      ...stored.map(
        (o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`,
      ),
    );
  }
  const hooks = [
    ...(await kube.list(
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    )),
    ...(await kube.list(
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
    )),
  ].map((w: KubeObject) => w.metadata.name);
  leftovers.push(...hooks.filter((h) => h.includes("istio")));
  check(leftovers.length === 0, `left behind: ${leftovers.join(", ")}`);
  log(
    `nothing left; ${crds.length} Istio CRDs kept by helm.sh/resource-policy=keep, none holding objects`,
  );
}

/** A Gateway API CRD, which outlives the stack. */
export function isSharedCrd(path: string): boolean {
  return /\/customresourcedefinitions\/[^/]+\.gateway\.networking\.k8s\.io$/.test(
    path,
  );
}
