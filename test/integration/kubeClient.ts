// A minimal Kubernetes REST client for the test bed: reads objects straight from the API server
// with the admin credentials of a kubeconfig, so the scenarios check what the server holds, not
// what Pulumi believes.
import * as fs from "fs";
import * as https from "https";
import * as yaml from "js-yaml";

interface KubeConfig {
  clusters: Array<{
    cluster: {
      server: string;
      "certificate-authority-data"?: string;
      "certificate-authority"?: string;
    };
  }>;
  users: Array<{
    user: {
      "client-certificate-data"?: string;
      "client-key-data"?: string;
      "client-certificate"?: string;
      "client-key"?: string;
    };
  }>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    managedFields?: Array<{ manager: string; operation: string }>;
  };
  spec?: any;
  [k: string]: any;
}

function pem(
  data: string | undefined,
  file: string | undefined,
): Buffer | undefined {
  if (data) {
    return Buffer.from(data, "base64");
  }
  return file ? fs.readFileSync(file) : undefined;
}

export class KubeClient {
  private readonly server: URL;
  private readonly agent: https.Agent;

  constructor(kubeconfigPath: string) {
    const kc = yaml.load(fs.readFileSync(kubeconfigPath, "utf8")) as KubeConfig;
    const cluster = kc.clusters[0].cluster;
    const user = kc.users[0].user;
    this.server = new URL(cluster.server);
    this.agent = new https.Agent({
      ca: pem(
        cluster["certificate-authority-data"],
        cluster["certificate-authority"],
      ),
      cert: pem(user["client-certificate-data"], user["client-certificate"]),
      key: pem(user["client-key-data"], user["client-key"]),
    });
  }

  /** GETs a path; resolves to the parsed body, or undefined on 404. */
  get<T = KubeObject>(path: string): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.server.hostname,
          port: this.server.port,
          path,
          method: "GET",
          agent: this.agent,
        },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => {
            if (res.statusCode === 404) {
              resolve(undefined);
            } else if (res.statusCode === 200) {
              resolve(JSON.parse(body) as T);
            } else {
              reject(
                new Error(
                  `GET ${path}: ${res.statusCode} ${body.slice(0, 300)}`,
                ),
              );
            }
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  async list(path: string): Promise<KubeObject[]> {
    const l = await this.get<{ items: KubeObject[] }>(path);
    return l?.items ?? [];
  }
}

/** An object found by `inventory`, with the API group and kind its list came from. */
export interface LiveObject {
  group: string;
  kind: string;
  object: KubeObject;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

/**
 * Every object the API server holds in the given namespaces, and every cluster-scoped object, of
 * every listable kind it serves (found by discovery, each group at its preferred version).
 */
export async function inventory(
  kube: KubeClient,
  namespaces: string[],
): Promise<LiveObject[]> {
  const groups = (
    (
      await kube.get<{
        groups: Array<{ preferredVersion: { groupVersion: string } }>;
      }>("/apis")
    )?.groups ?? []
  ).map((g) => `/apis/${g.preferredVersion.groupVersion}`);
  const found: LiveObject[] = [];
  for (const base of ["/api/v1", ...groups]) {
    const resources =
      (await kube.get<{ resources: ApiResource[] }>(base))?.resources ?? [];
    const group = base.startsWith("/api/") ? "" : base.split("/")[2];
    for (const r of resources) {
      if (r.name.includes("/") || !r.verbs.includes("list")) {
        continue;
      }
      const paths = r.namespaced
        ? namespaces.map((ns) => `${base}/namespaces/${ns}/${r.name}`)
        : [`${base}/${r.name}`];
      for (const p of paths) {
        for (const object of await kube.list(p)) {
          found.push({ group, kind: r.kind, object });
        }
      }
    }
  }
  return found;
}

/** The REST path of an object, from its apiVersion, kind, name and namespace. */
export function objectPath(
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
): string {
  const base = apiVersion.includes("/")
    ? `/apis/${apiVersion}`
    : `/api/${apiVersion}`;
  const lower = kind.toLowerCase();
  // Kubernetes' default plurals: policy -> policies, gateway -> gateways, class -> classes.
  const plural = /[^aeiou]y$/.test(lower)
    ? `${lower.slice(0, -1)}ies`
    : lower.endsWith("s")
      ? `${lower}es`
      : `${lower}s`;
  return namespace
    ? `${base}/namespaces/${namespace}/${plural}/${name}`
    : `${base}/${plural}/${name}`;
}
