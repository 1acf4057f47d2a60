// The test bed's build scripts (test/testbed/build-*.sh), install and caching only: each runs with
// TESTBED_STANDIN_BUILD=1 (test/testbed/standin.sh), so its compile, download and generation steps
// write small stand-in scripts and go never runs (a `go` on PATH that fails proves it), while the
// cache checks, migrations, temp dirs, install and stdout are the real code. Three caches each:
// empty, current (the first run's), and an earlier layout or an interrupted run's leftovers.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const TESTBED = path.join(__dirname, "..", "testbed");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Script {
  name: string;
  /** Programs each stdout variable leads to: paths inside its directory, or inside one entry
   * of a PATH-like list; [] when the value is itself the program. */
  programs: Record<string, string[]>;
  /** build-istio.sh prints a bare directory (callers take `tail -n 1`): named so here. */
  bareLine?: string;
  /** What an earlier layout (or an interrupted run) left, made from a current cache. */
  old: {
    what: string;
    make(cache: string): void;
    check(cache: string, run: Run): void;
  };
}

function write(file: string, text: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
}

const SCRIPTS: Script[] = [
  {
    name: "build-kube.sh",
    programs: {
      KUBE_BIN: [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
      ],
      ETCD_BIN: ["etcd"],
    },
    old: {
      what: "kube-v1.34.10 from before kube-scheduler and an interrupted run's temp dirs",
      make(cache) {
        fs.rmSync(path.join(cache, "kube-v1.34.10", "bin", "kube-scheduler"));
        write(
          path.join(cache, ".kube-v1.34.10-Ab12Cd", "bin", "kubectl"),
          "partial",
          0o755,
        );
        write(
          path.join(cache, ".mod-kube-Ab12Cd", "go.mod"),
          "module partial\n",
        );
      },
      check(cache, run) {
        assert.match(run.stderr, /building kube-scheduler/);
        assert.doesNotMatch(run.stderr, /building etcd/);
        assert.deepEqual(leftovers(cache), []);
      },
    },
  },
  {
    name: "build-kwok.sh",
    programs: { KWOK_BIN: ["kwok"] },
    old: {
      what: "no kwok dir and an interrupted run's temp dir",
      make(cache) {
        fs.rmSync(path.join(cache, "kwok-v0.7.0"), { recursive: true });
        write(
          path.join(cache, ".kwok-v0.7.0-Ab12Cd", "bin", "kwok"),
          "partial",
          0o755,
        );
      },
      check(cache, run) {
        assert.match(run.stderr, /building kwok/);
        assert.deepEqual(leftovers(cache), []);
      },
    },
  },
  {
    name: "build-pulumi.sh",
    programs: {
      PULUMI_BIN: ["pulumi", "pulumi-language-nodejs"],
      KUBERNETES_BIN: ["pulumi-resource-kubernetes"],
      PULUMI_PATH: [
        "pulumi",
        "pulumi-language-nodejs",
        "pulumi-resource-kubernetes",
      ],
    },
    old: {
      what: "the language host itself in bin/ and no libexec/ (before the options shim)",
      make(cache) {
        const dir = path.join(cache, "pulumi-v3.248.0");
        fs.renameSync(
          path.join(dir, "libexec", "pulumi-language-nodejs"),
          path.join(dir, "bin", "pulumi-language-nodejs"),
        );
        fs.rmdirSync(path.join(dir, "libexec"));
      },
      check(cache, run) {
        const dir = path.join(cache, "pulumi-v3.248.0");
        assert.doesNotMatch(run.stderr, /building/);
        assert.match(
          run.stderr,
          /moving the language host from bin\/ to libexec\//,
        );
        assert.equal(
          fs.readFileSync(
            path.join(dir, "bin", "pulumi-language-nodejs"),
            "utf8",
          ),
          fs.readFileSync(path.join(TESTBED, "langhost-options.sh"), "utf8"),
        );
        // The shim finds the moved host (no Pulumi.yaml here: no flags).
        const host = spawnSync(
          path.join(dir, "bin", "pulumi-language-nodejs"),
          [],
          {
            cwd: cache,
            encoding: "utf8",
          },
        );
        assert.equal(host.status, 0, host.stderr);
        assert.match(host.stdout, /^v3\.68\.0 \(stand-in\)$/m);
      },
    },
  },
  {
    name: "build-istio.sh",
    bareLine: "ISTIO_DIR",
    programs: {
      ISTIO_DIR: ["bin/istioctl", "bin/pilot-discovery", "bin/testbed-xds"],
    },
    old: {
      what: "charts and istioctl of an earlier Istio, and a charts.old left by an interrupted swap",
      make(cache) {
        const dir = path.join(cache, "istio-1.30.4");
        write(
          path.join(dir, "charts", "istiod", "Chart.yaml"),
          "version: 1.30.3\n",
        );
        write(
          path.join(dir, "charts.old", "istiod", "Chart.yaml"),
          "version: 1.30.2\n",
        );
        write(
          path.join(dir, "bin", "istioctl"),
          "#!/bin/sh\necho 'client version: 1.30.3'\n",
          0o755,
        );
      },
      check(cache, run) {
        const dir = path.join(cache, "istio-1.30.4");
        assert.match(run.stderr, /writing charts/);
        assert.match(run.stderr, /building istioctl/);
        assert.doesNotMatch(run.stderr, /building pilot-discovery/);
        for (const chart of ["base", "istiod", "gateway", "cni", "ztunnel"]) {
          const yaml = fs.readFileSync(
            path.join(dir, "charts", chart, "Chart.yaml"),
            "utf8",
          );
          assert.match(yaml, /^version: 1\.30\.4$/m, chart);
        }
        assert.equal(fs.existsSync(path.join(dir, "charts.old")), false);
        assert.deepEqual(leftovers(dir), []);
      },
    },
  },
  {
    name: "build-gateway-api.sh",
    programs: {
      GATEWAY_API_CRDS: [],
      CONTROLLER_GEN: [],
    },
    old: {
      what: "BUILD-INFO of an earlier generator, a .old dir and an interrupted run's temp dir",
      make(cache) {
        const info = path.join(cache, "gateway-api-v1.5.1", "BUILD-INFO");
        write(
          info,
          fs
            .readFileSync(info, "utf8")
            .replace(/^generator .*$/m, "generator 0000"),
        );
        write(
          path.join(cache, "gateway-api-v1.5.1.old", "BUILD-INFO"),
          "older\n",
        );
        write(
          path.join(
            cache,
            ".gateway-api-v1.5.1-Ab12Cd",
            "bin",
            "controller-gen",
          ),
          "",
          0o755,
        );
      },
      check(cache, run) {
        assert.match(run.stderr, /building gateway-api-crds/);
        assert.doesNotMatch(
          fs.readFileSync(
            path.join(cache, "gateway-api-v1.5.1", "BUILD-INFO"),
            "utf8",
          ),
          /generator 0000/,
        );
        assert.equal(
          fs.existsSync(path.join(cache, "gateway-api-v1.5.1.old")),
          false,
        );
        assert.deepEqual(leftovers(cache), []);
      },
    },
  },
];

