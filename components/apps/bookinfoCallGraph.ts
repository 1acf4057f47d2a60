// Who calls whom in Istio's Bookinfo sample: the one table both the ALLOW policies and the tests
// are generated from, so a missing edge cannot hide in one of them.
//
// Read from the sample's source (istio/istio samples/bookinfo/src):
// - productpage/productpage.py builds its upstream URLs as http://<name>:9080/<endpoint>/<id>:
//   getProductDetails -> details /details/<id>, getProductReviews -> reviews /reviews/<id>
//   (for /productpage and /api/v1/products/<id>/reviews), and getProductRatings -> ratings
//   /ratings/<id>, which serves the ingress path /api/v1/products/<id>/ratings directly.
// - reviews (Liberty, LibertyRestEndpoint.java) fetches stars from http://ratings:9080/ratings/<id>
//   when its star colour is set (v2 black, v3 red); v1 never calls ratings, but all versions run
//   under one ServiceAccount, so the policy names the service, not the version.
// - details and ratings call nobody (ratings v1 serves from memory).
// Every call is a GET; the ingress also posts the login form to productpage.
import { principal } from "../core";
import type { BookinfoService } from "../config";
import type { AllowRule } from "../specs";

export type { BookinfoService };

/** The caller of the edge route: a Bookinfo service, or the ingress gateway. */
export type BookinfoCaller = BookinfoService | "ingress";

/** One call edge: who calls which service, with which methods, on which paths. */
export interface BookinfoCall {
  readonly from: BookinfoCaller;
  readonly to: BookinfoService;
  readonly methods: readonly string[];
  /** Istio path patterns (exact, `prefix*`); the ingress edge is limited by the gateway's routes. */
  readonly paths?: readonly string[];
}

export const BOOKINFO_CALLS: readonly BookinfoCall[] = [
  // Login and logout are form posts and redirects on productpage.
  { from: "ingress", to: "productpage", methods: ["GET", "HEAD", "POST"] },
  {
    from: "productpage",
    to: "details",
    methods: ["GET"],
    paths: ["/details/*"],
  },
  {
    from: "productpage",
    to: "reviews",
    methods: ["GET"],
    paths: ["/reviews/*"],
  },
  {
    from: "productpage",
    to: "ratings",
    methods: ["GET"],
    paths: ["/ratings/*"],
  },
  { from: "reviews", to: "ratings", methods: ["GET"], paths: ["/ratings/*"] },
];

/** The calls a service receives, in table order. */
export function callsTo(
  service: BookinfoService,
  calls: readonly BookinfoCall[] = BOOKINFO_CALLS,
): BookinfoCall[] {
  return calls.filter((c) => c.to === service);
}

/**
 * The ALLOW rules of one service: exactly the calls it receives, each caller named by its
 * principal (the gateway's, or the calling service's own ServiceAccount in `namespace`).
 */
export function bookinfoAllowRules(
  service: BookinfoService,
  namespace: string,
  ingressPrincipal: string,
): AllowRule[] {
  return callsTo(service).map((c) => ({
    principals: [
      c.from === "ingress" ? ingressPrincipal : principal(namespace, c.from),
    ],
    methods: c.methods,
    paths: c.paths,
  }));
}
