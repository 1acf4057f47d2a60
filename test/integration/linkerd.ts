// Scenarios 45-50 (IT_ONLY=linkerd): the demo on mesh.provider linkerd, on a stack of its own.
// Linkerd's charts at edge-26.8.3 (the vendored copies users install from helm.linkerd.io/edge,
// patched by build-linkerd.sh only so their webhooks name URLs on 127.0.0.1) go through the real
// engine and Helm; Linkerd's Go control plane (identity, destination, proxy-injector,
// sp-validator), built from the same tag, runs on loopback (linkerd-up.sh) and does the rest:
// it injects the demo's pods, certifies a pod's ServiceAccount and serves each Service's
// endpoints. HTTPRoute weights and authorization are the Rust policy controller's, which cannot
// be built here: they are checked as the API server holds them (L2).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { type EngineEvent, LocalWorkspace } from "@pulumi/pulumi/automation";
import {
  changesOf,
  check,
  env,
  kube,
  log,
  pulumiLog,
  record,
  type StackObject,
  stackObjects,
  step,
  timed,
  WORK,
} from "./harness";
import { eventually } from "./controlPlane";
import { SERVICES_CONFIG, SHOP } from "./declaredServices";
import { isSharedCrd } from "./lifecycle";
import type { KubeObject } from "./kubeClient";
import { footprint, type PodLike } from "../bench/footprint";

/** The group's scenarios, all on one stack (the last destroys it). */
export const LINKERD_SCENARIOS = 6;

const STACK = "linkerd";
const DEMO = "mesh-demo";
const LINKERD_NS = "linkerd";
const TRUST_DOMAIN = "cluster.local";
const PROXY_VERSION = "edge-26.8.3";
/** The app pods by namespace, as app-version. */
const APP_PODS: Record<string, string[]> = {
  [DEMO]: ["frontend-v1", "backend-v1", "backend-v2"],
  [SHOP]: ["orders-v1", "orders-v2", "payments-v1"],
};
const RELEASES = ["linkerd-crds", "linkerd-control-plane"];
const HTTPROUTE = (name: string, ns = DEMO) =>
  `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/${name}`;

const kubectl = (...args: string[]) =>
  execFileSync("kubectl", args, { encoding: "utf8", stdio: "pipe" });

/** Linkerd's name for a ServiceAccount's identity (its proxies' certificates carry it). */
const identityOf = (sa: string, ns: string) =>
  `${sa}.${ns}.serviceaccount.identity.${LINKERD_NS}.${TRUST_DOMAIN}`;

/**
 * The stack's config: the demo on Linkerd, the test bed's chart copies and the offline Gateway
 * API CRDs, and the test bed's values (linkerd.values, the escape hatch users have too): the
 * webhooks call the local processes by URL and trust the test bed's CA, whose certificates those
 * processes serve (the chart's own webhook Secrets go unused), and the control plane's simulated pods turn
 * Ready only once the local processes answer (kwok-stages.yaml's readiness gate).
 */
function stackConfig(): Array<[string, string]> {
  const cp = "linkerd.values.controlPlane";
  const ca = fs.readFileSync(env("LINKERD_WEBHOOK_CA_PEM_FILE"), "utf8");
  const hooks: Array<[string, string]> = [
    ["proxyInjector", "LINKERD_INJECTOR_URL"],
    ["profileValidator", "LINKERD_SP_VALIDATOR_URL"],
    ["policyValidator", "LINKERD_POLICY_VALIDATOR_URL"],
  ];
  return [
    ["mesh.provider", "linkerd"],
    ["demo.enabled", "true"],
    // The demo 80/20 and scenarios 28-31's orders and payments, without what Linkerd refuses
    // (orders' ingress caller and path) and without route-only legacy.
    ...SERVICES_CONFIG.filter(
      ([k]) =>
        !k.startsWith("services.legacy.") &&
        k !== "services.orders.ingress.path" &&
        k !== "services.orders.callers[1]",
    ),
    ["linkerd.chartDir", env("LINKERD_CHARTS")],
    ["routing.gatewayApiCrdsFile", env("GATEWAY_API_CRDS")],
    [`${cp}.podAnnotations["testbed.local/ready-when"]`, "linkerd"],
    ...hooks.flatMap(([hook, url]): Array<[string, string]> => [
      [`${cp}.testbedWebhookURLs.${hook}`, env(url)],
      [`${cp}.${hook}.caBundle`, ca],
    ]),
  ];
}

