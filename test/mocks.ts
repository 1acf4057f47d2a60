// The one mocks module: records every resource the program registers (with the options that
// decide ordering) and fails on any invoke it was not taught, so a missing mock fails loudly.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "service-mesh";
export const STACK = "dev";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  custom: boolean;
  /** Provider reference the engine would use ("urn::id"), for custom resources. */
  provider?: string;
  /** `type::name` of every resource named in dependsOn. */
  dependsOn: string[];
  /** `type::name` of the parent, if any. */
  parent?: string;
}

/** Outputs the program reads that providers compute, by resource type. */
const OUTPUTS: Record<string, Record<string, unknown>> = {
  "random:index/randomPassword:RandomPassword": { result: "mock-password" },
};

const key = (r: { __pulumiType?: string; __name?: string }) =>
  `${r.__pulumiType}::${r.__name}`;

export class Recorder implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  private readonly options = new Map<
    string,
    { dependsOn: string[]; parent?: string }
  >();

  newResource(args: pulumi.runtime.MockResourceArgs): {
    id: string;
    state: Record<string, any>;
  } {
    const opts = this.options.get(`${args.type}::${args.name}`) ?? {
      dependsOn: [],
    };
    this.resources.push({
      type: args.type,
      name: args.name,
      inputs: args.inputs,
      custom: args.custom ?? false,
      provider: args.provider,
      dependsOn: opts.dependsOn,
      parent: opts.parent,
    });
    return {
      id: `${args.name}-id`,
      state: { ...args.inputs, ...(OUTPUTS[args.type] ?? {}) },
    };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    throw new Error(`unmocked invoke ${args.token}`);
  }

  /** A stack transformation that notes each resource's dependsOn and parent. */
  readonly transformation: pulumi.ResourceTransformation = (t) => {
    const deps = t.opts.dependsOn;
    const list = (Array.isArray(deps)
      ? deps
      : deps
        ? [deps]
        : []) as unknown as Array<{ __pulumiType?: string; __name?: string }>;
    this.options.set(`${t.type}::${t.name}`, {
      dependsOn: list.map(key),
      parent: t.opts.parent
        ? key(
            t.opts.parent as unknown as {
              __pulumiType?: string;
              __name?: string;
            },
          )
        : undefined,
    });
    return undefined;
  };
}

export interface Rendering {
  resources: RecordedResource[];
  /** Stack outputs, unwrapped to plain values. */
  outputs: Record<string, any>;
  /** The program's exports as it returned them (Outputs intact, e.g. to check secrecy). */
  exports: Record<string, unknown>;
}

const settings = require("@pulumi/pulumi/runtime/settings") as {
  waitForRPCs(): Promise<void>;
};
const root = path.resolve(__dirname, "..");

/**
 * Runs the whole program (index.ts) under fresh mocks with the given stack config (values as the
 * CLI stores them: objects as objects, scalars as strings) and returns what it registered.
 * Rejects with the program's error, e.g. a ConfigError.
 */
export async function renderProgram(
  config: Record<string, unknown>,
): Promise<Rendering> {
  const recorder = new Recorder();
  await pulumi.runtime.setMocks(recorder, PROJECT, STACK, false);
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    flat[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  pulumi.runtime.setAllConfig(flat);
  // The program runs at import: drop it from the cache so it runs again. The components keep
  // no module state, so they stay loaded (and compiled) across renderings.
  delete require.cache[require.resolve(path.join(root, "index"))];
  let failure: unknown;
  let programExports: Record<string, unknown> = {};
  const outputs = await pulumi.runtime
    .runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation(recorder.transformation);
      programExports = require(path.join(root, "index"));
      return programExports;
    })
    .catch((e) => {
      failure = e;
      return undefined;
    });
  await settings.waitForRPCs();
  if (failure !== undefined) {
    throw Object.assign(failure as object, { recorded: recorder.resources });
  }
  return {
    resources: recorder.resources,
    outputs: (outputs ?? {}) as Record<string, any>,
    exports: programExports,
  };
}

/** The dev stack's config, as Pulumi.dev.yaml ships it. */
export const DEV_CONFIG = { canary: { weights: { v1: 80, v2: 20 } } };

let devRendering: Promise<Rendering> | undefined;

/** The dev stack rendered once and shared by every test that only reads it. */
export function renderDev(): Promise<Rendering> {
  devRendering ??= renderProgram(DEV_CONFIG);
  return devRendering;
}

/** Finders over a rendering. */
export function byType(r: Rendering, type: string): RecordedResource[] {
  return r.resources.filter((x) => x.type === type);
}

/** Istio custom resources (type tokens like kubernetes:networking.istio.io/v1:Gateway), optionally of one kind. */
export function istioResources(
  r: Rendering,
  kind?: string,
): RecordedResource[] {
  return r.resources.filter(
    (x) =>
      /^kubernetes:[a-z.]+\.istio\.io\/[^:]+:/.test(x.type) &&
      (kind === undefined || x.inputs.kind === kind),
  );
}

/** `type::name`, as dependsOn lists record a resource. */
export const ref = (x: RecordedResource) => `${x.type}::${x.name}`;

/** The one resource of a list with this Kubernetes metadata.name. */
export const named = (list: RecordedResource[], name: string) =>
  one(
    list.filter((x) => x.inputs.metadata?.name === name),
    name,
  );

/** The one Helm release with this release name. */
export const release = (r: Rendering, name: string) =>
  one(
    r.resources.filter(
      (x) =>
        x.type === "kubernetes:helm.sh/v3:Release" && x.inputs.name === name,
    ),
    `release ${name}`,
  );

/** The resources of `after` whose type, name, inputs or options differ from `before`'s. */
export function changedResources(
  before: Rendering,
  after: Rendering,
): string[] {
  const old = new Map(before.resources.map((x) => [ref(x), JSON.stringify(x)]));
  const keys = (r: Rendering) => r.resources.map(ref).sort();
  if (JSON.stringify(keys(before)) !== JSON.stringify(keys(after))) {
    throw new Error("the two renderings register different resources");
  }
  return after.resources
    .filter((x) => old.get(ref(x)) !== JSON.stringify(x))
    .map(ref);
}

export function one(list: RecordedResource[], what: string): RecordedResource {
  if (list.length !== 1) {
    throw new Error(
      `expected exactly one ${what}, found ${list.length}: ${list.map((x) => x.name).join(", ")}`,
    );
  }
  return list[0];
}

/** The signature Pulumi puts on a secret value when it serializes it for the engine. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isSecret(v: unknown): boolean {
  return (
    typeof v === "object" &&
    v !== null &&
    (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE
  );
}

/** The value inside a recorded secret; throws if it is not one. */
export function secretValue(v: unknown): any {
  if (!isSecret(v)) {
    throw new Error(`not a secret: ${JSON.stringify(v)}`);
  }
  return (v as Record<string, unknown>).value;
}
