// What every custom resource of this stack shares, whichever API it belongs to: its apiVersion
// comes from its kind, it is parented to the component that owns it (and takes its provider from
// there), and it waits for what must exist first (its CRDs, istiod, its namespace...).
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export function customResource<K extends string>(
  name: string,
  apiVersions: { readonly [kind in K]: string },
  args: { readonly kind: K; readonly metadata: object; readonly spec: object },
  opts: {
    readonly parent: pulumi.Resource;
    readonly dependsOn: readonly pulumi.Resource[];
  },
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: apiVersions[args.kind],
      kind: args.kind,
      metadata: args.metadata,
      spec: args.spec,
    },
    { parent: opts.parent, dependsOn: [...opts.dependsOn] },
  );
}