/** The containers Linkerd's injector added to a pod, and the proxy's identity and version. */
function injection(pod: KubeObject) {
  const containers = (pod.spec.containers ?? []) as Array<any>;
  const inits = (pod.spec.initContainers ?? []) as Array<any>;
  const proxy = [...inits, ...containers].find(
    (c) => c.name === "linkerd-proxy",
  );
  const envOf = (name: string) =>
    (proxy?.env ?? []).find((e: any) => e.name === name)?.value;
  return {
    proxy,
    init: inits.some((c) => c.name === "linkerd-init"),
    version: pod.metadata.annotations?.["linkerd.io/proxy-version"],
    identity: envOf("LINKERD2_PROXY_IDENTITY_LOCAL_NAME"),
    ready: (pod.status?.conditions ?? []).some(
      (c: any) => c.type === "Ready" && c.status === "True",
    ),
  };
}

async function appPods(): Promise<KubeObject[]> {
  const pods: KubeObject[] = [];
  for (const ns of Object.keys(APP_PODS)) {
    pods.push(
      ...(await kube.list(`/api/v1/namespaces/${ns}/pods`)).filter(
        (p) => !p.metadata.deletionTimestamp,
      ),
    );
  }
  return pods;
}

/** The resident memory of each local Linkerd component (linkerd-up.sh's pid files), in MiB. */
function controllerMemory(): string {
  return ["identity", "destination", "proxy-injector", "sp-validator"]
    .map((c) => {
      const pidFile = path.join(env("LINKERD_DIR_KUBE"), `linkerd-${c}.pid`);
      const pid = fs.readFileSync(pidFile, "utf8").trim();
      const rss = /VmRSS:\s+(\d+) kB/.exec(
        fs.readFileSync(`/proc/${pid}/status`, "utf8"),
      );
      return `${c} ${rss ? Math.round(Number(rss[1]) / 1024) : "?"}Mi`;
    })
    .join(", ");
}

/** Runs the test bed's probe (test/testbed/go/linkerd-probe) and parses its one JSON line. */
function probe(args: string[]): any {
  const out = execFileSync(env("LINKERD_PROBE"), args, {
    encoding: "utf8",
    stdio: "pipe",
    timeout: 30_000,
  });
  return JSON.parse(out.trim().split("\n").pop() ?? "{}");
}

/** A short-lived token of a ServiceAccount for Linkerd's identity service (its audience). */
function tokenFile(sa: string, ns: string): string {
  const token = kubectl(
    "create",
    "token",
    sa,
    "-n",
    ns,
    "--audience",
    "identity.l5d.io",
    "--duration",
    "10m",
  ).trim();
  const file = path.join(WORK, `linkerd-token-${ns}-${sa}`);
  fs.writeFileSync(file, token, { mode: 0o600 });
  return file;
}

function trustAnchorsFile(): string {
  const cm = kubectl(
    "-n",
    LINKERD_NS,
    "get",
    "configmap",
    "linkerd-identity-trust-roots",
    "-o",
    "jsonpath={.data.ca-bundle\\.crt}",
  );
  check(
    cm.includes("BEGIN CERTIFICATE"),
    "no trust anchors in linkerd-identity-trust-roots",
  );
  const file = path.join(WORK, "linkerd-trust-anchors.pem");
  fs.writeFileSync(file, cm);
  return file;
}

/** The pod IPs the API server holds for a Service's selector, Ready ones only. */
async function readyPodIps(
  ns: string,
  selector: Record<string, string>,
): Promise<string[]> {
  const sel = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const pods = await kube.list(
    `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(sel)}`,
  );
  return pods
    .filter((p) => injection(p).ready && p.status?.podIP)
    .map((p) => p.status.podIP as string)
    .sort();
}

function weightsOf(route: KubeObject | undefined): Record<string, number> {
  const rules = (route?.spec?.rules ?? []) as Array<any>;
  const weighted = rules[rules.length - 1];
  return Object.fromEntries(
    (weighted?.backendRefs ?? []).map((b: any) => [b.name, b.weight]),
  );
}

