// What the cluster runs of Istio's control plane, read before any change (kubectl, the current
// context, as for the Gateway API CRDs), and the upgrades the stack refuses because of it:
// an in-place jump of more than one minor (Istio supports one minor at a time in place), and a
// revision removed while a namespace the stack does not manage still uses it (its new pods would
// be refused, or started without a proxy). Registers nothing.
import { DEFAULT_TAG, minorGap, type RevisionSettings } from "./istioRevisions";
import { type CommandRunner, runCommand } from "./gatewayApiCrds";
import { show } from "./show";

/** One istiod Deployment of istio-system: its revision ("default" without) and version. */
export interface InstalledIstiod {
  readonly revision: string;
  readonly version: string;
}

/** A namespace's injection labels. */
export interface NamespaceLabels {
  readonly name: string;
  readonly rev?: string;
  readonly injection?: string;
}

export interface InstalledIstio {
  readonly istiods: readonly InstalledIstiod[];
  readonly namespaces: readonly NamespaceLabels[];
  /** Revision tags installed (injection webhooks labelled istio.io/tag): tag -> revision. */
  readonly tags: Readonly<Record<string, string>>;
}

interface Item {
  metadata?: { name?: string; labels?: Record<string, string> };
  kind?: string;
  spec?: {
    template?: { spec?: { containers?: { name?: string; image?: string }[] } };
  };
}

/**
 * Reads istio-system's istiod Deployments, the namespaces' injection labels and the revision
 * tags. Undefined, with the reason, when the cluster cannot be read: the checks then cannot run
 * (the caller warns), which is no reason to stop a deploy to a cluster kubectl does not reach.
 */
export function readInstalledIstio(
  kubectl: string,
  run: CommandRunner = runCommand,
): InstalledIstio | { readonly unreadable: string } {
  let deployments: Item[];
  let others: Item[];
  try {
    const get = (args: string[]) =>
      (
        JSON.parse(run(kubectl, ["get", ...args, "-o", "json"])) as {
          items?: Item[];
        }
      ).items ?? [];
    deployments = get([
      "deployments",
      "-n",
      "istio-system",
      "-l",
      "app=istiod",
    ]);
    others = get(["namespaces,mutatingwebhookconfigurations"]);
  } catch (e) {
    const err = e as Error & { stderr?: string };
    return { unreadable: String(err.stderr ?? "").trim() || err.message };
  }
  const istiods = deployments.map((d) => {
    const labels = d.metadata?.labels ?? {};
    const image =
      d.spec?.template?.spec?.containers?.find((c) => c.name === "discovery")
        ?.image ?? "";
    return {
      revision: labels["istio.io/rev"] ?? "default",
      version:
        labels["app.kubernetes.io/version"] ?? image.split(":").at(-1) ?? "",
    };
  });
  const namespaces = others
    .filter((o) => o.kind === "Namespace")
    .map((n) => ({
      name: n.metadata?.name ?? "",
      rev: n.metadata?.labels?.["istio.io/rev"],
      injection: n.metadata?.labels?.["istio-injection"],
    }));
  const tags: Record<string, string> = {};
  for (const w of others.filter(
    (o) => o.kind === "MutatingWebhookConfiguration",
  )) {
    const l = w.metadata?.labels ?? {};
    if (l["istio.io/tag"] && l["istio.io/rev"]) {
      tags[l["istio.io/tag"]] = l["istio.io/rev"];
    }
  }
  return { istiods, namespaces, tags };
}

/**
 * The reasons to refuse this change of the control plane, given what the cluster runs; [] when
 * there is none. `stackNamespaces` are the namespaces whose labels the stack sets (they move
 * with the config in the same `up`).
 */
export function refuseIstioChange(
  istio: RevisionSettings & { readonly version: string },
  installed: InstalledIstio,
  stackNamespaces: readonly string[],
): string[] {
  const reasons: string[] = [];
  const wanted: Record<string, string> = istio.revisions
    ? Object.fromEntries(
        Object.entries(istio.revisions).map(([r, v]) => [r, v.version]),
      )
    : { default: istio.version };
  for (const { revision, version } of installed.istiods) {
    const next = wanted[revision];
    const key = istio.revisions
      ? `istio.revisions.${revision}.version`
      : "istio.version";
    if (next !== undefined && version && minorGap(version, next) > 1) {
      reasons.push(
        `${key} moves istiod ${revision === "default" ? "" : `revision ${revision} `}in place from ${version} to ${next} (got ${show(next)}); Istio upgrades in place one minor at a time. Go through the minor between, or upgrade by revision (a canary may skip one minor): docs/upgrades.md, "Upgrading Istio"`,
      );
    }
  }
  const removed = installed.istiods
    .map((i) => i.revision)
    .filter((r) => wanted[r] === undefined);
  // Tags that keep pointing somewhere after this up, and those that go.
  const tagsAfter = istio.revisions ? istio.tags : {};
  for (const ns of installed.namespaces) {
    if (stackNamespaces.includes(ns.name)) {
      continue;
    }
    const label =
      ns.rev ?? (ns.injection === "enabled" ? "default" : undefined);
    if (label === undefined) {
      continue;
    }
    const target = tagsAfter[label] ?? label;
    const wasTag = installed.tags[label] !== undefined;
    if (
      removed.includes(target) ||
      (wasTag && tagsAfter[label] === undefined && !wanted[label])
    ) {
      reasons.push(
        `namespace ${ns.name} (not the stack's) is labelled ${ns.rev !== undefined ? `istio.io/rev=${ns.rev}` : "istio-injection=enabled"}, which this up would leave without an istiod (removed: ${removed.join(", ") || label}); its new pods would be refused or run without a proxy. Move it first: 'kubectl label namespace ${ns.name} istio.io/rev=${DEFAULT_TAG} --overwrite' (and remove istio-injection), then restart its workloads`,
      );
    }
  }
  return reasons;
}

/** The namespaces whose injection labels the stack sets: they move with the config. */
export function labelledNamespaces(config: {
  readonly demo: { readonly enabled: boolean };
  readonly appNamespace: string;
  readonly bookinfo: { readonly enabled: boolean; readonly namespace: string };
  readonly services: readonly { readonly namespace: string }[];
  readonly externalNamespaces: readonly string[];
  readonly ingress: { readonly namespace: string };
  readonly egress: {
    readonly namespace: string;
    readonly hosts: readonly unknown[];
  };
}): string[] {
  return [
    ...(config.demo.enabled ? [config.appNamespace] : []),
    ...(config.bookinfo.enabled ? [config.bookinfo.namespace] : []),
    ...config.services
      .map((s) => s.namespace)
      .filter((ns) => !config.externalNamespaces.includes(ns)),
    config.ingress.namespace,
    ...(config.egress.hosts.length > 0 ? [config.egress.namespace] : []),
  ].filter((ns, i, all) => all.indexOf(ns) === i);
}
