// Scenarios 37-44 (IT_ONLY=upgrade): upgrading Istio's control plane (issue 24) on stacks of
// their own. The canary flow runs two istiod revisions, a and b, of the one build the test bed
// has (1.30.4): two revisions of one build show the mechanism (which istiod injects a pod, which
// one its proxy connects to, what each computes) honestly, not a version change. Each revision
// is its own pilot-discovery on loopback (test/testbed/istiod-up.sh --revision), its webhooks
// called by URL. Steps, each one `up`: 0 revisions {a}, tag prod -> a; 1 add b (nothing moves);
// 2 tag prod -> b (the pods roll onto b); rollback (prod -> a, then forward again);
// 3 defaultRevision b and a removed. Then the in-place patch upgrade 1.30.4 -> "1.30.5", whose
// charts are a copy of 1.30.4's relabelled 1.30.5: it shows the order (base, istiod, gateway),
// not a real 1.30.5; and on that stack, adopting revisions: the revisionless istiod hands over
// to revision 1-30-5 (the session's revisionless pilot-discovery keeps running, as after a
// destroy).
import * as fs from "fs";
import * as path from "path";
import {
  type EngineEvent,
  LocalWorkspace,
  type Stack,
} from "@pulumi/pulumi/automation";
import {
  changesOf,
  CHARTS,
  check,
  ISTIO_VERSION,
  kube,
  log,
  pulumiLog,
  type StackObject,
  stackObjects,
  step,
  testbedConfig,
  timed,
  WORK,
} from "./harness";
import { checkInjectedAndReady, eventually } from "./controlPlane";
import { checkDestroyed } from "./lifecycle";
import {
  armRevision,
  checkPodsOn,
  DEMO,
  describeView,
  INGRESS,
  type MeshView,
  meshView,
  podIdentities,
  podsOn,
  type RevisionIstiod,
  revisionPid,
  stopRevision,
  waitRevision,
  webhooksCalling,
} from "./upgradeChecks";

/** The group: 6 scenarios on the canary stack (the last destroys it), 2 on the in-place stack. */
export const UPGRADE_SCENARIOS = 8;

const TAG_WEBHOOK = "istio-revision-tag-prod";
const DEMO_CONFIG: Array<[string, string]> = [
  ["canary.weights.v1", "80"],
  ["canary.weights.v2", "20"],
];

/**
 * The test bed's shared config without the revisionless istiod's webhook URLs: with revisions
 * each revision carries its own (istio.revisions.<rev>.values), and the base chart's default
 * validator calls the default revision's.
 */
function canaryBaseConfig(): Array<[string, string]> {
  return testbedConfig().filter(
    ([k]) =>
      !k.startsWith("istio.values.istiod.istiodRemote.") &&
      !k.startsWith("istio.values.istiod.base.") &&
      !k.startsWith("istio.values.base.base."),
  );
}

function revisionConfig(
  r: RevisionIstiod,
  version = ISTIO_VERSION,
): Array<[string, string]> {
  const key = `istio.revisions.${r.revision}`;
  return [
    [`${key}.version`, version],
    [`${key}.values.istiodRemote.injectionURL`, r.injectURL],
    [`${key}.values.istiodRemote.injectionCABundle`, r.caBundle],
    [`${key}.values.base.validationURL`, r.validateURL],
    [`${key}.values.base.validationCABundle`, r.caBundle],
  ];
}

/** The base chart's default validator calls this revision's istiod. */
function validatorConfig(r: RevisionIstiod): Array<[string, string]> {
  return [
    ["istio.values.base.base.validationURL", r.validateURL],
    ["istio.values.base.base.validationCABundle", r.caBundle],
  ];
}

async function setAll(
  stack: Stack,
  config: Array<[string, string]>,
): Promise<void> {
  for (const [key, value] of config) {
    await stack.setConfig(key, { value }, true);
  }
}

/** One upgrade step: `up`, timed as "upgrade step <n>"; returns the engine's events. */
async function upStep(stack: Stack, label: string): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  const res = await timed(label, () =>
    stack.up({ onOutput: pulumiLog, onEvent: (e) => events.push(e) }),
  );
  check(res.summary.result === "succeeded", `up ended ${res.summary.result}`);
  return events;
}

/** The sequence number of the first event of that kind, op and resource (URN or its name). */
function at(
  events: EngineEvent[],
  kind: "resourcePreEvent" | "resOutputsEvent",
  op: string,
  urnOrName: string,
): number | undefined {
  return events.find(
    (e) =>
      e[kind]?.metadata.op === op &&
      (e[kind]?.metadata.urn === urnOrName ||
        e[kind]?.metadata.urn.endsWith(`::${urnOrName}`)),
  )?.sequence;
}

