// The check after an upgrade step, judged on canned kubectl output: istiod of each revision
// Available on its release (a removed one gone), every pod of the stack's namespaces injected by
// the expected revision and Ready; pods on the wrong revision, not Ready, not injected or still
// terminating keep it waiting until the timeout, and each problem names the pod.
import * as assert from "node:assert/strict";
import {
  type Expectation,
  expectationFor,
  judgeIstiod,
  judgePods,
  type KubePort,
  waitForCheck,
} from "../../tools/upgrade/check";
import { planUpgrade } from "../../tools/upgrade/plan";
import { readIstioState } from "../../tools/upgrade/state";

interface PodOpts {
  rev?: string;
  label?: string;
  ready?: boolean;
  phase?: string;
  terminating?: boolean;
  optOut?: boolean;
}
function pod(name: string, o: PodOpts = {}) {
  return {
    metadata: {
      name,
      labels: o.label === undefined ? {} : { "istio.io/rev": o.label },
      annotations: {
        ...(o.rev === undefined
          ? {}
          : {
              "sidecar.istio.io/status": JSON.stringify({
                initContainers: ["istio-init"],
                revision: o.rev,
              }),
            }),
        ...(o.optOut ? { "sidecar.istio.io/inject": "false" } : {}),
      },
      ...(o.terminating ? { deletionTimestamp: "2026-12-04T00:00:00Z" } : {}),
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        { type: "Ready", status: o.ready === false ? "False" : "True" },
      ],
    },
  };
}
const list = (...items: unknown[]) => ({ kind: "List", items });
function istiod(name: string, version: string, available = 1) {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      template: {
        spec: {
          containers: [
            { image: `docker.io/istio/pilot:${version}-distroless` },
          ],
        },
      },
    },
    status: { availableReplicas: available, updatedReplicas: 1 },
  };
}

const state = (istio: object) =>
  readIstioState({ "service-mesh:istio": { value: JSON.stringify(istio) } });

describe("npm run upgrade: the check's judgement", () => {
  it("WHEN pods are on the expected revision and Ready THEN nothing is wrong; skipped: finished, opted out", () => {
    const pods = list(
      pod("a", { rev: "1-30-5" }),
      pod("b", { label: "1-30-5" }),
      pod("job", { phase: "Succeeded" }),
      pod("plain", { optOut: true }),
    );
    assert.deepEqual(judgePods("demo", pods, "1-30-5"), []);
  });

  it("WHEN pods are on the wrong revision, not Ready, not injected or terminating THEN each is named with what is wrong", () => {
    const pods = list(
      pod("old", { rev: "1-30-4", label: "1-30-4" }),
      pod("starting", { rev: "1-30-5", ready: false, phase: "Pending" }),
      pod("bare"),
      pod("going", { rev: "1-30-4", terminating: true }),
      pod("both", { rev: "1-30-4", ready: false }),
    );
    assert.deepEqual(judgePods("demo", pods, "1-30-5"), [
      "demo/old: on revision 1-30-4 (expected 1-30-5)",
      "demo/starting: not Ready (phase Pending)",
      "demo/bare: not injected (expected revision 1-30-5)",
      "demo/going: terminating (revision 1-30-4)",
      "demo/both: on revision 1-30-4 (expected 1-30-5), not Ready (phase Running)",
    ]);
  });

  it("WHEN the injector's status annotation and the label disagree THEN the annotation (the injecting revision) counts", () => {
    assert.deepEqual(
      judgePods(
        "demo",
        list(pod("gw", { rev: "1-30-5", label: "prod" })),
        "1-30-5",
      ),
      [],
    );
  });

  it("WHEN ambient (no revision expected) THEN only readiness counts", () => {
    assert.deepEqual(
      judgePods("demo", list(pod("a"), pod("b", { ready: false })), null),
      ["demo/b: not Ready (phase Running)"],
    );
  });

  it("WHEN istiod Deployments are missing, unavailable, on another release or not yet removed THEN each is said", () => {
    const e: Expectation = {
      istiod: [
        { name: "istiod-1-30-5", version: "1.30.5" },
        { name: "istiod-blue", version: "1.30.4" },
        { name: "istiod-green", version: "1.30.5" },
      ],
      gone: ["istiod-1-30-4"],
      namespaces: {},
    };
    const deployments = list(
      istiod("istiod-1-30-5", "1.30.5", 0),
      istiod("istiod-blue", "1.30.5"),
      istiod("istiod-1-30-4", "1.30.4"),
    );
    assert.deepEqual(judgeIstiod(deployments, e), [
      "Deployment istio-system/istiod-1-30-5 is not Available (0/1 updated and available)",
      "Deployment istio-system/istiod-blue runs 1.30.5, not 1.30.4",
      "Deployment istio-system/istiod-green is missing",
      "Deployment istio-system/istiod-1-30-4 is still there",
    ]);
  });

  it("WHEN the stack exports istioRevisions THEN its namespaces are checked against their revision, tags resolved", () => {
    const p = planUpgrade({
      state: state({ version: "1.30.4" }),
      to: "1.30.5",
      inPlace: false,
    });
    const move = p.steps[2];
    const e = expectationFor(move, "1.30.5", {
      istioRevisions: { namespaces: { demo: "1-30-5", bookinfo: "prod" } },
    });
    assert.deepEqual(e, {
      istiod: [
        { name: "istiod-1-30-4", version: "1.30.4" },
        { name: "istiod-1-30-5", version: "1.30.5" },
      ],
      gone: [],
      namespaces: { demo: "1-30-5", bookinfo: "1-30-5" },
    });
    const adopt = expectationFor(p.steps[0], "1.30.5", {
      appNamespace: "demo",
    });
    assert.deepEqual(adopt.gone, ["istiod"]);
    assert.deepEqual(
      adopt.namespaces,
      { demo: "1-30-4" },
      "fallback: appNamespace on prod",
    );
    const remove = expectationFor(p.steps[3], "1.30.5", {
      appNamespace: "demo",
    });
    assert.deepEqual(remove.gone, ["istiod-1-30-4"]);
  });

  it("WHEN a revision's injector is served from istiodRemote.injectionURL (the test bed) THEN no Deployment is expected for it", () => {
    const p = planUpgrade({
      state: state({
        version: "1.30.4",
        revisions: {
          a: {
            version: "1.30.4",
            values: {
              istiodRemote: { injectionURL: "https://127.0.0.1:1/inject" },
            },
          },
        },
        tags: { prod: "a" },
      }),
      to: "1.30.5",
      inPlace: false,
      revisionName: "b",
    });
    const e = expectationFor(p.steps[1], "1.30.5", { appNamespace: "demo" });
    assert.deepEqual(e.istiod, [{ name: "istiod-b", version: "1.30.5" }]);
    assert.deepEqual(expectationFor(p.steps[3], "1.30.5", {}).gone, []);
  });

  it("WHEN in place THEN istiod must run the new release and pods stay on revision default", () => {
    const p = planUpgrade({
      state: state({ version: "1.30.4" }),
      to: "1.30.5",
      inPlace: true,
    });
    assert.deepEqual(
      expectationFor(p.steps[0], "1.30.5", { appNamespace: "demo" }),
      {
        istiod: [{ name: "istiod", version: "1.30.5" }],
        gone: [],
        namespaces: { demo: "default" },
      },
    );
  });
});

