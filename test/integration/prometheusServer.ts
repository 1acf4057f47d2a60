// A real Prometheus server for the rollout's test bed proof: Debian's `prometheus` binary (never
// its packaged service), run as a child on 127.0.0.1 with a scratch config and storage folder,
// scraping the exporter every second, and stopped by its pid.
import { type ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export interface PrometheusServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * A free port on 127.0.0.1 for a listener started next (bound, read, released), below the
 * kernel's ephemeral range, as test/testbed/ports.sh explains: a port from that range can be taken
 * as the source port of some outgoing connection before the listener binds it.
 */
export async function freePort(): Promise<number> {
  const range = fs
    .readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
    .trim()
    .split(/\s+/)
    .map(Number);
  const low = Number.isInteger(range[0]) ? range[0] : 32768;
  const first = low > 21000 ? 20000 : 10000;
  for (let i = 0; i < 200; i++) {
    const port = first + Math.floor(Math.random() * (low - first));
    const srv = net.createServer();
    const bound = await new Promise<boolean>((r) => {
      srv.once("error", () => r(false));
      srv.listen(port, "127.0.0.1", () => r(true));
    });
    if (bound) {
      await new Promise((r) => srv.close(r));
      return port;
    }
  }
  throw new Error(`no free port below ${low}`);
}

/** Starts Prometheus scraping `target` (host:port, or several, path /metrics) and waits until it is ready. */
export async function startPrometheus(
  binary: string,
  dir: string,
  target: string | string[],
): Promise<PrometheusServer> {
  fs.mkdirSync(path.join(dir, "data"), { recursive: true });
  const config = path.join(dir, "prometheus.yml");
  fs.writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: istio-standin",
      "    scrape_interval: 1s",
      "    static_configs:",
      `      - targets: [${[target]
        .flat()
        .map((t) => `"${t}"`)
        .join(", ")}]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const log = fs.openSync(path.join(dir, "prometheus.log"), "a");
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { stdio: ["ignore", log, log] },
  );
  fs.closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, "SIGTERM");
      const timer = setTimeout(
        () => child.exitCode === null && process.kill(child.pid!, "SIGKILL"),
        10_000,
      );
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `prometheus exited ${child.exitCode}: ${fs.readFileSync(path.join(dir, "prometheus.log"), "utf8").slice(-1000)}`,
      );
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("prometheus was not ready within 30 s");
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid!, stop };
}