/** The tag webhook: which revision it is labelled with and which URL each of its hooks calls. */
async function tagWebhook(): Promise<{ rev?: string; urls: string[] }> {
  const w = await kube.get(
    `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${TAG_WEBHOOK}`,
  );
  check(w, `no MutatingWebhookConfiguration ${TAG_WEBHOOK}`);
  return {
    rev: w.metadata.labels?.["istio.io/rev"],
    urls: (w.webhooks ?? []).map((h: any) => h.clientConfig?.url ?? "service"),
  };
}

async function checkTagOn(r: RevisionIstiod): Promise<string> {
  const t = await tagWebhook();
  check(
    t.rev === r.revision &&
      t.urls.length === 2 &&
      t.urls.every((u) => u === r.injectURL),
    `${TAG_WEBHOOK} is labelled istio.io/rev=${t.rev} and calls ${t.urls.join(", ")}; expected ${r.revision} at ${r.injectURL}`,
  );
  return `${TAG_WEBHOOK} (istio.io/rev=${t.rev}) calls ${r.revision}'s ${r.injectURL} for both hooks`;
}

/** Every pod of the demo and the ingress gateway injected by `rev`, Ready, Available. */
async function checkAllOn(rev: string): Promise<string> {
  const { value, seconds } = await eventually(
    `every pod of ${DEMO} and ${INGRESS} on revision ${rev}`,
    async () => {
      const demo = await checkPodsOn(DEMO, rev);
      const gw = await checkPodsOn(INGRESS, rev);
      await checkInjectedAndReady(DEMO, "istio-init");
      await checkInjectedAndReady(INGRESS, null);
      return `${demo}; ${gw}`;
    },
    180_000,
  );
  return `${value} (${seconds.toFixed(1)} s after the up)`;
}

/** The values step 0 must show: 80/20 with the timeout and retries, mTLS, the policy table. */
function checkExpectedView(v: MeshView): void {
  check(
    v.backendRoutes.length === 1 &&
      v.backendRoutes[0].weights.v1 === 80 &&
      v.backendRoutes[0].weights.v2 === 20 &&
      v.backendRoutes[0].timeoutMs === 10_000 &&
      v.backendRoutes[0].retries === 2 &&
      v.backendRoutes[0].perTryMs === 3000,
    `frontend's routes to the backend: ${JSON.stringify(v.backendRoutes)}`,
  );
  check(
    v.mtlsClusters.v1 && v.mtlsClusters.v2,
    `backend clusters without Istio mTLS: ${JSON.stringify(v.mtlsClusters)}`,
  );
  check(
    Object.keys(v.inbound).length >= 3 &&
      Object.values(v.inbound).every((t) => t.length === 1 && t[0] === "tls"),
    `inbound 8080 accepts ${JSON.stringify(v.inbound)}, not only TLS`,
  );
  const allow = (who: string, principal: string) => {
    const rules = v.rbac[who];
    const open = rules.filter((r) => !r.matchesNothing);
    check(
      rules.filter((r) => r.matchesNothing).length === 1 &&
        open.length === 1 &&
        JSON.stringify(open[0].principals) === JSON.stringify([principal]) &&
        JSON.stringify(open[0].methods) === JSON.stringify(["GET", "HEAD"]),
      `${who}'s RBAC: ${JSON.stringify(rules)}`,
    );
  };
  allow("backend", `spiffe://cluster.local/ns/${DEMO}/sa/frontend`);
  allow(
    "frontend",
    `spiffe://cluster.local/ns/${INGRESS}/sa/istio-ingressgateway`,
  );
}

/** Equal views: the same routes, weights, mTLS and RBAC (rule names included). */
function checkSameView(what: string, got: MeshView, want: MeshView): void {
  check(
    JSON.stringify(got) === JSON.stringify(want),
    `${what} differs: ${describeView(got)} vs ${describeView(want)}`,
  );
}

async function namespaceLabels(ns: string): Promise<Record<string, string>> {
  const n = await kube.get(`/api/v1/namespaces/${ns}`);
  check(n, `no namespace ${ns}`);
  return n.metadata.labels ?? {};
}