describe("npm run upgrade: the check waits", () => {
  const e: Expectation = {
    istiod: [{ name: "istiod-b", version: "1.30.5" }],
    gone: [],
    namespaces: { demo: "b" },
  };
  function fake(podAnswers: unknown[]): KubePort & { calls: string[] } {
    let n = 0;
    const calls: string[] = [];
    return {
      calls,
      getJson: async (args) => {
        calls.push(args.join(" "));
        if (args[1] === "deployments") {
          return list(istiod("istiod-b", "1.30.5"));
        }
        const a = podAnswers[Math.min(n++, podAnswers.length - 1)];
        if (a instanceof Error) {
          throw a;
        }
        return a;
      },
    };
  }
  const clock = () => {
    let t = 0;
    return {
      now: () => t,
      sleep: async (ms: number) => void (t += ms),
      timeoutMs: 30_000,
      pollMs: 5000,
    };
  };

  it("WHEN the pods roll onto the revision within the timeout THEN it passes", async () => {
    const kube = fake([
      list(pod("x", { rev: "a" })),
      new Error("connection refused"),
      list(pod("y", { rev: "b" })),
    ]);
    assert.deepEqual(await waitForCheck(kube, e, clock()), []);
    assert.deepEqual(kube.calls.slice(0, 2), [
      "get deployments -n istio-system -l app=istiod -o json",
      "get pods -n demo -o json",
    ]);
  });

  it("WHEN a pod stays on the old revision THEN it gives up at the timeout and names it", async () => {
    const c = clock();
    const problems = await waitForCheck(
      fake([list(pod("x", { rev: "a" }))]),
      e,
      c,
    );
    assert.deepEqual(problems, ["demo/x: on revision a (expected b)"]);
    assert.equal(c.now(), 30_000);
  });

  it("WHEN kubectl keeps failing THEN its error is the problem", async () => {
    const problems = await waitForCheck(
      fake([new Error("kubectl get pods: forbidden\nmore")]),
      e,
      clock(),
    );
    assert.deepEqual(problems, ["kubectl: kubectl get pods: forbidden"]);
  });
});