/** Hidden temp dirs of a run (lock files and the random provider's marker are not). */
function leftovers(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter(
      (f) =>
        f.startsWith(".") &&
        !f.endsWith(".lock") &&
        !f.endsWith("-unavailable"),
    );
}

/** Every file under dir with its inode, size and mtime: equal snapshots = nothing rewritten. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(dir, f));
    if (!st.isDirectory() && !f.endsWith(".lock")) {
      files.set(f, `${st.ino}:${st.size}:${st.mtimeMs}`);
    }
  }
  return files;
}

let fakeGoDir = "";

function build(script: string, cache: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(TESTBED, script)], {
      env: {
        ...process.env,
        SERVICE_MESH_TESTBED_CACHE: cache,
        TESTBED_STANDIN_BUILD: "1",
        PATH: `${fakeGoDir}:${process.env.PATH}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** The stdout variables (NAME=value lines; a bare line named as the script says). */
function variables(s: Script, run: Run): Map<string, string> {
  const lines = run.stdout.split("\n").filter((l) => l !== "");
  if (s.bareLine) {
    assert.equal(lines.length, 1, `one line on stdout: ${run.stdout}`);
    return new Map([[s.bareLine, lines[0]]]);
  }
  return new Map(
    lines.map((l) => {
      const m = /^([A-Z_]+)=(.*)$/.exec(l);
      assert.ok(m, `stdout line is not NAME=value: ${l}`);
      return [m[1], m[2]];
    }),
  );
}

function assertPrograms(s: Script, run: Run, cache: string): void {
  const vars = variables(s, run);
  for (const [name, programs] of Object.entries(s.programs)) {
    const value = vars.get(name);
    assert.ok(value, `${name} on stdout`);
    const dirs = value.split(":");
    for (const d of dirs) {
      assert.ok(
        d.startsWith(cache + path.sep),
        `${name} entry ${d} is in the cache`,
      );
    }
    const found =
      programs.length === 0
        ? dirs
        : programs.map((p) => {
            const hit = dirs
              .map((d) => path.join(d, p))
              .find((f) => fs.existsSync(f));
            assert.ok(hit, `${p} in ${name}=${value}`);
            return hit;
          });
    for (const f of found) {
      assert.ok(fs.statSync(f).isFile(), `${f} is a file`);
      if (!f.endsWith(".yaml")) {
        fs.accessSync(f, fs.constants.X_OK);
      }
    }
  }
}