/** What is left of revision `rev` in the API server (empty: nothing). */
async function leftOf(r: RevisionIstiod): Promise<string[]> {
  const rev = r.revision;
  const left: string[] = [];
  const paths = [
    `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector-${rev}`,
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/istio-validator-${rev}-istio-system`,
    `/api/v1/namespaces/istio-system/services/istiod-${rev}`,
    `/apis/apps/v1/namespaces/istio-system/deployments/istiod-${rev}`,
    `/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector-${rev}`,
    `/api/v1/namespaces/istio-system/configmaps/istio-${rev}`,
  ];
  for (const p of paths) {
    if (await kube.get(p)) {
      left.push(p);
    }
  }
  for (const kind of [
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
  ]) {
    const labelled = await kube.list(
      `/apis/admissionregistration.k8s.io/v1/${kind}?labelSelector=${encodeURIComponent(`istio.io/rev=${rev}`)}`,
    );
    left.push(...labelled.map((w) => `${kind}/${w.metadata.name} (labelled)`));
  }
  left.push(
    ...(await webhooksCalling(r.injectURL, true)).map(
      (w) => `${w} calls ${rev}`,
    ),
  );
  const releases = await kube.list(
    `/api/v1/namespaces/istio-system/secrets?labelSelector=${encodeURIComponent(`owner=helm,name=istiod-${rev}`)}`,
  );
  left.push(...releases.map((s) => `Helm release secret ${s.metadata.name}`));
  left.push(...(await podsOn(rev)).map((p) => `pod ${p}`));
  return [...new Set(left)];
}

export async function upgradeScenarios(workDir: string): Promise<void> {
  await canaryScenarios(workDir);
  await inPlaceScenario(workDir);
}

async function canaryScenarios(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: "upgrade",
    workDir,
  });
  const objects = new Map<string, StackObject>();
  const remember = async () => {
    for (const o of await stackObjects(stack)) {
      objects.set(o.urn, o);
    }
  };
  let a: RevisionIstiod | undefined;
  let b: RevisionIstiod | undefined;
  let view0: MeshView | undefined;
  let ok = false;
  try {
    ok = await step(
      "37. canary upgrade step 0, revisions {a}, tag prod -> a: up from nothing; every demo pod and the ingress gateway injected by a (annotation istio.io/rev=a, sidecar.istio.io/status, discoveryAddress istiod-a); mesh-demo labelled istio.io/rev=prod without istio-injection; the tag webhook and the default validator call a; a's xDS for the demo: backend 80/20 with timeout and retries, Istio mTLS, RBAC as the policy table",
      async () => {
        a = armRevision("a");
        await setAll(stack, [
          ...canaryBaseConfig(),
          ...DEMO_CONFIG,
          ...revisionConfig(a),
          ["istio.tags.prod", "a"],
          ["istio.defaultRevision", "a"],
          ...validatorConfig(a),
        ]);
        await upStep(stack, "upgrade step 0");
        await remember();
        waitRevision("a");
        log(await checkTagOn(a));
        const validators = await webhooksCalling(a.validateURL);
        check(
          validators.some((w) => w.includes("istiod-default-validator")),
          `the default validator does not call a (a's /validate is called by ${validators.join(", ") || "nothing"})`,
        );
        const labels = await namespaceLabels(DEMO);
        check(
          labels["istio.io/rev"] === "prod" &&
            labels["istio-injection"] === undefined,
          `${DEMO} is labelled ${JSON.stringify(labels)}`,
        );
        log(await checkAllOn("a"));
        view0 = await meshView(a);
        checkExpectedView(view0);
        log(`istiod-a for the demo: ${describeView(view0)}`);
      },
    );
    const ok1 = await step(
      "38. canary upgrade step 1, add revision b: the up only creates istiod-b's release; no pod replaced; b's pilot-discovery ready and its pod released; the tag webhook still calls a",
      async () => {
        check(ok, "step 0 failed");
        b = armRevision("b");
        const before = {
          demo: await podIdentities(DEMO),
          gw: await podIdentities(INGRESS),
        };
        await setAll(stack, revisionConfig(b));
        const changes = changesOf(await upStep(stack, "upgrade step 1"));
        log(`step 1 changes: ${JSON.stringify(changes)}`);
        check(
          changes.length > 0 &&
            changes.every(
              ([op, urn]) => op === "create" && urn.includes("istiod-b"),
            ),
          `step 1 changed more than istiod-b's release: ${JSON.stringify(changes)}`,
        );
        await remember();
        waitRevision("b");
        const after = {
          demo: await podIdentities(DEMO),
          gw: await podIdentities(INGRESS),
        };
        check(
          JSON.stringify(after) === JSON.stringify(before),
          `pods changed: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`,
        );
        log(
          `${Object.keys(after.demo).length + Object.keys(after.gw).length} pods unchanged (names and UIDs)`,
        );
        log(await checkTagOn(a!));
        log(await checkAllOn("a"));
        const d = await kube.get(
          "/apis/apps/v1/namespaces/istio-system/deployments/istiod-b",
        );
        check(
          d?.status?.availableReplicas >= 1,
          "Deployment istiod-b not Available",
        );
      },
    );
    const ok2 = await step(
      "39. canary upgrade step 2, tag prod -> b: the tag webhook calls b; every demo pod and the gateway rolled and injected by b (discoveryAddress istiod-b); b's xDS for the demo has the same routes, weights, mTLS and RBAC as a's in step 0",
      async () => {
        check(ok1, "step 1 failed");
        const before = await podIdentities(DEMO);
        await setAll(stack, [["istio.tags.prod", "b"]]);
        await upStep(stack, "upgrade step 2");
        await remember();
        log(await checkTagOn(b!));
        log(await checkAllOn("b"));
        const after = await podIdentities(DEMO);
        const kept = Object.entries(after).filter(
          ([n, uid]) => before[n] === uid,
        );
        check(
          kept.length === 0,
          `pods not rolled: ${kept.map(([n]) => n).join(", ")}`,
        );
        const view = await meshView(b!);
        checkSameView("istiod-b's view of the demo", view, view0!);
        log(`istiod-b for the demo, as a's in step 0: ${describeView(view)}`);
      },
    );
    await step(
      "40. canary rollback: tag prod back to a rolls every pod back onto a (xDS from a as in step 0), then forward to b again",
      async () => {
        check(ok2, "step 2 failed");
        await setAll(stack, [["istio.tags.prod", "a"]]);
        await upStep(stack, "upgrade rollback");
        log(await checkTagOn(a!));
        log(await checkAllOn("a"));
        checkSameView(
          "istiod-a's view after the rollback",
          await meshView(a!),
          view0!,
        );
        await setAll(stack, [["istio.tags.prod", "b"]]);
        await upStep(stack, "upgrade step 2 again");
        log(await checkTagOn(b!));
        log(await checkAllOn("b"));
      },
    );
    await step(
      "41. canary upgrade step 3, defaultRevision b, revision a removed, the default validator on b (base updated before a's release is deleted): no webhook, Service, Deployment, ConfigMap or Helm release of a, no pod labelled, annotated or injected istio.io/rev=a, no webhook calls a; the pods stay on b; a's pilot-discovery stopped",
      async () => {
        check(ok2, "step 2 failed");
        const before = {
          demo: await podIdentities(DEMO),
          gw: await podIdentities(INGRESS),
        };
        await setAll(stack, [
          ["istio.defaultRevision", "b"],
          ...validatorConfig(b!),
        ]);
        await stack.removeConfig("istio.revisions.a", true);
        const events = await upStep(stack, "upgrade step 3");
        await remember();
        const changes = changesOf(events);
        log(`step 3 changes: ${JSON.stringify(changes)}`);
        // Istio's order: the default validator moves to b (base), then a's release goes.
        const baseDone = at(events, "resOutputsEvent", "update", "istio-base");
        const aGoes = at(
          events,
          "resourcePreEvent",
          "delete",
          "istio-istiod-a",
        );
        check(
          baseDone !== undefined && aGoes !== undefined && baseDone < aGoes,
          `expected the base release updated (event ${baseDone}) before istiod-a's release is deleted (event ${aGoes})`,
        );
        log(
          `base updated (event ${baseDone}) before istiod-a's release deleted (event ${aGoes})`,
        );
        const left = await leftOf(a!);
        check(left.length === 0, `left of revision a: ${left.join(", ")}`);
        const validator = await webhooksCalling(b!.validateURL);
        check(
          validator.length === 2 &&
            validator.some((w) => w.includes("istiod-default-validator")),
          `expected istiod-default-validator and b's own validator to call b's /validate; it is called by ${validator.join(", ") || "nothing"}`,
        );
        log(`b's /validate is called by ${validator.join(", ")}`);
        stopRevision("a");
        check(revisionPid("a") === undefined, "a's pilot-discovery still runs");
        const after = {
          demo: await podIdentities(DEMO),
          gw: await podIdentities(INGRESS),
        };
        check(
          JSON.stringify(after) === JSON.stringify(before),
          "step 3 replaced pods",
        );
        log(await checkAllOn("b"));
        log(await checkTagOn(b!));
      },
    );
  } finally {
    await step(
      "42. destroy the canary stack: nothing of it or of either revision left",
      async () => {
        await timed("destroy (upgrade)", () =>
          stack.destroy({ onOutput: pulumiLog }),
        );
        await checkDestroyed([...objects.values()]);
        await stack.workspace.removeStack(stack.name);
      },
    ).finally(() => {
      for (const rev of ["a", "b"]) {
        try {
          stopRevision(rev);
        } catch (e) {
          log(`stopping revision ${rev}: ${e}`);
        }
      }
    });
  }
}

