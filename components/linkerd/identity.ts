// Linkerd's trust anchor and issuer, generated once by a dynamic resource and kept in the stack's
// state as secrets: a later `up` reuses them, so proxies keep trusting the same anchor.
import * as pulumi from "@pulumi/pulumi";
import {
  generateLinkerdIdentity,
  type LinkerdIdentityPems,
} from "./identityCerts";

interface IdentityInputs {
  readonly trustDomain: string;
  readonly anchorYears: number;
  readonly issuerDays: number;
}

/**
 * Runs in the engine's dynamic provider host: the closure is serialized with what it captures
 * (generateLinkerdIdentity and the npm modules it requires), so it must not use project paths.
 */
export const identityProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: IdentityInputs) {
    const pems = await generateLinkerdIdentity(inputs.trustDomain, new Date(), {
      anchorYears: inputs.anchorYears,
      issuerDays: inputs.issuerDays,
    });
    return {
      id: `linkerd-identity-${Date.now()}`,
      outs: { ...inputs, ...pems },
    };
  },
  // Any change of what shapes the certificates makes new ones (and so a new trust anchor).
  async diff(_id: string, olds: IdentityInputs, news: IdentityInputs) {
    const replaces = (
      ["trustDomain", "anchorYears", "issuerDays"] as const
    ).filter((k) => olds[k] !== news[k]);
    return {
      changes: replaces.length > 0,
      replaces,
      deleteBeforeReplace: false,
    };
  },
};

export interface LinkerdIdentityArgs {
  /** Linkerd's trust domain. Defaults to cluster.local. */
  readonly trustDomain?: string;
  /** Years the trust anchor is valid. Defaults to 10. */
  readonly anchorYears?: number;
  /** Days the issuer is valid. Defaults to 365. */
  readonly issuerDays?: number;
}

/**
 * A generated ECDSA P-256 trust anchor and issuer CA (identityCerts.ts), made once at create and
 * stored in the state; the private keys are secret outputs.
 *
 * Rotation: the issuer expires after `issuerDays`. `pulumi up --replace <this URN>` makes a new
 * anchor and issuer together: the control plane is upgraded with both, and every meshed pod must
 * then be restarted (`kubectl rollout restart`) to trust the new anchor. To rotate the issuer
 * alone under the same anchor, use a team PKI through linkerd.identity (LinkerdIdentityConfig).
 */
export class LinkerdIdentity extends pulumi.dynamic.Resource {
  declare readonly trustAnchorPem: pulumi.Output<string>;
  declare readonly trustAnchorKeyPem: pulumi.Output<string>;
  declare readonly issuerCertPem: pulumi.Output<string>;
  declare readonly issuerKeyPem: pulumi.Output<string>;

  constructor(
    name: string,
    args: LinkerdIdentityArgs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    const outs: Record<keyof LinkerdIdentityPems, undefined> = {
      trustAnchorPem: undefined,
      trustAnchorKeyPem: undefined,
      issuerCertPem: undefined,
      issuerKeyPem: undefined,
    };
    super(
      identityProvider,
      name,
      {
        trustDomain: args.trustDomain ?? "cluster.local",
        anchorYears: args.anchorYears ?? 10,
        issuerDays: args.issuerDays ?? 365,
        ...outs,
      },
      {
        ...opts,
        additionalSecretOutputs: ["trustAnchorKeyPem", "issuerKeyPem"],
      },
    );
  }
}
