// Egress control: the external hosts the mesh may reach, each through the egress gateway (Istio's
// `gateway` chart, sidecar data plane) or the egress namespace's waypoint (ambient), only for the
// callers named in config, and NetworkPolicies so that only the egress namespace reaches out.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  chartRelease,
  EGRESS_GATEWAY_NAME,
  EGRESS_GATEWAY_RELEASE,
  gatewayApiResource,
  gatewayPodLabels,
  gatewayInjector,
  gatewayRevision,
  injectionLabels,
  ISTIO_NAMESPACE,
  istioResource,
  type IstioKind,
  type IstioSpecs,
  type Mesh,
  meshNamespaceLabels,
  type RoutingPolicy,
  serviceHost,
  WAYPOINT_NAME,
  waypointLabels,
} from "../core";
import { type EgressConfig, hostSlug, type IstioConfig } from "../config";
import {
  appEgressPolicySpec,
  type CallTarget,
  egressAuthorizationSpec,
  egressCallTargets,
  egressGatewayRuleSpec,
  egressGatewaySpec,
  egressVirtualServiceSpec,
  gatewayEgressPolicySpec,
  gatewayValues,
  istioChartSource,
  originationRuleSpec,
  serviceEntrySpec,
  upstreamPort,
  waypointEgressAuthorizationSpec,
  waypointSpec,
} from "../specs";

export interface EgressGatewayArgs {
  /** The control plane: the gateway's pods wait for istiod, the waypoint for ztunnel. */
  readonly mesh: Mesh;
  /** Chart source and image (the gateway chart, as the ingress uses it). */
  readonly istio: IstioConfig;
  /** The validated egress config; its hosts are non-empty. */
  readonly egress: EgressConfig;
  /** Timeout, retries and connection pool of the routes to the hosts. */
  readonly policy: RoutingPolicy;
  /**
   * The app namespaces the stack owns, each the resource that creates it: with
   * egress.networkPolicies, each gets a policy letting its pods reach only the mesh and DNS.
   */
  readonly appNamespaces: Readonly<Record<string, pulumi.Resource>>;
  /** Every namespace of the mesh (istio-system, gateways, apps): where app pods may connect. */
  readonly meshNamespaces: readonly string[];
}

/**
 * The egress path of the mesh. Sidecar data plane: the egress gateway (release
 * EGRESS_GATEWAY_RELEASE, a ClusterIP Service with a port per host port), a Gateway with a
 * mutual-TLS server per host, a DestinationRule with a subset per host (the host as SNI), and
 * per host a ServiceEntry, a VirtualService (mesh -> gateway -> host) and, for TLS origination,
 * a DestinationRule; one AuthorizationPolicy on the gateway admits each host's callers. Ambient:
 * the namespace's waypoint serves the ServiceEntries, each with its own AuthorizationPolicy.
 */
export class EgressGateway extends pulumi.ComponentResource {
  readonly namespace: k8s.core.v1.Namespace;
  /** The gateway chart's release (sidecar data plane). */
  readonly release?: k8s.helm.v3.Release;
  /** The egress namespace's waypoint (ambient). */
  readonly waypoint?: k8s.apiextensions.CustomResource;
  readonly serviceEntries: k8s.apiextensions.CustomResource[] = [];
  readonly networkPolicies: k8s.networking.v1.NetworkPolicy[] = [];
  /** Each external host as its callers' Sidecars import it (egressCallTargets). */
  readonly callTargets: CallTarget[];

