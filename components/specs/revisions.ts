// istiod as revisions (istio.revisions): each revision's chart values, and the revision tags'
// injection webhooks. Pure.
import type * as k8s from "@pulumi/kubernetes";
import { ISTIO_NAMESPACE } from "../core";
import type { IstioConfig, IstioRevision } from "../config";
import { type ChartValues, mergeValues } from "./mergeValues";
import type { IstiodValues } from "./istioValues";

/** The Helm release (and its Pulumi name's suffix) of one revision's istiod. */
export const revisionRelease = (revision: string): string =>
  `istiod-${revision}`;

/** The name of a revision tag's webhook configuration, as `istioctl tag set` names it. */
export const tagWebhookName = (tag: string): string =>
  `istio-revision-tag-${tag}`;

/**
 * The istio config a revision's istiod is rendered from: its version (chart and image tag) and
 * its own extra values over istio.values.istiod. Everything else is the stack's.
 */
export function revisionConfig(
  istio: IstioConfig,
  revision: IstioRevision,
): IstioConfig {
  return {
    ...istio,
    version: revision.version,
    tag: revision.version,
    values: {
      ...istio.values,
      istiod: mergeValues(istio.values.istiod, revision.values),
    },
  };
}

/** A revision's istiod values: the stack's, with `revision` set (names, labels, webhooks). */
export function withRevision(
  values: ChartValues<IstiodValues>,
  revision: string,
): ChartValues<IstiodValues & { readonly revision: string }> {
  return { ...values, revision };
}

/** Where a tag's webhook sends pods: the revision's istiodRemote.injectionURL, else its Service. */
function clientConfig(
  values: Readonly<Record<string, unknown>>,
  revision: string,
): k8s.types.input.admissionregistration.v1.WebhookClientConfig {
  const remote = (values.istiodRemote ?? {}) as Record<string, unknown>;
  const url =
    typeof remote.injectionURL === "string" ? remote.injectionURL : "";
  const ca =
    typeof remote.injectionCABundle === "string"
      ? remote.injectionCABundle
      : "";
  if (url) {
    return { url, ...(ca ? { caBundle: ca } : {}) };
  }
  return {
    // istiod fills in the caBundle of every webhook configuration labelled with its revision.
    service: {
      name: revisionRelease(revision),
      namespace: ISTIO_NAMESPACE,
      path: "/inject",
      port: 443,
    },
  };
}

/**
 * A revision tag: the injection webhook configuration `istio-revision-tag-<tag>`, as Istio's
 * chart (templates/revision-tags-mwc.yaml) and `istioctl tag set` make it: pods in namespaces
 * labelled istio.io/rev=<tag> (and not istio-injection, which wins), and pods labelled
 * istio.io/rev=<tag> in unlabelled namespaces, go to the revision's injector. The labels
 * istio.io/tag and istio.io/rev tell istiod (and istioctl) which revision the tag points at.
 * The stack owns it, not a release: moving the tag is one update of this object.
 */
export function tagWebhookConfiguration(
  tag: string,
  revision: string,
  revisionValues: Readonly<Record<string, unknown>>,
): k8s.types.input.admissionregistration.v1.MutatingWebhookConfiguration {
  const notOptedOut = {
    key: "sidecar.istio.io/inject",
    operator: "NotIn",
    values: ["false"],
  };
  const webhook = (
    prefix: string,
    namespaceSelector: k8s.types.input.meta.v1.LabelSelector,
    objectSelector: k8s.types.input.meta.v1.LabelSelector,
  ): k8s.types.input.admissionregistration.v1.MutatingWebhook => ({
    name: `${prefix}.sidecar-injector.istio.io`,
    clientConfig: clientConfig(revisionValues, revision),
    sideEffects: "None",
    rules: [
      {
        operations: ["CREATE"],
        apiGroups: [""],
        apiVersions: ["v1"],
        resources: ["pods"],
      },
    ],
    // A pod the injector cannot reach is refused, never started without its proxy.
    failurePolicy: "Fail",
    reinvocationPolicy: "Never",
    admissionReviewVersions: ["v1"],
    namespaceSelector,
    objectSelector,
  });
  return {
    metadata: {
      name: tagWebhookName(tag),
      labels: {
        "istio.io/tag": tag,
        "istio.io/rev": revision,
        app: "sidecar-injector",
        "app.kubernetes.io/name": "istiod",
      },
    },
    webhooks: [
      webhook(
        "rev.namespace",
        {
          matchExpressions: [
            { key: "istio.io/rev", operator: "In", values: [tag] },
            { key: "istio-injection", operator: "DoesNotExist" },
          ],
        },
        { matchExpressions: [notOptedOut] },
      ),
      webhook(
        "rev.object",
        {
          matchExpressions: [
            { key: "istio.io/rev", operator: "DoesNotExist" },
            { key: "istio-injection", operator: "DoesNotExist" },
          ],
        },
        {
          matchExpressions: [
            notOptedOut,
            { key: "istio.io/rev", operator: "In", values: [tag] },
          ],
        },
      ),
    ],
  };
}
