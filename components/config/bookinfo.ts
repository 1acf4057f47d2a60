// The `bookinfo` section of the stack config: Istio's Bookinfo sample and its traffic-management
// exercises (route to v1, weighted shift, user-based routing, fault injection, a timeout), and
// the routing policy of each of its services.
import type { Fault, RoutingPolicy, VersionWeight } from "../core";
import type { Checker } from "./checker";
import { IMAGE_HUB } from "./patterns";
import {
  FAULT_DEFAULTS,
  type ResilienceConfig,
  routingPolicyFor,
  validateFault,
} from "./resilience";
import { type Fields, Section } from "./section";
import { keyPath, show } from "./show";
import { validateWeights } from "./weights";

/** Bookinfo's versioned services, which `resilience.faults` may also target. */
export const BOOKINFO_SERVICES = [
  "productpage",
  "details",
  "reviews",
  "ratings",
] as const;
export type BookinfoService = (typeof BOOKINFO_SERVICES)[number];

/** The paths the ingress routes to Bookinfo's productpage: its pages, its static files, its API. */
export const BOOKINFO_INGRESS_PATHS = {
  exact: ["/productpage", "/login", "/logout"],
  prefixes: ["/static", "/api/v1/products"],
};
export const BOOKINFO_PATHS = [
  ...BOOKINFO_INGRESS_PATHS.exact,
  ...BOOKINFO_INGRESS_PATHS.prefixes,
];

/** The versions of reviews the sample ships (v1 no stars, v2 black stars, v3 red stars). */
export const REVIEWS_VERSIONS = ["v1", "v2", "v3"];

export interface BookinfoConfig {
  readonly enabled: boolean;
  readonly namespace: string;
  /** Registry and tag of the sample's images. */
  readonly imageHub: string;
  readonly imageTag: string;
  readonly reviews: {
    /** Weights of reviews v1, v2 and v3, all three always listed (unlisted versions get 0). */
    readonly weights: VersionWeight[];
    /** The logged-in user whose requests go to one reviews version. */
    readonly userRoute?: { readonly user: string; readonly version: string };
    /** Timeout of calls to reviews; the shared resilience.timeout when unset. */
    readonly timeout?: string;
  };
  readonly ratings: {
    /** A fault on ratings for one user's requests. */
    readonly fault?: { readonly user: string; readonly fault: Fault };
  };
}

export const BOOKINFO_DEFAULTS = {
  enabled: false,
  namespace: "bookinfo",
  imageHub: "docker.io/istio",
  imageTag: "1.20.3",
  reviews: {
    /** The "route everything to v1" exercise. */
    weights: { v1: 100 } as Readonly<Record<string, number>>,
    userRoute: undefined as BookinfoConfig["reviews"]["userRoute"],
    timeout: undefined as string | undefined,
  },
  ratings: { fault: undefined as BookinfoConfig["ratings"]["fault"] },
};

const USER_ROUTE_DEFAULTS = {
  user: "jason",
  /** Required: one of REVIEWS_VERSIONS. */
  version: undefined as string | undefined,
};
/** A user, and the fields of a fault. */
const USER_FAULT_DEFAULTS = { user: "jason", ...FAULT_DEFAULTS };

const USER: { re: RegExp; hint: string } = {
  re: /^[A-Za-z0-9._@-]+$/,
  hint: "must be a user name (letters, digits, . _ @ -)",
};

