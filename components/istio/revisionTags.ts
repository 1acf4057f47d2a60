// The revision tags of istiod as revisions (istio.revisions, istio.tags): one injection webhook
// configuration per tag, owned by the stack.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { IstioConfig } from "../config";
import { revisionConfig, tagWebhookConfiguration } from "../specs";

export interface RevisionTagsArgs {
  /** Validated config with revisions: istio.tags names the revision of each tag. */
  readonly istio: IstioConfig;
  /** Every revision's istiod release: each tag waits for all of them. */
  readonly releases: readonly pulumi.Resource[];
}

/**
 * `istio-revision-tag-<tag>` for each tag, as `istioctl tag set` makes them, but owned by the
 * stack rather than by a release (a tag moved from one release to another would be created by
 * one and deleted by the other; an unowned one outlives everything: istio/istio#55897). Moving a
 * tag is one update of its object. Each waits for every revision's release, so a tag moved to a
 * new revision is only updated once that istiod runs; application pods wait for this component
 * (Mesh.dataPlane), so they roll only after their tag moved.
 */
export class RevisionTags extends pulumi.ComponentResource {
  readonly webhooks: Record<
    string,
    k8s.admissionregistration.v1.MutatingWebhookConfiguration
  > = {};

  constructor(
    name: string,
    args: RevisionTagsArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:istio:RevisionTags", name, {}, opts);
    const { istio } = args;
    for (const [tag, rev] of Object.entries(istio.tags)) {
      const revision = istio.revisions?.[rev];
      if (!revision) {
        throw new Error(
          `istio.tags.${tag}: no revision ${rev} (validated config expected)`,
        );
      }
      this.webhooks[tag] =
        new k8s.admissionregistration.v1.MutatingWebhookConfiguration(
          `${name}-${tag}`,
          tagWebhookConfiguration(
            tag,
            rev,
            revisionConfig(istio, revision).values.istiod,
          ),
          { parent: this, dependsOn: [...args.releases] },
        );
    }
    this.registerOutputs({ tags: istio.tags });
  }
}