interface Outcome {
  cache: string;
  cold: Run;
  warm?: Run;
  before?: Map<string, string>;
  after?: Map<string, string>;
  oldCache?: string;
  old?: Run;
}

function explain(run: Run): string {
  return `exit ${run.status}\n${run.stderr}`;
}

describe("the test bed's build scripts, install and cache (stand-in builds)", () => {
  const outcomes = new Map<string, Outcome>();
  let root = "";

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "testbed-install-"));
    fakeGoDir = path.join(root, "fake-go");
    write(
      path.join(fakeGoDir, "go"),
      '#!/bin/sh\necho "go $* in a stand-in build" >&2\nexit 97\n',
      0o755,
    );
    // All scripts at once (each is mostly process starts): cold, then warm and the old layout.
    await Promise.all(
      SCRIPTS.map(async (s) => {
        const cache = path.join(root, s.name, "cache");
        const o: Outcome = { cache, cold: await build(s.name, cache) };
        outcomes.set(s.name, o);
        if (o.cold.status !== 0) {
          return;
        }
        o.before = snapshot(cache);
        const oldCache = path.join(root, s.name, "old");
        spawnSync("cp", ["-a", cache, oldCache]);
        s.old.make(oldCache);
        [o.warm, o.old] = await Promise.all([
          build(s.name, cache),
          build(s.name, oldCache),
        ]);
        o.after = snapshot(cache);
        o.oldCache = oldCache;
      }),
    );
  });

  after(() => {
    if (root) {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  for (const s of SCRIPTS) {
    describe(s.name, () => {
      it("WHEN the cache is empty THEN it installs everything and its stdout names the programs", () => {
        const o = outcomes.get(s.name)!;
        assert.equal(o.cold.status, 0, explain(o.cold));
        assert.doesNotMatch(o.cold.stderr, /in a stand-in build/);
        assertPrograms(s, o.cold, o.cache);
      });

      it("WHEN the cache is current THEN it rebuilds nothing and prints the same lines", () => {
        const o = outcomes.get(s.name)!;
        const warm = o.warm;
        assert.ok(warm, explain(o.cold));
        assert.equal(warm.status, 0, explain(warm));
        assert.equal(warm.stdout, o.cold.stdout);
        assert.doesNotMatch(warm.stderr, /building|writing charts/);
        assert.deepEqual(o.after, o.before);
      });

      it(`WHEN the cache has ${s.old.what} THEN it brings it up to date`, () => {
        const o = outcomes.get(s.name)!;
        const old = o.old;
        assert.ok(old && o.oldCache, explain(o.cold));
        assert.equal(old.status, 0, explain(old));
        assert.equal(
          old.stdout,
          o.cold.stdout.split(o.cache).join(o.oldCache),
          "the same lines, for this cache",
        );
        assertPrograms(s, old, o.oldCache);
        s.old.check(o.oldCache, old);
      });
    });
  }
});

describe("the test bed's session (session.sh) when a build script fails", () => {
  it("WHEN build-pulumi.sh fails THEN the session stops there, naming it, before anything starts", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "testbed-session-"));
    try {
      const bin = path.join(root, "fake-go");
      write(path.join(bin, "go"), "#!/bin/sh\nexit 97\n", 0o755);
      // build-kube.sh and build-kwok.sh install stand-ins; build-pulumi.sh cannot take its lock.
      const cache = path.join(root, "cache");
      fs.mkdirSync(path.join(cache, ".build-pulumi.lock"), { recursive: true });
      const run = spawnSync(
        "bash",
        [
          "-c",
          `set -euo pipefail; . ${path.join(TESTBED, "session.sh")}; echo started`,
        ],
        {
          env: {
            ...process.env,
            TB_SESSION: "unit",
            SERVICE_MESH_TESTBED_CACHE: cache,
            TESTBED_STANDIN_BUILD: "1",
            PATH: `${bin}:${process.env.PATH}`,
          },
          encoding: "utf8",
          timeout: 15000,
        },
      );
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /ERROR: test\/testbed\/build-pulumi\.sh failed/);
      assert.doesNotMatch(run.stderr, /unbound variable/);
      assert.doesNotMatch(run.stdout, /started/);
      assert.equal(fs.existsSync(path.join(cache, "pulumi-v3.248.0")), false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
