// Who owns the fields this stack declares: the stack, always. Pulumi applies every Kubernetes
// object with server-side apply, under a field manager named per object and per create
// (`pulumi-kubernetes-<random>`). Without force, the API server refuses an apply that changes a
// field another manager owns, which happens in two ordinary ways:
//   - a hand edit (`kubectl patch`, `kubectl edit`): `pulumi up --refresh`, which should restore
//     the config, fails with "Server-Side Apply field conflict ... conflict with kubectl-patch";
//   - an interrupted `up`: an object created but not recorded is applied again by the next `up`
//     under a new manager name, and the old name keeps co-owning every field, so the next canary
//     weight shift fails with "conflict with pulumi-kubernetes-<old>".
// The provider's `pulumi.com/patchForce` annotation makes the apply take those fields back. Helm
// releases are not applied this way (Helm owns their objects) and are left alone.
import * as pulumi from "@pulumi/pulumi";

/** The provider's per-object switch for forced server-side apply. */
export const FORCE_APPLY_ANNOTATION = "pulumi.com/patchForce";

/** True for the Kubernetes objects Pulumi applies itself (not Helm releases, not the provider). */
export function isAppliedObject(type: string): boolean {
  return (
    type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/")
  );
}

type Annotations =
  pulumi.Input<Record<string, pulumi.Input<string>>> | undefined;

function withForce(annotations: Annotations): Annotations {
  const force = { [FORCE_APPLY_ANNOTATION]: "true" };
  if (annotations === undefined) {
    return force;
  }
  if (pulumi.Output.isInstance(annotations) || annotations instanceof Promise) {
    return pulumi.output(annotations).apply((a) => ({ ...a, ...force }));
  }
  return { ...annotations, ...force };
}

/**
 * A stack transformation (registered by index.ts before any resource) that adds
 * `pulumi.com/patchForce: "true"` to the metadata of every object Pulumi applies, keeping the
 * metadata a plain object so that names stay known in previews. It is a (legacy) stack
 * transformation because those run in the SDK, where the test mocks see them too.
 */
export const forceApply: pulumi.ResourceTransformation = (args) => {
  const metadata = args.props.metadata;
  if (!isAppliedObject(args.type) || metadata === undefined) {
    return undefined;
  }
  const props = { ...args.props };
  if (pulumi.Output.isInstance(metadata) || metadata instanceof Promise) {
    props.metadata = pulumi.output(metadata).apply((m) => ({
      ...m,
      annotations: { ...m.annotations, [FORCE_APPLY_ANNOTATION]: "true" },
    }));
  } else {
    props.metadata = {
      ...metadata,
      annotations: withForce(metadata.annotations),
    };
  }
  return { props, opts: args.opts };
};
