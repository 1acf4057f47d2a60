// `npm run upgrade`'s plan: in place and canary by revision from each starting config, the steps
// marked done as the config advances, every refusal with what, the value and the fix, and the
// config commands themselves: applied to the stack's config (Pulumi's --path semantics, simulated)
// they give each step's state, and the rollback commands give the state before.
import * as assert from "node:assert/strict";
import { validateConfig } from "../../components/config";
import { planUpgrade, type PlanInput } from "../../tools/upgrade/plan";
import { formatPlan } from "../../tools/upgrade/print";
import {
  changeCommand,
  type ConfigChange,
  type IstioState,
  readIstioState,
} from "../../tools/upgrade/state";
import { UpgradeRefusal } from "../../tools/upgrade/versions";

type Json = Record<string, unknown>;
const config = (istio: Json) => ({
  "service-mesh:istio": { value: JSON.stringify(istio) },
});
const state = (istio: Json): IstioState => readIstioState(config(istio));

/** Applies changes to an `istio` section as `pulumi config set/rm --path` does (dotted keys). */
function applyChanges(istio: Json, changes: readonly ConfigChange[]): Json {
  const root: Json = { istio: structuredClone(istio) };
  for (const c of changes) {
    const keys = c.path.split(".");
    let node = root;
    for (const k of keys.slice(0, -1)) {
      node = (node[k] ??= {}) as Json;
    }
    if (c.op === "set") {
      node[keys[keys.length - 1]] = c.value;
    } else {
      delete node[keys[keys.length - 1]];
    }
  }
  return root.istio as Json;
}

const refused = (
  input: Partial<PlanInput> & { state: IstioState },
  minors?: Record<string, string>,
) => {
  try {
    planUpgrade({ to: "1.30.5", inPlace: false, ...input }, minors);
  } catch (e) {
    assert.ok(e instanceof UpgradeRefusal, String(e));
    return e.message;
  }
  assert.fail("planned");
};

const set = (path: string, value: string): ConfigChange => ({
  op: "set",
  path,
  value,
});
const rm = (path: string): ConfigChange => ({ op: "rm", path });