/** A copy of the test bed's charts whose Chart.yaml say `version` (a stand-in for that release). */
function relabelledCharts(version: string): string {
  const dir = path.join(WORK, `charts-${version}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(CHARTS, dir, { recursive: true });
  for (const chart of fs.readdirSync(dir)) {
    const file = path.join(dir, chart, "Chart.yaml");
    if (!fs.existsSync(file)) {
      continue;
    }
    const text = fs
      .readFileSync(file, "utf8")
      .replace(/^version: .*$/m, `version: ${version}`)
      .replace(/^appVersion: .*$/m, `appVersion: ${version}`);
    fs.writeFileSync(file, text);
  }
  return dir;
}

/** 43: the in-place patch upgrade's order: base, then istiod, then the gateway. */
async function inPlaceScenario(workDir: string): Promise<void> {
  const stack = await LocalWorkspace.createOrSelectStack({
    stackName: "upgrade-inplace",
    workDir,
  });
  const objects = new Map<string, StackObject>();
  const remember = async () => {
    for (const o of await stackObjects(stack)) {
      objects.set(o.urn, o);
    }
  };
  const next = "1.30.5";
  const ok = await step(
    '43. in-place patch upgrade 1.30.4 -> "1.30.5" (a copy of the 1.30.4 charts relabelled 1.30.5: the order, not a real 1.30.5): the base, istiod and gateway releases are updated in that order, each finished before the next starts; the demo pods stay injected',
    async () => {
      await setAll(stack, [...testbedConfig(), ...DEMO_CONFIG]);
      await timed("cold up (upgrade-inplace)", () =>
        stack.up({ onOutput: pulumiLog }),
      );
      await remember();
      await setAll(stack, [
        ["istio.chartDir", relabelledCharts(next)],
        ["istio.version", next],
      ]);
      const events = await upStep(stack, "upgrade in place");
      // The releases by name, from the stack's state.
      const state = await stack.exportStack();
      const urnOf: Record<string, string> = {};
      for (const r of (state.deployment.resources ?? []) as any[]) {
        if (r.type === "kubernetes:helm.sh/v3:Release") {
          urnOf[r.outputs?.name] = r.urn;
        }
      }
      const order = ["istio-base", "istiod", "istio-ingressgateway"];
      const seq = (urn: string, kind: "pre" | "out") =>
        events.find((e) =>
          kind === "pre"
            ? e.resourcePreEvent?.metadata.urn === urn &&
              e.resourcePreEvent.metadata.op === "update"
            : e.resOutputsEvent?.metadata.urn === urn &&
              e.resOutputsEvent.metadata.op === "update",
        )?.sequence;
      const marks = order.map((rel) => {
        const urn = urnOf[rel];
        check(urn, `no Helm release ${rel} in the stack`);
        const pre = seq(urn, "pre");
        const out = seq(urn, "out");
        check(
          pre !== undefined && out !== undefined,
          `release ${rel} was not updated (${JSON.stringify(changesOf(events))})`,
        );
        return { rel, pre: pre!, out: out! };
      });
      for (let i = 1; i < marks.length; i++) {
        check(
          marks[i - 1].out < marks[i].pre,
          `${marks[i].rel} started (event ${marks[i].pre}) before ${marks[i - 1].rel} finished (event ${marks[i - 1].out})`,
        );
      }
      log(
        `updated in order: ${marks.map((m) => `${m.rel} (events ${m.pre}-${m.out})`).join(", ")}`,
      );
      for (const [ns, rel] of [
        ["istio-system", "istio-base"],
        ["istio-system", "istiod"],
        [INGRESS, "istio-ingressgateway"],
      ]) {
        const secrets = await kube.list(
          `/api/v1/namespaces/${ns}/secrets?labelSelector=${encodeURIComponent(`owner=helm,name=${rel}`)}`,
        );
        const newest = secrets.sort(
          (x, y) =>
            Number(y.metadata.labels?.version) -
            Number(x.metadata.labels?.version),
        )[0];
        check(
          Number(newest?.metadata.labels?.version) >= 2,
          `Helm release ${ns}/${rel} has no second revision`,
        );
        log(
          `Helm release ${ns}/${rel} v${newest.metadata.labels?.version} created ${(newest.metadata as { creationTimestamp?: string }).creationTimestamp}`,
        );
      }
      const d = await kube.get(
        "/apis/apps/v1/namespaces/istio-system/deployments/istiod",
      );
      const image = d?.spec.template.spec.containers[0].image as string;
      check(image?.endsWith(`:${next}`), `istiod's image is ${image}`);
      log(`istiod's image now ${image}`);
      const { value } = await eventually(
        "the demo's pods injected and Ready",
        () => checkInjectedAndReady(DEMO, "istio-init"),
        120_000,
      );
      log(value);
    },
  );
  const rev = "1-30-5";
  await step(
    `44. adopting revisions on that stack: revisions {${rev}: 1.30.5}, tag prod -> ${rev}: every demo pod and the gateway rolled onto ${rev}; the revisionless istiod's release, Deployment and webhooks gone, its release deleted after the pods moved; the tag webhook and the default validator call ${rev}; destroy leaves nothing`,
    async () => {
      try {
        check(ok, "the in-place upgrade failed");
        const r = armRevision(rev);
        const state = await stack.exportStack();
        const revisionless = ((state.deployment.resources ?? []) as any[]).find(
          (x) =>
            x.type === "kubernetes:helm.sh/v3:Release" &&
            x.outputs?.name === "istiod",
        )?.urn as string | undefined;
        check(revisionless, "no revisionless istiod release in the stack");
        await stack.removeConfig("istio.values.istiod.istiodRemote", true);
        await stack.removeConfig("istio.values.istiod.base", true);
        await setAll(stack, [
          ...revisionConfig(r, next),
          ["istio.tags.prod", rev],
          ...validatorConfig(r),
        ]);
        const events = await upStep(stack, "upgrade adopt revisions");
        await remember();
        log(`adoption changes: ${JSON.stringify(changesOf(events))}`);
        waitRevision(rev);
        log(await checkTagOn(r));
        log(await checkAllOn(rev));
        const validators = await webhooksCalling(r.validateURL);
        check(
          validators.some((w) => w.includes("istiod-default-validator")),
          `the default validator does not call ${rev}: ${validators.join(", ") || "nothing calls it"}`,
        );
        const gone = at(events, "resourcePreEvent", "delete", revisionless);
        const rolled = events
          .filter(
            (e) =>
              e.resOutputsEvent?.metadata.op === "update" &&
              [
                "kubernetes:apps/v1:Deployment",
                "kubernetes:helm.sh/v3:Release",
              ].includes(e.resOutputsEvent.metadata.type),
          )
          .map((e) => e.sequence);
        check(
          gone !== undefined &&
            rolled.length > 0 &&
            rolled.every((n) => n < gone),
          `the revisionless release's delete (event ${gone}) does not come after the Deployments' and releases' updates (events ${rolled.join(", ")})`,
        );
        log(
          `the revisionless release deleted (event ${gone}) after ${rolled.length} Deployments and releases updated (events ${rolled.join(", ")})`,
        );
        const left: string[] = [];
        for (const p of [
          "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector",
          "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/istio-validator-istio-system",
          "/apis/apps/v1/namespaces/istio-system/deployments/istiod",
          "/api/v1/namespaces/istio-system/services/istiod",
          "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector",
        ]) {
          if (await kube.get(p)) {
            left.push(p);
          }
        }
        const releases = await kube.list(
          `/api/v1/namespaces/istio-system/secrets?labelSelector=${encodeURIComponent("owner=helm,name=istiod")}`,
        );
        left.push(...releases.map((x) => `Helm release ${x.metadata.name}`));
        left.push(...(await podsOn("default")).map((p) => `pod ${p}`));
        check(left.length === 0, `left of the revisionless istiod: ${left}`);
      } finally {
        await timed("destroy (upgrade-inplace)", () =>
          stack.destroy({ onOutput: pulumiLog }),
        );
        await checkDestroyed([...objects.values()]);
        await stack.workspace.removeStack(stack.name);
        stopRevision(rev);
      }
    },
  );
}
