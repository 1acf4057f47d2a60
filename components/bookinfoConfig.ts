// The `bookinfo` section of the stack config: Istio's Bookinfo sample and its traffic-management
// exercises (route to v1, weighted shift, user-based routing, fault injection, a timeout).
import { Checker, show, validateWeights } from "./configChecker";
import { VersionWeight } from "./config";
import {
  ResilienceConfig,
  routingPolicyFor,
  validateFault,
} from "./resilienceConfig";
import { Fault, RoutingPolicy } from "./routingPolicy";

/** The versions of reviews the sample ships (v1 no stars, v2 black stars, v3 red stars). */
export const REVIEWS_VERSIONS = ["v1", "v2", "v3"];
/** Bookinfo's versioned services, which `resilience.faults` may also target. */
export const BOOKINFO_SERVICES = [
  "productpage",
  "details",
  "reviews",
  "ratings",
];

export interface BookinfoConfig {
  readonly enabled: boolean;
  readonly namespace: string;
  /** Registry and tag of the sample's images. */
  readonly imageHub: string;
  readonly imageTag: string;
  /** Weights of reviews v1, v2 and v3, all three always listed (unlisted versions get 0). */
  readonly reviewsWeights: VersionWeight[];
  /** The logged-in user whose requests go to one reviews version. */
  readonly userRoute?: { user: string; version: string };
  /** Timeout of calls to reviews. */
  readonly reviewsTimeout?: string;
  /** A fault on ratings for one user's requests. */
  readonly ratingsFault?: { user: string; fault: Fault };
}

export const BOOKINFO_DEFAULTS = {
  enabled: false,
  namespace: "bookinfo",
  imageHub: "docker.io/istio",
  imageTag: "1.20.3",
  /** The "route everything to v1" exercise. */
  reviewsWeights: { v1: 100 },
};

const USER = /^[A-Za-z0-9._@-]+$/;

export function validateBookinfo(c: Checker, raw: unknown): BookinfoConfig {
  const b = c.object("bookinfo", raw, [
    "enabled",
    "namespace",
    "imageHub",
    "imageTag",
    "reviews",
    "ratings",
  ]);
  const reviews = c.object("bookinfo.reviews", b.reviews, [
    "weights",
    "userRoute",
    "timeout",
  ]);
  const ratings = c.object("bookinfo.ratings", b.ratings, ["fault"]);

  const given = validateWeights(
    c,
    "bookinfo.reviews.weights",
    reviews.weights ?? BOOKINFO_DEFAULTS.reviewsWeights,
  );
  for (const w of given.filter((w) => !REVIEWS_VERSIONS.includes(w.version))) {
    c.fail(
      `bookinfo.reviews.weights.${w.version} is not a version of reviews; the sample ships ${REVIEWS_VERSIONS.join(", ")}`,
    );
  }
  const reviewsWeights = REVIEWS_VERSIONS.map((version) => ({
    version,
    weight: given.find((w) => w.version === version)?.weight ?? 0,
  }));

  let userRoute: BookinfoConfig["userRoute"];
  if (reviews.userRoute !== undefined) {
    const u = c.object("bookinfo.reviews.userRoute", reviews.userRoute, [
      "user",
      "version",
    ]);
    const user = c.string("bookinfo.reviews.userRoute.user", u.user, "jason", {
      re: USER,
      hint: "must be a user name (letters, digits, . _ @ -)",
    });
    const version = u.version;
    if (typeof version !== "string" || !REVIEWS_VERSIONS.includes(version)) {
      c.fail(
        `bookinfo.reviews.userRoute.version must be one of ${REVIEWS_VERSIONS.join(", ")} (got ${show(version)})`,
      );
    }
    userRoute = { user, version: String(version) };
  }

  const reviewsTimeout =
    reviews.timeout === undefined
      ? undefined
      : c.duration("bookinfo.reviews.timeout", reviews.timeout, "0.5s");

  let ratingsFault: BookinfoConfig["ratingsFault"];
  if (ratings.fault !== undefined) {
    const f = c.object("bookinfo.ratings.fault", ratings.fault, [
      "user",
      "delay",
      "abort",
    ]);
    const user = c.string("bookinfo.ratings.fault.user", f.user, "jason", {
      re: USER,
      hint: "must be a user name (letters, digits, . _ @ -)",
    });
    const { user: _user, ...faultRaw } = f;
    const fault = validateFault(c, "bookinfo.ratings.fault", faultRaw);
    if (fault) {
      ratingsFault = { user, fault };
    }
  }

  return {
    enabled: c.boolean(
      "bookinfo.enabled",
      b.enabled,
      BOOKINFO_DEFAULTS.enabled,
    ),
    namespace: c.namespace(
      "bookinfo.namespace",
      b.namespace,
      BOOKINFO_DEFAULTS.namespace,
    ),
    imageHub: c.string(
      "bookinfo.imageHub",
      b.imageHub,
      BOOKINFO_DEFAULTS.imageHub,
    ),
    imageTag: c.string(
      "bookinfo.imageTag",
      b.imageTag,
      BOOKINFO_DEFAULTS.imageTag,
      {
        re: /^[0-9][0-9A-Za-z._-]*$/,
        hint: "must be a pinned release tag such as 1.20.3",
      },
    ),
    reviewsWeights,
    userRoute,
    reviewsTimeout,
    ratingsFault,
  };
}

/** The routing policy of each Bookinfo service: the shared settings plus the exercises. */
export function bookinfoPolicies(
  b: BookinfoConfig,
  r: ResilienceConfig,
): Record<string, RoutingPolicy> {
  // productpage passes the logged-in user on to reviews and ratings in the end-user header.
  const userRoutes = b.userRoute
    ? [
        {
          header: "end-user",
          value: b.userRoute.user,
          version: b.userRoute.version,
        },
      ]
    : [];
  const ratingsFault = b.ratingsFault
    ? [
        {
          header: "end-user",
          value: b.ratingsFault.user,
          version: "v1",
          fault: b.ratingsFault.fault,
        },
      ]
    : [];
  return {
    productpage: routingPolicyFor(r, "productpage"),
    details: routingPolicyFor(r, "details"),
    reviews: routingPolicyFor(r, "reviews", {
      headerRoutes: userRoutes,
      timeout: b.reviewsTimeout,
    }),
    ratings: routingPolicyFor(r, "ratings", { headerRoutes: ratingsFault }),
  };
}
