// Typed finders over a rendering: each returns the recorded resource with its inputs typed as the
// Kubernetes API or our Istio types spell them, so a test reads `route(vs, "weighted").timeout`
// rather than digging through untyped JSON.
import type * as k8s from "@pulumi/kubernetes";
import {
  ISTIO_API_VERSIONS,
  type HTTPRoute,
  type IstioKind,
  type IstioSpecs,
  type VirtualServiceSpec,
} from "../../components/core";
import type { RecordedResource, Rendering } from "./mocks";

/** Object metadata as the components set it. */
export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject<Spec> {
  metadata: Meta;
  spec: Spec;
}
export type DeploymentInputs =
  K8sObject<k8s.types.output.apps.v1.DeploymentSpec>;
export type ServiceInputs = K8sObject<k8s.types.output.core.v1.ServiceSpec>;
export type NetworkPolicyInputs =
  K8sObject<k8s.types.output.networking.v1.NetworkPolicySpec>;
export interface ServiceAccountInputs {
  metadata: Meta;
  automountServiceAccountToken: boolean;
}
export interface NamespaceInputs {
  metadata: Meta;
}
export interface ConfigMapInputs {
  metadata: Meta;
  data: Record<string, string>;
}
export interface SecretInputs {
  metadata: Meta;
  /** A recorded secret (see secretValue). */
  stringData: unknown;
}
export interface IstioInputs<K extends IstioKind> extends K8sObject<
  IstioSpecs[K]
> {
  apiVersion: string;
  kind: K;
}
/** A helm.v3.Release's inputs; `V` types the values where a test knows their builder. */
export interface ReleaseInputs<V = Record<string, unknown>> {
  name: string;
  chart: string;
  version?: string;
  repositoryOpts?: { repo: string };
  namespace: string;
  values: V;
  skipAwait: boolean;
  timeout: number;
}

/** Type tokens of the Kubernetes resources the stack registers. */
export const TYPE = {
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  namespace: "kubernetes:core/v1:Namespace",
  configMap: "kubernetes:core/v1:ConfigMap",
  secret: "kubernetes:core/v1:Secret",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  release: "kubernetes:helm.sh/v3:Release",
  password: "random:index/randomPassword:RandomPassword",
} as const;

/** Every resource of a type token. */
export function byType<I = Record<string, unknown>>(
  r: Rendering,
  type: string,
): RecordedResource<I>[] {
  return r.resources.filter((x) => x.type === type) as RecordedResource<I>[];
}

/** `type::name`, as dependsOn and parent record a resource. */
export const ref = (x: RecordedResource<unknown>) => `${x.type}::${x.name}`;

export function one<T extends RecordedResource<unknown>>(
  list: T[],
  what: string,
): T {
  if (list.length !== 1) {
    throw new Error(
      `expected exactly one ${what}, found ${list.length}: ${list.map((x) => x.name).join(", ")}`,
    );
  }
  return list[0];
}

/** The one resource of a list with this metadata.name (and namespace, when given). */
export function named<I extends { metadata?: Meta }>(
  list: RecordedResource<I>[],
  name: string,
  namespace?: string,
): RecordedResource<I> {
  return one(
    list.filter(
      (x) =>
        x.inputs.metadata?.name === name &&
        (namespace === undefined || x.inputs.metadata?.namespace === namespace),
    ),
    namespace ? `${namespace}/${name}` : name,
  );
}

/** The resources in one namespace. */
export const inNamespace = <I extends { metadata?: Meta }>(
  list: RecordedResource<I>[],
  namespace: string,
) => list.filter((x) => x.inputs.metadata?.namespace === namespace);

export const deployments = (r: Rendering) =>
  byType<DeploymentInputs>(r, TYPE.deployment);
export const services = (r: Rendering) =>
  byType<ServiceInputs>(r, TYPE.service);
export const serviceAccounts = (r: Rendering) =>
  byType<ServiceAccountInputs>(r, TYPE.serviceAccount);
export const namespaces = (r: Rendering) =>
  byType<NamespaceInputs>(r, TYPE.namespace);
export const releases = (r: Rendering) =>
  byType<ReleaseInputs>(r, TYPE.release);

/** The pod spec of a Deployment, by the Deployment's name. */
export function podOf(
  r: Rendering,
  deployment: string,
  namespace?: string,
): k8s.types.output.core.v1.PodSpec {
  return named(deployments(r), deployment, namespace).inputs.spec.template.spec;
}

/** The Helm release with this release name. */
export function release<V = Record<string, unknown>>(
  r: Rendering,
  releaseName: string,
): RecordedResource<ReleaseInputs<V>> {
  return one(
    byType<ReleaseInputs<V>>(r, TYPE.release).filter(
      (x) => x.inputs.name === releaseName,
    ),
    `release ${releaseName}`,
  );
}

/** Every Istio custom resource (kubernetes:<group>.istio.io/<version>:<Kind>), or those of one kind. */
export function istioResources<K extends IstioKind>(
  r: Rendering,
  kind?: K,
): RecordedResource<IstioInputs<K>>[] {
  return r.resources.filter(
    (x) =>
      /^kubernetes:[a-z.]+\.istio\.io\/[^:]+:/.test(x.type) &&
      (kind === undefined ||
        x.type === `kubernetes:${ISTIO_API_VERSIONS[kind]}:${kind}`),
  ) as unknown as RecordedResource<IstioInputs<K>>[];
}

/** The one Istio resource of `kind` with this name (and namespace). */
export const istioResource = <K extends IstioKind>(
  r: Rendering,
  kind: K,
  name: string,
  namespace?: string,
) => named(istioResources(r, kind), name, namespace);

/** The spec of the one Istio resource of `kind` with this name (and namespace). */
export const specOf = <K extends IstioKind>(
  r: Rendering,
  kind: K,
  name: string,
  namespace?: string,
): IstioSpecs[K] => istioResource(r, kind, name, namespace).inputs.spec;

/** The HTTP route of a VirtualService with this name ("weighted", "header-1-v2", "frontend"). */
export function route(vs: VirtualServiceSpec, name: string): HTTPRoute {
  const found = vs.http.filter((h) => h.name === name);
  if (found.length !== 1) {
    throw new Error(
      `expected one route ${name}, found ${vs.http.map((h) => h.name).join(", ")}`,
    );
  }
  return found[0];
}

/** A route's split: [subset, weight] per destination. */
export const split = (r: HTTPRoute) =>
  r.route.map((d) => [d.destination.subset, d.weight]);

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
