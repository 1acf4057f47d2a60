import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IngressServiceType, IstioConfig } from "./config";
import { gatewayPodLabels } from "./labels";
import { gatewayValues, istioChartSource } from "./istioValues";
import { gatewaySpec, ingressVirtualServiceSpec, IngressRoute, NETWORKING_API } from "./routingSpecs";

export interface IngressGatewayArgs {
    /** Chart source (validated config); the gateway's image comes from istiod's injection. */
    readonly istio: IstioConfig;
    /** Namespace of the gateway, created here and left injectable. */
    readonly namespace: string;
    /** Type of the gateway Service. */
    readonly serviceType: IngressServiceType;
    /** Routes of the ingress VirtualService, tried in order. */
    readonly routes: IngressRoute[];
    /** Helm release name; the pods' `app`/`istio` labels derive from it. Defaults to "istio-ingressgateway". */
    readonly releaseName?: string;
    /** The Istio CRDs (the `base` release): the Gateway and VirtualService need them. */
    readonly crds: pulumi.Resource;
    /** istiod (its release): the gateway pods are completed by its injector. */
    readonly istiod: pulumi.Resource;
    /** When true the release does not wait for readiness. Defaults to false. */
    readonly skipAwait?: boolean;
}

/** Port the gateway chart's Service exposes for HTTP, and the port its pods listen on. */
export const GATEWAY_HTTP_PORT = 80;

/**
 * The ingress gateway from Istio's `gateway` chart, an Istio Gateway selecting its pods, and the
 * VirtualService that routes what enters through it.
 */
export class IngressGateway extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly gateway: k8s.apiextensions.CustomResource;
    readonly virtualService: k8s.apiextensions.CustomResource;
    /** Name of the gateway's Service (equal to the release name). */
    readonly serviceName: string;
    readonly namespace: string;
    /** "<namespace>/<name>" as VirtualServices reference the Gateway. */
    readonly gatewayRef: string;

    constructor(name: string, args: IngressGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("service-mesh:istio:IngressGateway", name, {}, opts);
        const releaseName = args.releaseName ?? "istio-ingressgateway";
        this.serviceName = releaseName;
        this.namespace = args.namespace;

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: args.namespace } }, { parent: this });

        this.release = new k8s.helm.v3.Release(
            `${name}-gateway`,
            {
                ...istioChartSource(args.istio, "gateway"),
                name: releaseName,
                namespace: args.namespace,
                values: gatewayValues(args.serviceType),
                skipAwait: args.skipAwait ?? false,
                timeout: 600,
            },
            // The gateway pods use `image: auto` and are completed by istiod's injector.
            { parent: this, dependsOn: [ns, args.istiod] },
        );

        const gatewayName = "mesh-gateway";
        this.gatewayRef = `${args.namespace}/${gatewayName}`;
        this.gateway = new k8s.apiextensions.CustomResource(
            `${name}-gw`,
            {
                apiVersion: NETWORKING_API,
                kind: "Gateway",
                metadata: { name: gatewayName, namespace: args.namespace },
                spec: gatewaySpec(gatewayPodLabels(releaseName), GATEWAY_HTTP_PORT),
            },
            { parent: this, dependsOn: [ns, args.crds] },
        );

        this.virtualService = new k8s.apiextensions.CustomResource(
            `${name}-routes`,
            {
                apiVersion: NETWORKING_API,
                kind: "VirtualService",
                metadata: { name: "ingress-routes", namespace: args.namespace },
                spec: ingressVirtualServiceSpec(this.gatewayRef, args.routes),
            },
            { parent: this, dependsOn: [ns, args.crds] },
        );

        this.registerOutputs({ serviceName: this.serviceName, namespace: this.namespace, gatewayRef: this.gatewayRef });
    }
}
