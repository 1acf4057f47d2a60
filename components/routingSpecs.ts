// Specs of the Istio networking resources, as plain data: the components wrap them in
// CustomResources and the tests check them directly.
import { VersionWeight } from "./config";
import { subsetLabels } from "./labels";

export const NETWORKING_API = "networking.istio.io/v1";

/** One subset per version, each selecting the pods labelled with that version. */
export function destinationRuleSpec(host: string, versions: string[]) {
    return {
        host,
        subsets: versions.map((v) => ({ name: v, labels: subsetLabels(v) })),
    };
}

/**
 * In-mesh routing for a versioned service: one route splitting traffic over the subsets by
 * weight. A version with weight 0 stays listed, so the spec shows it is deployed but idle.
 */
export function weightedVirtualServiceSpec(host: string, port: number, weights: VersionWeight[]) {
    return {
        hosts: [host],
        http: [
            {
                route: weights.map((w) => ({
                    destination: { host, subset: w.version, port: { number: port } },
                    weight: w.weight,
                })),
            },
        ],
    };
}

/** An Istio Gateway accepting plain HTTP for any host on the gateway pods' port 80. */
export function gatewaySpec(selector: Record<string, string>, port: number) {
    return {
        selector,
        servers: [{ port: { number: port, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
    };
}

/** A route from the ingress gateway to a service: requests whose path matches go to host:port. */
export interface IngressRoute {
    /** Route name, shown in Envoy's stats and access logs. */
    readonly name: string;
    /** Exact paths; a request matching any of them or any prefix takes this route. */
    readonly exact?: string[];
    /** Path prefixes. An empty exact and prefix list matches every request. */
    readonly prefixes?: string[];
    readonly host: string;
    readonly port: number;
}

/** The VirtualService bound to the gateway; routes are tried in the order given. */
export function ingressVirtualServiceSpec(gateway: string, routes: IngressRoute[]) {
    return {
        hosts: ["*"],
        gateways: [gateway],
        http: routes.map((r) => {
            const match = [
                ...(r.exact ?? []).map((p) => ({ uri: { exact: p } })),
                ...(r.prefixes ?? []).map((p) => ({ uri: { prefix: p } })),
            ];
            return {
                name: r.name,
                ...(match.length > 0 ? { match } : {}),
                route: [{ destination: { host: r.host, port: { number: r.port } } }],
            };
        }),
    };
}