export function validateBookinfo(c: Checker, raw: unknown): BookinfoConfig {
  const b = new Section(c, "bookinfo", raw, BOOKINFO_DEFAULTS);
  const reviews = b.section("reviews");
  const ratings = b.section("ratings");
  return {
    enabled: b.boolean("enabled"),
    namespace: b.namespace("namespace"),
    imageHub: b.string("imageHub", IMAGE_HUB),
    imageTag: b.string("imageTag", {
      re: /^[0-9][0-9A-Za-z._-]{0,127}$/,
      hint: "must be a pinned release tag such as 1.20.3",
    }),
    reviews: {
      weights: reviews.field("weights", (key, value, fallback) =>
        reviewsWeights(c, key, value ?? fallback),
      ),
      userRoute: reviews.has("userRoute")
        ? userRoute(c, reviews.sectionOf("userRoute", USER_ROUTE_DEFAULTS))
        : undefined,
      // "0.5s" is only the example in the message for a value that is not a string.
      timeout: reviews.field("timeout", (key, value) =>
        value === undefined ? undefined : c.duration(key, value, "0.5s"),
      ),
    } satisfies Fields<typeof BOOKINFO_DEFAULTS.reviews>,
    ratings: {
      fault: ratings.has("fault")
        ? userFault(c, ratings.sectionOf("fault", USER_FAULT_DEFAULTS))
        : undefined,
    } satisfies Fields<typeof BOOKINFO_DEFAULTS.ratings>,
  } satisfies Fields<typeof BOOKINFO_DEFAULTS>;
}

/** The weights of the three reviews versions; one the sample lacks is refused. */
function reviewsWeights(
  c: Checker,
  key: string,
  value: unknown,
): VersionWeight[] {
  const given = validateWeights(c, key, value);
  for (const w of given.filter((w) => !REVIEWS_VERSIONS.includes(w.version))) {
    c.fail(
      `${keyPath(key, w.version)} is not a version of reviews; the sample ships ${REVIEWS_VERSIONS.join(", ")}`,
    );
  }
  return REVIEWS_VERSIONS.map((version) => ({
    version,
    weight: given.find((w) => w.version === version)?.weight ?? 0,
  }));
}

function userRoute(
  c: Checker,
  u: Section<typeof USER_ROUTE_DEFAULTS>,
): { user: string; version: string } {
  return {
    user: u.string("user", USER),
    version: u.field("version", (key, version) => {
      if (typeof version !== "string" || !REVIEWS_VERSIONS.includes(version)) {
        c.fail(
          `${key} must be one of ${REVIEWS_VERSIONS.join(", ")} (got ${show(version)})`,
        );
        // Not String(version): an object whose toString is not a function makes it throw.
        return REVIEWS_VERSIONS[0];
      }
      return version;
    }),
  } satisfies Fields<typeof USER_ROUTE_DEFAULTS>;
}

/** `bookinfo.ratings.fault`: a user, and a delay and/or abort for that user's requests. */
function userFault(
  c: Checker,
  f: Section<typeof USER_FAULT_DEFAULTS>,
): { user: string; fault: Fault } | undefined {
  const user = f.string("user", USER);
  // The delay and abort are read as a fault at the same key (its unknown fields were reported
  // above, against this section's fields).
  const { user: _user, ...faultRaw } = f.raw;
  const fault = validateFault(c, f.key, faultRaw);
  return fault ? { user, fault } : undefined;
}

/** The routing policy of each Bookinfo service: the shared settings plus the exercises. */
export function bookinfoPolicies(
  b: BookinfoConfig,
  r: ResilienceConfig,
): Record<BookinfoService, RoutingPolicy> {
  // productpage passes the logged-in user on to reviews and ratings in the end-user header.
  const userRoutes = b.reviews.userRoute
    ? [
        {
          header: "end-user",
          value: b.reviews.userRoute.user,
          version: b.reviews.userRoute.version,
        },
      ]
    : [];
  const ratingsFault = b.ratings.fault
    ? [
        {
          header: "end-user",
          value: b.ratings.fault.user,
          version: "v1",
          fault: b.ratings.fault.fault,
        },
      ]
    : [];
  return {
    productpage: routingPolicyFor(r, "productpage"),
    details: routingPolicyFor(r, "details"),
    reviews: routingPolicyFor(r, "reviews", {
      headerRoutes: userRoutes,
      timeout: b.reviews.timeout,
    }),
    ratings: routingPolicyFor(r, "ratings", { headerRoutes: ratingsFault }),
  };
}
