// The one mocks module: records every resource registered under it (with the options that decide
// ordering and ownership) and fails on any invoke it was not taught, so a missing mock fails
// loudly. Component tests render one component with it; program tests render index.ts.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "service-mesh";
export const STACK = "dev";

/** What the engine would receive for one resource. `I` types its inputs for a finder. */
export interface RecordedResource<I = Record<string, unknown>> {
  type: string;
  name: string;
  inputs: I;
  custom: boolean;
  /** Provider reference the engine would use ("urn::id"), for custom resources. */
  provider?: string;
  /** `type::name` of every resource named in dependsOn. */
  dependsOn: string[];
  /** `type::name` of the parent, if any. */
  parent?: string;
  /** The retainOnDelete option, when set. */
  retainOnDelete?: boolean;
}

/** Outputs the program reads that providers compute, by resource type. */
const OUTPUTS: Record<string, Record<string, unknown>> = {
  "random:index/randomPassword:RandomPassword": { result: "mock-password" },
  // The stack's one dynamic resource, LinkerdIdentity (components/linkerd/identity.ts).
  "pulumi-nodejs:dynamic:Resource": {
    trustAnchorPem: "mock-anchor-pem",
    trustAnchorKeyPem: "mock-anchor-key-pem",
    issuerCertPem: "mock-issuer-pem",
    issuerKeyPem: "mock-issuer-key-pem",
  },
};

interface Named {
  __pulumiType?: string;
  __name?: string;
}
const key = (r: Named) => `${r.__pulumiType}::${r.__name}`;

export class Recorder implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  private readonly options = new Map<
    string,
    { dependsOn: string[]; parent?: string; retainOnDelete?: boolean }
  >();

  newResource(args: pulumi.runtime.MockResourceArgs): {
    id: string;
    state: Record<string, unknown>;
  } {
    const opts = this.options.get(`${args.type}::${args.name}`) ?? {
      dependsOn: [],
    };
    this.resources.push({
      type: args.type,
      name: args.name,
      inputs: args.inputs as Record<string, unknown>,
      custom: args.custom ?? false,
      provider: args.provider,
      dependsOn: opts.dependsOn,
      parent: opts.parent,
      retainOnDelete: opts.retainOnDelete,
    });
    return {
      id: `${args.name}-id`,
      state: { ...args.inputs, ...(OUTPUTS[args.type] ?? {}) },
    };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    throw new Error(`unmocked invoke ${args.token}`);
  }

  /** A stack transformation that notes each resource's dependsOn and parent. */
  readonly transformation: pulumi.ResourceTransformation = (t) => {
    const deps = t.opts.dependsOn;
    const list = (Array.isArray(deps)
      ? deps
      : deps
        ? [deps]
        : []) as unknown as Named[];
    this.options.set(`${t.type}::${t.name}`, {
      dependsOn: list.map(key),
      parent: t.opts.parent
        ? key(t.opts.parent as unknown as Named)
        : undefined,
      retainOnDelete: t.opts.retainOnDelete,
    });
    return undefined;
  };
}

export interface Rendering {
  resources: RecordedResource[];
  /** Stack outputs, unwrapped to plain values. */
  outputs: Record<string, unknown>;
  /** The program's exports as it returned them (Outputs intact, e.g. to check secrecy). */
  exports: Record<string, unknown>;
}

// The SDK's own wait for outstanding registrations; not part of its public API.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as {
  waitForRPCs(): Promise<void>;
};
const root = path.resolve(__dirname, "..", "..");
/** test/support/standins/kubectl: answers the program's one read of the cluster. */
export const STANDIN_KUBECTL = path.join(__dirname, "standins", "kubectl");

/**
 * Runs `build` inside a fresh stack under fresh mocks with the given stack config (values as the
 * CLI stores them: objects as objects, scalars as strings) and returns what it registered and
 * returned. Rejects with the error `build` raised, with what was recorded attached.
 */
export async function render(
  build: () => Record<string, unknown> | void,
  config: Record<string, unknown> = {},
  /** Keys stored encrypted, as `pulumi config set --secret` leaves them. Defaults to none. */
  secretKeys: readonly string[] = [],
): Promise<Rendering> {
  const recorder = new Recorder();
  await pulumi.runtime.setMocks(recorder, PROJECT, STACK, false);
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    flat[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  pulumi.runtime.setAllConfig(
    flat,
    secretKeys.map((k) => `${PROJECT}:${k}`),
  );
  let failure: unknown;
  let returned: Record<string, unknown> = {};
  const outputs = await pulumi.runtime
    .runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation(recorder.transformation);
      returned = build() ?? {};
      return returned;
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
    outputs: (outputs ?? {}) as Record<string, unknown>,
    exports: returned,
  };
}

/**
 * Runs the whole program (index.ts) with the given stack config. The program runs at import, so
 * it is dropped from the module cache first; the components keep no module state, so they stay
 * loaded (and compiled) across renderings.
 */
export function renderProgram(
  config: Record<string, unknown>,
  secretKeys: readonly string[] = [],
): Promise<Rendering> {
  const program = path.join(root, "index");
  // The program reads the cluster's Gateway API CRDs with kubectl: a stand-in answers (no CRDs
  // unless STANDIN_GATEWAY_API names a bundle), so no test ever reaches a real cluster.
  process.env.SERVICE_MESH_KUBECTL = STANDIN_KUBECTL;
  return render(
    () => {
      delete require.cache[require.resolve(program)];
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(program) as Record<string, unknown>;
    },
    config,
    secretKeys,
  );
}

/** The dev stack's config, as Pulumi.dev.yaml ships it. */
export const DEV_CONFIG = {
  demo: { enabled: true },
  canary: { weights: { v1: 80, v2: 20 } },
};

let devRendering: Promise<Rendering> | undefined;

/** The dev stack rendered once and shared by every test that only reads it. */
export function renderDev(): Promise<Rendering> {
  devRendering ??= renderProgram(DEV_CONFIG);
  return devRendering;
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
export function secretValue<T>(v: unknown): T {
  if (!isSecret(v)) {
    throw new Error(`not a secret: ${JSON.stringify(v)}`);
  }
  return (v as { value: T }).value;
}