export async function linkerdScenarios(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: STACK,
    workDir,
  });
  let objects: StackObject[] = [];
  let up = false;
  // Linkerd's Go control plane starts once the up has applied the chart's config and issuer;
  // kube-down.sh stops it with the test bed.
  execFileSync(
    "bash",
    [env("LINKERD_UP"), "--when-control-plane-exists", env("LINKERD_DIR_KUBE")],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  try {
    up = await step(
      "45. mesh.provider linkerd: up installs the Gateway API CRDs, linkerd-crds and linkerd-control-plane (vendored edge-26.8.3 charts, the real engine and Helm) after a trust anchor and issuer generated once, then the demo and two declared services; both releases deployed; every Linkerd and Gateway API object the stack emits is accepted by its CRD's schema and held by the API server: the routes' weights, each MeshTLSAuthentication exactly its callers' identities",
      async () => {
        for (const [key, value] of stackConfig()) {
          await stack.setConfig(key, { value }, true);
        }
        const res = await timed("cold up (linkerd)", () =>
          stack.up({ onOutput: pulumiLog }),
        );
        check(
          res.summary.result === "succeeded",
          `up ended ${res.summary.result}`,
        );
        objects = await stackObjects(stack);
        const missing: string[] = [];
        for (const o of objects) {
          if (!(await kube.get(o.path))) {
            missing.push(o.path);
          }
        }
        check(
          missing.length === 0,
          `not in the API server: ${missing.join(", ")}`,
        );
        const kinds = new Map<string, number>();
        for (const o of objects) {
          const m =
            /\/apis\/([^/]+)\/[^/]+\/(?:namespaces\/[^/]+\/)?([^/]+)\//.exec(
              o.path,
            );
          if (m && /linkerd\.io$|gateway\.networking\.k8s\.io$/.test(m[1])) {
            const k = `${m[2]}.${m[1]}`;
            kinds.set(k, (kinds.get(k) ?? 0) + 1);
          }
        }
        for (const k of [
          "servers.policy.linkerd.io",
          "authorizationpolicies.policy.linkerd.io",
          "meshtlsauthentications.policy.linkerd.io",
          "httproutes.gateway.networking.k8s.io",
        ]) {
          check(kinds.has(k), `the stack emitted no ${k}`);
        }
        log(
          `custom objects accepted: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}`,
        );
        for (const rel of RELEASES) {
          const secrets = await kube.list(
            `/api/v1/namespaces/${LINKERD_NS}/secrets?labelSelector=owner%3Dhelm,name%3D${rel}`,
          );
          const status = secrets
            .map((s) => s.metadata.labels?.status)
            .filter(Boolean);
          check(status.includes("deployed"), `${rel}: ${status.join(",")}`);
        }
        for (const [route, ns, want] of [
          ["backend", DEMO, '{"backend-v1":80,"backend-v2":20}'],
          ["orders", SHOP, '{"orders-v1":90,"orders-v2":10}'],
        ]) {
          const w = JSON.stringify(
            weightsOf(await kube.get(HTTPROUTE(route, ns))),
          );
          check(w === want, `${ns}/${route} weights ${w}`);
        }
        for (const [name, ns, callers] of [
          ["backend-callers", DEMO, [identityOf("frontend", DEMO)]],
          ["orders-callers", SHOP, [identityOf("frontend", DEMO)]],
          ["payments-callers", SHOP, [identityOf("orders", SHOP)]],
        ] as const) {
          const authn = await kube.get(
            `/apis/policy.linkerd.io/v1alpha1/namespaces/${ns}/meshtlsauthentications/${name}`,
          );
          check(
            JSON.stringify(authn?.spec?.identities) === JSON.stringify(callers),
            `${ns}/${name} admits ${JSON.stringify(authn?.spec?.identities)}`,
          );
        }
        log(
          "releases linkerd-crds and linkerd-control-plane deployed; backend 80/20, orders 90/10; backend and orders admit frontend's identity, payments orders'",
        );
      },
    );

    await step(
      "46. Linkerd's real proxy-injector (a local process, its webhook reached by URL on 127.0.0.1) injects every app pod (the demo's, and the declared services orders and payments in shop): linkerd-init and linkerd-proxy at edge-26.8.3 with the stack's proxy size and the pod's ServiceAccount identity; every pod Ready on the simulated nodes; footprint read from the pods",
      async () => {
        check(up, "the up failed");
        const { value: pods, seconds } = await eventually(
          "the app pods injected and Ready",
          async () => {
            const pods = await appPods();
            const owners = pods.map(
              (p) => p.metadata.labels?.app + "-" + p.metadata.labels?.version,
            );
            for (const want of Object.values(APP_PODS).flat()) {
              check(
                owners.includes(want),
                `no pod of ${want} (${owners.join(", ")})`,
              );
            }
            for (const p of pods) {
              const i = injection(p);
              check(i.proxy && i.init, `${p.metadata.name} is not injected`);
              check(i.ready, `${p.metadata.name} is not Ready`);
            }
            return pods;
          },
          120_000,
        );
        for (const p of pods) {
          const i = injection(p);
          const sa = p.spec.serviceAccountName as string;
          const ns = p.metadata.namespace as string;
          // The injector writes it as a template the kubelet expands ($(_pod_sa) and $(_pod_ns)
          // are env vars from the pod's own fields).
          const identity = String(i.identity)
            .replace("$(_pod_sa)", sa)
            .replace("$(_pod_ns)", ns);
          check(
            i.version === PROXY_VERSION,
            `${p.metadata.name}: proxy version ${i.version}`,
          );
          check(
            identity === identityOf(sa, ns),
            `${p.metadata.name}: proxy identity ${i.identity}, not ${identityOf(sa, ns)}`,
          );
          const req = i.proxy.resources?.requests ?? {};
          check(
            req.cpu === "10m" && req.memory === "32Mi",
            `${p.metadata.name}: proxy requests ${JSON.stringify(req)}`,
          );
          log(
            `${ns}/${p.metadata.name}: linkerd-init + linkerd-proxy ${i.version}, identity ${identity}, requests 10m/32Mi, Ready`,
          );
        }
        record("linkerd injection to Ready", seconds);
        const cp = (
          await kube.list(`/api/v1/namespaces/${LINKERD_NS}/pods`)
        ).filter((p) => !p.metadata.deletionTimestamp);
        const fp = footprint([...cp, ...pods] as unknown as PodLike[]);
        log(
          `footprint (requests as the API server holds them): ${JSON.stringify(fp)}`,
        );
        log(`Linkerd's Go control plane, resident: ${controllerMemory()}`);
      },
    );

    await step(
      "47. Linkerd's identity service (a local process with the stack's issuer) certifies the frontend's ServiceAccount token: the chain verifies to the stack's trust anchor and names the frontend's identity; a token of another ServiceAccount asking for it is refused",
      async () => {
        check(up, "the up failed");
        const anchors = trustAnchorsFile();
        const want = identityOf("frontend", DEMO);
        const cert = probe([
          "certify",
          "--addr",
          env("LINKERD_IDENTITY_ADDR"),
          "--token-file",
          tokenFile("frontend", DEMO),
          "--identity",
          want,
          "--trust-anchors",
          anchors,
        ]);
        check(
          cert.chainVerified === true,
          `chain not verified: ${JSON.stringify(cert)}`,
        );
        check(
          (cert.leafDnsSans ?? []).includes(want),
          `leaf names ${JSON.stringify(cert.leafDnsSans)}`,
        );
        log(`identity: ${JSON.stringify(cert)}`);
        let refused = "";
        try {
          probe([
            "certify",
            "--addr",
            env("LINKERD_IDENTITY_ADDR"),
            "--token-file",
            tokenFile("backend", DEMO),
            "--identity",
            want,
            "--trust-anchors",
            anchors,
          ]);
        } catch (e) {
          refused = String((e as { stderr?: string }).stderr ?? e).trim();
        }
        // Refused for the right reason (not, say, an unreachable service): the identity service
        // compares the requested name with the token's ServiceAccount.
        check(
          /FailedPrecondition.*requested identity did not match provided token/.test(
            refused,
          ),
          `the backend's token asking for the frontend's identity: ${refused || "certified"}`,
        );
        log(
          `backend's token asking for ${want}: refused (${refused.split("\n").pop()})`,
        );
      },
    );

    await step(
      "48. Linkerd's destination service (a local process) serves each Service's endpoints: backend-v1/v2 and orders-v1/v2 (the HTTPRoutes' backends) exactly their version's Ready pods, backend both, each address with its pods' mTLS identity",
      async () => {
        check(up, "the up failed");
        for (const [svc, ns, port, selector] of [
          ["backend-v1", DEMO, 80, { app: "backend", version: "v1" }],
          ["backend-v2", DEMO, 80, { app: "backend", version: "v2" }],
          ["backend", DEMO, 80, { app: "backend" }],
          ["orders-v1", SHOP, 8080, { app: "orders", version: "v1" }],
          ["orders-v2", SHOP, 8080, { app: "orders", version: "v2" }],
        ] as const) {
          const want = await readyPodIps(ns, selector);
          check(want.length > 0, `no Ready pod for ${svc}`);
          const { value: got } = await eventually(
            `${svc}'s endpoints from destination`,
            () => {
              const r = probe([
                "get",
                "--addr",
                env("LINKERD_DESTINATION_ADDR"),
                "--path",
                `${svc}.${ns}.svc.${TRUST_DOMAIN}:${port}`,
              ]);
              const ips = (r.addresses ?? []).map((a: any) => a.ip).sort();
              check(
                JSON.stringify(ips) === JSON.stringify(want),
                `${svc}: destination gives ${JSON.stringify(ips)}, pods ${JSON.stringify(want)}`,
              );
              return r;
            },
            60_000,
          );
          const ids = new Set(
            (got.addresses ?? []).map((a: any) => a.tlsIdentity),
          );
          check(
            ids.size === 1 && ids.has(identityOf(selector.app, ns)),
            `${svc}: identities ${JSON.stringify([...ids])}`,
          );
          log(
            `destination ${ns}/${svc}: ${want.join(", ")} (identity ${[...ids][0]})`,
          );
        }
      },
    );

    await step(
      "49. a canary shift on Linkerd (canary.weights 50/50) updates exactly the backend's HTTPRoute (besides the engine's record of the dynamic provider's config), and the API server holds the new weights (the policy controller that serves them to proxies is Rust: L2)",
      async () => {
        check(up, "the up failed");
        await stack.setConfig("canary.weights.v1", { value: "50" }, true);
        await stack.setConfig("canary.weights.v2", { value: "50" }, true);
        const events: EngineEvent[] = [];
        await timed("shift up (linkerd)", () =>
          stack.up({ onOutput: pulumiLog, onEvent: (e) => events.push(e) }),
        );
        // Pulumi hands the dynamic-resource provider (the generated identity's) the stack's
        // config as its inputs, so the engine records its new config: an update of an
        // engine-side provider that the CLI does not display and that touches no object.
        const all = changesOf(events);
        const providers = all.filter(([, urn]) =>
          urn.includes("::pulumi:providers:"),
        );
        check(
          providers.every(
            ([op, urn]) =>
              op === "update" &&
              urn.endsWith("::pulumi:providers:pulumi-nodejs::default"),
          ),
          `providers changed: ${JSON.stringify(providers)}`,
        );
        const changes = all.filter((c) => !providers.includes(c));
        check(
          changes.length === 1 &&
            changes[0][0] === "update" &&
            changes[0][1].endsWith("HTTPRoute::backend-route"),
          `expected one update of backend-route, got ${JSON.stringify(changes)}`,
        );
        const w = weightsOf(await kube.get(HTTPROUTE("backend")));
        check(
          JSON.stringify(w) === '{"backend-v1":50,"backend-v2":50}',
          `backend-route weights ${JSON.stringify(w)}`,
        );
        log(
          `one update (backend-route), now 50/50${providers.length > 0 ? "; the dynamic provider's recorded config updated too (no object)" : ""}`,
        );
      },
    );
  } finally {
    await step(
      "50. destroy on Linkerd leaves nothing of the stack: no app namespaces, pods or policies, no Linkerd namespace, webhooks or releases; the CRDs (Gateway API and Linkerd's) stay, holding none of the stack's objects",
      async () => {
        await timed("destroy (linkerd)", () =>
          stack.destroy({ onOutput: pulumiLog }),
        );
        await eventually(
          "the app and linkerd namespaces gone",
          async () => {
            for (const ns of [...Object.keys(APP_PODS), LINKERD_NS]) {
              check(
                !(await kube.get(`/api/v1/namespaces/${ns}`)),
                `${ns} remains`,
              );
            }
          },
          120_000,
        );
        const left: string[] = [];
        for (const o of objects) {
          const present = Boolean(await kube.get(o.path));
          if (present && !isSharedCrd(o.path)) {
            left.push(o.path);
          }
        }
        const hooks = [
          ...(await kube.list(
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
          )),
          ...(await kube.list(
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
          )),
        ]
          .map((w) => w.metadata.name as string)
          .filter((n) => n.includes("linkerd"));
        left.push(...hooks);
        const crds = (
          await kube.list(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
          )
        ).filter((c) => c.metadata.name.endsWith(".linkerd.io"));
        check(crds.length > 0, "Linkerd's CRDs were deleted with the stack");
        for (const crd of crds) {
          const version = crd.spec.versions.find(
            (v: { storage: boolean }) => v.storage,
          ).name;
          const stored = await kube.list(
            `/apis/${crd.spec.group}/${version}/${crd.spec.names.plural}`,
          );
          left.push(
            ...stored.map(
              (o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`,
            ),
          );
        }
        check(left.length === 0, `left behind: ${left.join(", ")}`);
        log(
          `nothing left; ${crds.length} Linkerd CRDs kept, none holding objects`,
        );
      },
    );
  }
}