describe("npm run upgrade: the plan", () => {
  it("WHEN a stack on 1.30.4 without revisions goes to 1.30.5 THEN the canary plan has 4 steps and in place is offered", () => {
    const p = planUpgrade({
      state: state({ version: "1.30.4" }),
      to: "1.30.5",
      inPlace: false,
    });
    assert.equal(p.flow, "canary");
    assert.deepEqual(
      p.steps.map((s) => s.changes),
      [
        [
          set("istio.revisions.1-30-4.version", "1.30.4"),
          set("istio.tags.prod", "1-30-4"),
        ],
        [
          set("istio.version", "1.30.5"),
          set("istio.revisions.1-30-5.version", "1.30.5"),
        ],
        [set("istio.tags.prod", "1-30-5")],
        [rm("istio.revisions.1-30-4")],
      ],
    );
    assert.deepEqual(p.steps[2].rollback, [set("istio.tags.prod", "1-30-4")]);
    assert.match(
      p.steps[0].restarts.join("\n"),
      /istio-injection=enabled becomes istio.io\/rev=prod; their pods restart once/,
    );
    assert.match(p.steps[1].restarts[0], /no app pod moves/);
    assert.match(
      p.steps[2].restarts[0],
      /app namespaces on prod and the gateways roll onto 1-30-5/,
    );
    assert.match(
      p.steps[3].restarts[0],
      /istiod-1-30-4 and its webhooks are deleted/,
    );
    assert.equal(p.alternative?.flow, "in-place");
    assert.deepEqual(p.alternative?.steps[0].changes, [
      set("istio.version", "1.30.5"),
    ]);
    assert.match(
      p.alternative!.steps[0].restarts.join("\n"),
      /sidecars: keep the 1.30.4 proxy until their pods restart \(kubectl rollout restart deployment -n <namespace>\)/,
    );
    const text = formatPlan("dev", p).join("\n");
    assert.match(
      text,
      /^Istio upgrade of stack dev: 1.30.4 -> 1.30.5, canary by revision \(4 steps, 4 to apply/,
    );
    assert.match(
      text,
      /pulumi config set --stack dev --path istio.tags.prod 1-30-5\n/,
    );
    assert.match(text, /npm run upgrade -- --stack dev --to 1.30.5 --step 3\)/);
    assert.match(text, /alternative: in place \(--in-place\), 1 step:/);
  });

  it("WHEN each canary step's commands are applied in turn THEN the config is that step's state, valid for the stack, and its rollback gives the one before", () => {
    let istio: Json = { version: "1.30.4" };
    const p = planUpgrade({
      state: state(istio),
      to: "1.31.1",
      inPlace: false,
    });
    for (const s of p.steps) {
      const next = applyChanges(istio, s.changes);
      validateConfig({ canary: { weights: { v1: 100 } }, istio: next }); // the stack's own validation takes every step
      assert.deepEqual(state(next), s.after, `step ${s.index}`);
      assert.deepEqual(
        state(applyChanges(next, s.rollback)),
        state(istio),
        `rollback ${s.index}`,
      );
      istio = next;
      if (s.index === 4) {
        assert.throws(
          () =>
            planUpgrade({ state: state(istio), to: "1.31.1", inPlace: false }),
          /already runs 1.31.1 as its only revision/,
        );
        continue;
      }
      const again = planUpgrade({
        state: state(istio),
        to: "1.31.1",
        inPlace: false,
      });
      assert.deepEqual(
        again.steps.map((x) => x.done),
        p.steps.map((x) => x.index <= s.index),
        `after step ${s.index}: the steps done`,
      );
      assert.deepEqual(again.steps[s.index].changes, p.steps[s.index].changes);
    }
    assert.deepEqual(istio, {
      version: "1.31.1",
      revisions: { "1-31-1": { version: "1.31.1" } },
      tags: { prod: "1-31-1" },
    });
  });

  it("WHEN --in-place THEN one step sets istio.version, and canary is the alternative", () => {
    const p = planUpgrade({
      state: state({ version: "1.30.4" }),
      to: "1.31.1",
      inPlace: true,
    });
    assert.equal(p.flow, "in-place");
    assert.deepEqual(
      p.steps.map((s) => s.changes),
      [[set("istio.version", "1.31.1")]],
    );
    assert.deepEqual(p.steps[0].rollback, [set("istio.version", "1.30.4")]);
    assert.equal(p.alternative?.flow, "canary");
  });

  it("WHEN the config leaves istio.version to the default THEN the deployed version is the current one, and adopting pins it", () => {
    const p = planUpgrade({
      state: state({}),
      deployedVersion: "1.30.4",
      to: "1.30.5",
      inPlace: false,
    });
    assert.equal(p.from, "1.30.4");
    assert.deepEqual(p.steps[0].changes[0], set("istio.version", "1.30.4"));
    assert.deepEqual(p.steps[0].rollback[0], rm("istio.version"));
  });

  it("WHEN ambient goes in place THEN istio-cni and ztunnel follow the control plane, and the connection reset is said", () => {
    const p = planUpgrade({
      state: state({ version: "1.30.4", dataplane: "ambient" }),
      to: "1.30.5",
      inPlace: true,
    });
    assert.match(
      p.steps[0].restarts.join("\n"),
      /istio-cni, then ztunnel: .*resets long-lived connections on each node/,
    );
    assert.equal(p.alternative, undefined);
  });

  it("WHEN the stack runs revisions with a canary tag, a pinned namespace and an explicit default THEN canary moves first, prod and the pin next, the default with the removal", () => {
    const istio = {
      version: "1.30.4",
      revisions: {
        blue: {
          version: "1.30.4",
          values: { istiodRemote: { injectionURL: "https://x" } },
        },
      },
      tags: { prod: "blue", canary: "blue" },
      defaultRevision: "blue",
      namespaceTags: { bookinfo: "canary", "mesh-demo": "blue" },
    };
    const p = planUpgrade({
      state: state(istio),
      to: "1.30.5",
      inPlace: false,
      revisionName: "green",
    });
    let at: Json = istio;
    for (const s of p.steps) {
      at = applyChanges(at, s.changes);
      validateConfig({
        canary: { weights: { v1: 100 } },
        bookinfo: { enabled: true },
        istio: at,
      });
    }
    assert.equal(p.steps[0].done, true);
    assert.deepEqual(p.steps[1].changes, [
      set("istio.version", "1.30.5"),
      set("istio.revisions.green.version", "1.30.5"),
      set("istio.tags.canary", "green"),
    ]);
    assert.match(
      p.steps[1].restarts.join("\n"),
      /namespaces on tag canary roll onto green/,
    );
    assert.match(
      p.steps[1].notes.join("\n"),
      /revision blue has values \(istiodRemote\); green gets none/,
    );
    assert.deepEqual(p.steps[2].changes, [
      set("istio.tags.prod", "green"),
      set("istio.namespaceTags.mesh-demo", "green"),
    ]);
    assert.deepEqual(p.steps[3].changes, [
      rm("istio.revisions.blue"),
      set("istio.defaultRevision", "green"),
    ]);
    assert.match(
      p.steps[3].notes.join("\n"),
      /rolling back re-adds revision blue without its values \(istiodRemote\)/,
    );
    assert.equal(p.alternative, undefined, "no in-place on revisions");
  });

  it("WHEN an upgrade is half done THEN the plan goes on from there, and a finished one is refused", () => {
    const added = {
      version: "1.30.5",
      revisions: { a: { version: "1.30.4" }, b: { version: "1.30.5" } },
      tags: { prod: "a" },
    };
    const p = planUpgrade({
      state: state(added),
      to: "1.30.5",
      inPlace: false,
    });
    assert.deepEqual(
      p.steps.map((s) => s.done),
      [true, true, false, false],
    );
    assert.equal(p.from, "1.30.4");
    assert.deepEqual(p.steps[2].changes, [set("istio.tags.prod", "b")]);
    const moved = { ...added, tags: { prod: "b" } };
    const q = planUpgrade({
      state: state(moved),
      to: "1.30.5",
      inPlace: false,
    });
    assert.deepEqual(
      q.steps.map((s) => s.done),
      [true, true, true, false],
    );
    assert.deepEqual(q.steps[3].changes, [rm("istio.revisions.a")]);
    const done = {
      version: "1.30.5",
      revisions: { b: { version: "1.30.5" } },
      tags: { prod: "b" },
    };
    assert.match(
      refused({ state: state(done) }),
      /already runs 1.30.5 as its only revision \(b\); nothing to upgrade/,
    );
  });

  it("WHEN an upgrade was rolled back (prod moved back) THEN --to the old version removes the new revision", () => {
    const back = {
      version: "1.30.5",
      revisions: { a: { version: "1.30.4" }, b: { version: "1.30.5" } },
      tags: { prod: "a" },
    };
    const p = planUpgrade({ state: state(back), to: "1.30.4", inPlace: false });
    assert.deepEqual(
      p.steps.map((s) => s.done),
      [true, true, true, false],
    );
    assert.deepEqual(p.steps[3].changes, [
      set("istio.version", "1.30.4"),
      rm("istio.revisions.b"),
    ]);
  });

  it("WHEN the target is a patch below the current one THEN it is planned with a note", () => {
    const p = planUpgrade({
      state: state({ version: "1.30.5" }),
      to: "1.30.4",
      inPlace: true,
    });
    assert.match(
      p.notes.join("\n"),
      /older than 1.30.5: a patch downgrade within 1.30/,
    );
  });
});

