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

const key = (r: { __pulumiType?: string; __name?: string }) => `${r.__pulumiType}::${r.__name}`;

export class Recorder implements pulumi.runtime.Mocks {
    readonly resources: RecordedResource[] = [];
    private readonly options = new Map<string, { dependsOn: string[]; parent?: string }>();

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        const opts = this.options.get(`${args.type}::${args.name}`) ?? { dependsOn: [] };
        this.resources.push({
            type: args.type,
            name: args.name,
            inputs: args.inputs,
            custom: args.custom ?? false,
            provider: args.provider,
            dependsOn: opts.dependsOn,
            parent: opts.parent,
        });
        return { id: `${args.name}-id`, state: { ...args.inputs } };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        throw new Error(`unmocked invoke ${args.token}`);
    }

    /** A stack transformation that notes each resource's dependsOn and parent. */
    readonly transformation: pulumi.ResourceTransformation = (t) => {
        const deps = t.opts.dependsOn;
        const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as unknown as Array<{ __pulumiType?: string; __name?: string }>;
        this.options.set(`${t.type}::${t.name}`, {
            dependsOn: list.map(key),
            parent: t.opts.parent ? key(t.opts.parent as unknown as { __pulumiType?: string; __name?: string }) : undefined,
        });
        return undefined;
    };
}

export interface Rendering {
    resources: RecordedResource[];
    outputs: Record<string, any>;
}

const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
const root = path.resolve(__dirname, "..");

/**
 * Runs the whole program (index.ts) under fresh mocks with the given stack config (values as the
 * CLI stores them: objects as objects, scalars as strings) and returns what it registered.
 * Rejects with the program's error, e.g. a ConfigError.
 */
export async function renderProgram(config: Record<string, unknown>): Promise<Rendering> {
    const recorder = new Recorder();
    await pulumi.runtime.setMocks(recorder, PROJECT, STACK, false);
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        flat[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(flat);
    // The program runs at import: drop our own modules from the cache so it runs again.
    for (const id of Object.keys(require.cache)) {
        if (id.startsWith(root) && !id.includes("node_modules") && !id.includes(`${path.sep}test${path.sep}`)) {
            delete require.cache[id];
        }
    }
    let failure: unknown;
    const outputs = await pulumi.runtime
        .runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation(recorder.transformation);
            return require(path.join(root, "index"));
        })
        .catch((e) => {
            failure = e;
            return undefined;
        });
    await settings.waitForRPCs();
    if (failure !== undefined) {
        throw Object.assign(failure as object, { recorded: recorder.resources });
    }
    return { resources: recorder.resources, outputs: (outputs ?? {}) as Record<string, any> };
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
export function istioResources(r: Rendering, kind?: string): RecordedResource[] {
    return r.resources.filter((x) => /^kubernetes:[a-z.]+\.istio\.io\/[^:]+:/.test(x.type) && (kind === undefined || x.inputs.kind === kind));
}

export function one(list: RecordedResource[], what: string): RecordedResource {
    if (list.length !== 1) {
        throw new Error(`expected exactly one ${what}, found ${list.length}: ${list.map((x) => x.name).join(", ")}`);
    }
    return list[0];
}