  constructor(
    name: string,
    args: EgressGatewayArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("service-mesh:istio:EgressGateway", name, {}, opts);
    const { mesh, egress } = args;
    const ambient = mesh.dataplane === "ambient";
    const ns = egress.namespace;
    this.callTargets = egressCallTargets(ns, egress.hosts);
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: ns,
          // Sidecar: the chart's gateway pods are completed by the injector. Ambient: the
          // waypoint serves every ServiceEntry of the namespace.
          labels: ambient
            ? meshNamespaceLabels("ambient", WAYPOINT_NAME)
            : injectionLabels(mesh.revisions?.labelOf(ns)),
        },
      },
      { parent: this },
    );
    const resource = <K extends IstioKind>(
      resourceName: string,
      kind: K,
      spec: IstioSpecs[K],
      dependsOn: pulumi.Resource[] = [],
    ) =>
      istioResource(
        `${name}-${resourceName}-${kind.toLowerCase()}`,
        { kind, metadata: { name: resourceName, namespace: ns }, spec },
        { parent: this, mesh, dependsOn: [this.namespace, ...dependsOn] },
      );

    for (const h of egress.hosts) {
      this.serviceEntries.push(
        resource(hostSlug(h.host), "ServiceEntry", serviceEntrySpec(h)),
      );
      if (h.originateTls) {
        resource(
          `${hostSlug(h.host)}-tls`,
          "DestinationRule",
          originationRuleSpec(h, args.policy),
        );
      }
    }

    if (ambient) {
      this.waypoint = gatewayApiResource(
        `${name}-waypoint`,
        {
          kind: "Gateway",
          metadata: {
            name: WAYPOINT_NAME,
            namespace: ns,
            labels: waypointLabels(),
          },
          spec: waypointSpec(),
        },
        { parent: this, mesh, dependsOn: [this.namespace, mesh.dataPlane] },
      );
      for (const h of egress.hosts) {
        resource(
          hostSlug(h.host),
          "AuthorizationPolicy",
          waypointEgressAuthorizationSpec(h),
          this.serviceEntries,
        );
      }
    } else {
      const podLabels = gatewayPodLabels(EGRESS_GATEWAY_RELEASE);
      const gatewayHost = serviceHost(EGRESS_GATEWAY_RELEASE, ns);
      const ports = [...new Map(egress.hosts.map((h) => [h.port, h])).values()];
      this.release = chartRelease(
        `${name}-gateway`,
        {
          releaseName: EGRESS_GATEWAY_RELEASE,
          namespace: ns,
          source: istioChartSource(args.istio, "gateway"),
          values: gatewayValues(
            args.istio,
            "ClusterIP",
            EGRESS_GATEWAY_RELEASE,
            ports.map((h) => ({
              name: `${h.protocol}-${h.port}`,
              port: h.port,
            })),
            !egress.networkPolicies,
            gatewayRevision(mesh, ns),
          ),
          skipAwait: mesh.skipAwait,
        },
        // The gateway pods use `image: auto` and are completed by istiod's injector (with
        // revisions, by their tag's).
        { parent: this, dependsOn: [this.namespace, gatewayInjector(mesh)] },
      );
      resource(
        EGRESS_GATEWAY_NAME,
        "Gateway",
        egressGatewaySpec(podLabels, egress.hosts),
      );
      const subsets = resource(
        EGRESS_GATEWAY_RELEASE,
        "DestinationRule",
        egressGatewayRuleSpec(
          gatewayHost,
          podLabels,
          egress.hosts,
          args.policy,
        ),
      );
      for (const h of egress.hosts) {
        // The routes name the gateway's subsets and the host: both must exist first.
        resource(
          hostSlug(h.host),
          "VirtualService",
          egressVirtualServiceSpec(
            h,
            `${ns}/${EGRESS_GATEWAY_NAME}`,
            gatewayHost,
            args.policy,
          ),
          [subsets, ...this.serviceEntries],
        );
      }
      resource(
        "egress-callers",
        "AuthorizationPolicy",
        egressAuthorizationSpec(podLabels, egress.hosts),
      );
    }

    if (egress.networkPolicies) {
      const mesh = [...new Set([ISTIO_NAMESPACE, ...args.meshNamespaces, ns])];
      for (const [appNs, created] of Object.entries(args.appNamespaces)) {
        this.networkPolicies.push(
          new k8s.networking.v1.NetworkPolicy(
            `${name}-${appNs}-mesh-only`,
            {
              metadata: { name: "egress-mesh-only", namespace: appNs },
              spec: appEgressPolicySpec(mesh),
            },
            { parent: this, dependsOn: [created] },
          ),
        );
      }
      this.networkPolicies.push(
        new k8s.networking.v1.NetworkPolicy(
          `${name}-gateway-egress`,
          {
            metadata: { name: "egress-gateway", namespace: ns },
            spec: gatewayEgressPolicySpec(mesh, egress.hosts.map(upstreamPort)),
          },
          { parent: this, dependsOn: [this.namespace] },
        ),
      );
    }

    this.registerOutputs({
      namespace: ns,
      hosts: egress.hosts.map((h) => h.host),
    });
  }
}