describe("npm run upgrade: what the plan refuses", () => {
  const on = (v: string, more: Json = {}) => state({ version: v, ...more });
  const minors = {
    "1.30": "1.30.5",
    "1.31": "1.31.1",
    "1.32": "1.32.0",
    "1.33": "1.33.0",
  };
  const cases: Array<
    [
      string,
      Partial<PlanInput> & { state: IstioState },
      RegExp,
      Record<string, string>?,
    ]
  > = [
    [
      "not a release",
      { state: on("1.30.4"), to: "v1.30.5" },
      /^--to "v1.30.5" is not an Istio release: give major.minor.patch, e.g. --to 1.31.1$/,
    ],
    [
      "a pre-release",
      { state: on("1.30.4"), to: "1.31.0-beta.1" },
      /is not an Istio release/,
    ],
    [
      "an unknown minor",
      { state: on("1.30.4"), to: "1.32.0" },
      /renders the chart values of Istio 1.30 and 1.31 only, not 1.32; use one of 1.30.5, 1.31.1/,
    ],
    [
      "the current version",
      { state: on("1.30.5") },
      /^--to 1.30.5: the stack already runs 1.30.5; nothing to upgrade/,
    ],
    [
      "the current version in place",
      { state: on("1.30.5"), inPlace: true },
      /already runs 1.30.5 \(istio.version\)/,
    ],
    [
      "a downgrade across minors",
      { state: on("1.31.1"), to: "1.30.5" },
      /downgrade across minors from 1.31.1: Istio does not support it\. To undo a canary upgrade, move the tag back \(pulumi config set --path istio.tags.prod <old revision>/,
    ],
    [
      "two minors in place",
      { state: on("1.30.4"), to: "1.32.0", inPlace: true },
      /jumps 2 minors from 1.30.4: in place, Istio upgrades one minor at a time\. Go to 1.31.1 first \(--in-place --to 1.31.1\), or drop --in-place/,
      minors,
    ],
    [
      "three minors by canary",
      { state: on("1.30.4"), to: "1.33.0" },
      /jumps 3 minors from 1.30.4: a canary upgrade may skip one minor at most\. Go to 1.32.0 first \(--to 1.32.0\)/,
      minors,
    ],
    [
      "ambient by canary",
      { state: on("1.30.4", { dataplane: "ambient" }) },
      /istio.dataplane is ambient, and ztunnel and istio-cni have no canary upgrade: use --in-place \(the control plane first, then istio-cni, then ztunnel: the chart order; ztunnel's upgrade resets long-lived connections on each node\)/,
    ],
    [
      "in place on revisions",
      {
        state: on("1.30.4", {
          revisions: { a: { version: "1.30.4" } },
          tags: { prod: "a" },
        }),
        inPlace: true,
      },
      /runs istiod as revisions \(a\); upgrade it by canary: drop --in-place/,
    ],
    [
      "a third revision",
      {
        state: on("1.30.5", {
          revisions: { a: { version: "1.30.4" }, b: { version: "1.30.5" } },
          tags: { prod: "a" },
        }),
        to: "1.31.1",
      },
      /already has two revisions \(a on 1.30.4, b on 1.30.5\), the most it runs: finish the upgrade in progress/,
    ],
    [
      "a taken revision name",
      {
        state: on("1.30.4", {
          revisions: { "1-30-5": { version: "1.30.4" } },
          tags: { prod: "1-30-5" },
        }),
      },
      /default name 1-30-5 is taken by revision 1-30-5 on 1.30.4; name another with --revision-name <name>/,
    ],
    [
      "a revision name on another version",
      {
        state: on("1.30.4", {
          revisions: { a: { version: "1.30.4" } },
          tags: { prod: "a" },
        }),
        revisionName: "a",
      },
      /--revision-name a: the stack already has revision a on 1.30.4, not 1.30.5/,
    ],
    [
      "a revision named like a tag",
      {
        state: on("1.30.4", {
          revisions: { a: { version: "1.30.4" } },
          tags: { prod: "a" },
        }),
        revisionName: "prod",
      },
      /--revision-name prod: prod is a tag of the stack/,
    ],
    [
      "revisions without prod",
      {
        state: on("1.30.4", {
          revisions: { a: { version: "1.30.4" } },
          tags: {},
        }),
      },
      /istio.tags.prod is not set: point it at the running revision first, e.g. 'pulumi config set --path istio.tags.prod a'/,
    ],
    [
      "no version anywhere",
      { state: state({}) },
      /no istio.version and the stack has no istioVersion output: deploy it first/,
    ],
  ];
  for (const [what, input, message, table] of cases) {
    it(`WHEN ${what} THEN it is refused, naming the fix`, () => {
      assert.match(refused(input, table), message);
    });
  }

  it("WHEN the config's istio section is malformed THEN reading it says which key and the fix", () => {
    assert.throws(
      () => state({ revisions: { a: {} } }),
      /istio.revisions.a has no version .*pulumi config set --path istio.revisions.a.version 1.30.4/,
    );
    assert.throws(
      () => state({ tags: ["a"] }),
      /istio.tags is not a map of names to names/,
    );
  });

  it("WHEN a command's path or value needs quoting THEN the shell gets one word", () => {
    assert.equal(
      changeCommand("dev", set("istio.tags.prod", "a b")),
      "pulumi config set --stack dev --path istio.tags.prod 'a b'",
    );
    assert.equal(
      changeCommand("acme/mesh/prod", rm("istio.revisions.1-30-4")),
      "pulumi config rm --stack acme/mesh/prod --path istio.revisions.1-30-4",
    );
  });
});
