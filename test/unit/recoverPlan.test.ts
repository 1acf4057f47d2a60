// `npm run recover` reads first, shows its plan (the lock, the pending operations, the Helm
// records) and changes nothing until confirmed (--yes without a terminal); it refuses a lock it
// cannot prove dead, and a missing passphrase, before reading anything. The real tool in a temp
// project with a file backend, stand-ins for pulumi and kubectl logging their calls.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { HostFacts } from "../../tools/pulumiLock";
import {
  judgeLocks,
  judgeReleases,
  planLines,
  releasesToInstall,
} from "../../tools/recover/plan";
import {
  KUBECTL_WITH_CONTEXT,
  runTool,
  type StandIns,
  standIns,
} from "./standIns";

const RELEASE_URN =
  "urn:pulumi:dev::service-mesh::mesh:istio:ControlPlane$kubernetes:helm.sh/v3:Release::istiod";

describe("npm run recover: the plan, then the repair", () => {
  let project: string;
  let bin: StandIns;
  let lockFile: string;

  /** A lock of `pid` on `host`, written a minute ago. */
  const lock = (pid: number, host = os.hostname()) => {
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    fs.writeFileSync(
      lockFile,
      JSON.stringify({
        pid,
        username: "me",
        hostname: host,
        timestamp: "2026-11-21T15:37:46Z",
      }),
    );
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, past, past);
  };
  const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

  beforeEach(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "recover-"));
    fs.writeFileSync(
      path.join(project, "Pulumi.yaml"),
      "name: service-mesh\nruntime: nodejs\n",
    );
    const state = path.join(project, "state");
    lockFile = path.join(
      state,
      ".pulumi/locks/organization/service-mesh/dev/0a1b.json",
    );
    bin = standIns({
      pulumi: `case "$1 $2" in
  "whoami --json") echo '{"user":"me","url":"file://${state}"}' ;;
  "stack export") echo '{"deployment":{"pending_operations":[{"type":"creating","resource":{"urn":"${RELEASE_URN}"}}]}}' ;;
  "preview --json") echo '{"steps":[{"op":"create","urn":"${RELEASE_URN}","newState":{"type":"kubernetes:helm.sh/v3:Release","inputs":{"name":"istiod","namespace":"istio-system"}}}]}' ;;
esac`,
      kubectl: `${KUBECTL_WITH_CONTEXT}
case "$3" in
  get) echo '{"items":[{"metadata":{"labels":{"status":"pending-install"}}}]}' ;;
esac`,
    });
  });
  afterEach(() => {
    bin.remove();
    fs.rmSync(project, { recursive: true, force: true });
  });

  const recover = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runTool("tools/recover/main.ts", args, {
      cwd: project,
      env: {
        PATH: bin.bin,
        HOME: project,
        PULUMI_CONFIG_PASSPHRASE: "x",
        ...env,
      },
    });
  const changes = () => [
    ...bin.calls("pulumi").filter((c) => /^(cancel|refresh)/.test(c)),
    ...bin.calls("kubectl").filter((c) => c.includes(" delete ")),
  ];

  it("WHEN there is no terminal and no --yes THEN it shows the plan and refuses (2) unchanged; WHEN --yes THEN it carries that plan out", () => {
    const pid = deadPid();
    lock(pid);
    const asked = recover([]);
    assert.equal(asked.status, 2, `${asked.stdout}${asked.stderr}`);
    assert.match(
      asked.stdout,
      new RegExp(
        `1\\. remove the stack's lock \\('pulumi cancel'\\): the stack's lock of 2026-11-21T15:37:46Z: no process has pid ${pid} on `,
      ),
    );
    assert.match(
      asked.stdout,
      /2\. clear 1 pending operation\(s\) of the killed run \('pulumi refresh --clear-pending-creates'\): creating urn:/,
    );
    assert.match(
      asked.stdout,
      /3\. delete the leftover record\(s\) of Helm release istio-system\/istiod \(pending-install\) \('kubectl -n istio-system delete secrets -l owner=helm,name=istiod'\)/,
    );
    assert.match(
      asked.stderr,
      /^recover: refused: no terminal to confirm the plan on: run it again with --yes to carry it out; nothing was changed/,
    );
    assert.deepEqual(changes(), []);
    assert.ok(fs.existsSync(lockFile));

    const done = recover(["--yes"]);
    assert.equal(done.status, 0, `${done.stdout}${done.stderr}`);
    assert.deepEqual(changes(), [
      "cancel --yes --stack dev --non-interactive",
      "refresh --clear-pending-creates --yes --stack dev --non-interactive",
      "-n istio-system delete secrets -l owner=helm,name=istiod",
    ]);
  });

  it("WHEN the lock was taken on another host THEN it refuses (2) before reading the stack, unless --force-unlock-other-host", () => {
    lock(deadPid(), "ci-runner-7");
    const r = recover(["--yes"]);
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      /may still be held: the lock was taken on host ci-runner-7 .*; if nothing runs on the stack on ci-runner-7 any more, run again with --force-unlock-other-host/,
    );
    assert.deepEqual(bin.calls("pulumi"), ["whoami --json"]);

    const forced = recover(["--yes", "--force-unlock-other-host"]);
    assert.equal(forced.status, 0, `${forced.stdout}${forced.stderr}`);
    assert.ok(changes().includes("cancel --yes --stack dev --non-interactive"));
  });

  it("WHEN the lock's pulumi still runs on this host THEN it refuses (2) and changes nothing", async () => {
    const fake = path.join(project, "pulumi");
    fs.copyFileSync("/bin/sleep", fake);
    fs.chmodSync(fake, 0o755);
    const live = spawn(fake, ["30"], { stdio: "ignore" });
    try {
      await new Promise((r) => live.once("spawn", r));
      lock(live.pid!);
      const r = recover(["--yes"]);
      assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `is a running pulumi process; let that update finish \\(or stop it\\)`,
        ),
      );
      assert.deepEqual(changes(), []);
    } finally {
      live.kill("SIGKILL");
    }
  });

  it("WHEN the stack's secrets use a passphrase and none is set THEN one line says what is missing and the fix, exit 2, nothing read", () => {
    fs.writeFileSync(
      path.join(project, "Pulumi.dev.yaml"),
      "encryptionsalt: v1:abc\n",
    );
    const r = recover(["--yes"], { PULUMI_CONFIG_PASSPHRASE: undefined });
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      /^recover: refused: stack dev keeps its secrets with a passphrase \(Pulumi\.dev\.yaml has an encryptionsalt\), and PULUMI_CONFIG_PASSPHRASE is not set: .*export PULUMI_CONFIG_PASSPHRASE=<passphrase> \(or PULUMI_CONFIG_PASSPHRASE_FILE=<file>\)\n$/,
    );
    assert.deepEqual(bin.calls("pulumi"), ["whoami --json"]);
  });
});

describe("recover's Helm release records", () => {
  const release = (name: string, urn = `urn::${name}`) => ({
    urn,
    name,
    namespace: "istio-system",
  });

  it("WHEN the preview creates releases THEN only Helm releases are looked at", () => {
    assert.deepEqual(
      releasesToInstall([
        {
          op: "create",
          urn: "u1",
          newState: {
            type: "kubernetes:helm.sh/v3:Release",
            inputs: { name: "istiod", namespace: "istio-system" },
          },
        },
        { op: "update", urn: "u2" },
        {
          op: "create",
          urn: "u3",
          newState: {
            type: "kubernetes:core/v1:Namespace",
            inputs: { name: "x", namespace: "" },
          },
        },
      ]),
      [{ urn: "u1", name: "istiod", namespace: "istio-system" }],
    );
  });

  it("WHEN a record is pending, or the killed run was creating it THEN it is dropped; a deployed one of another release is left alone", () => {
    const pending = {
      release: release("istiod"),
      statuses: ["pending-install"],
    };
    const cut = { release: release("gateway"), statuses: ["deployed"] };
    const other = { release: release("kiali"), statuses: ["deployed"] };
    const none = { release: release("base"), statuses: [] };
    const judged = judgeReleases(
      [pending, cut, other, none],
      new Set(["urn::gateway"]),
    );
    assert.deepEqual(judged, { drop: [pending, cut], foreign: [other] });
    assert.deepEqual(
      planLines({ locks: [], pending: [], ...judged }).at(-1),
      "  left alone: Helm release istio-system/kiali (deployed) exists but is not the stack's: uninstall it, or the next up fails",
    );
  });
});

describe("recover's judgement of the stack's lock files", () => {
  /** A host without /proc (macOS) whose every pid answers signal 0. */
  const mac: HostFacts = {
    procDir: "/nonexistent/proc",
    kill: () => undefined,
    hostname: () => "laptop",
  };
  const judge = (lock: Parameters<typeof judgeLocks>[0][number]) =>
    judgeLocks([lock], { forceOtherHost: false }, mac);

  it("WHEN a lock file is unreadable and fresh THEN it may be one being written: refused; WHEN old THEN removed", () => {
    assert.deepEqual(judge({ file: "/s/l.json", ageMs: 2000 }), {
      kind: "refuse",
      message:
        "the lock file /s/l.json is being written (unreadable, 2 s old): an update is starting; run recover again when it has ended",
    });
    assert.deepEqual(judge({ file: "/s/l.json", ageMs: 60_000 }), {
      kind: "remove",
      reasons: [
        "the lock file /s/l.json is unreadable (its write was cut short)",
      ],
    });
  });

  it("WHEN this host cannot tell whether the lock's pid is pulumi THEN it refuses, saying how to check and what to run", () => {
    assert.deepEqual(
      judge({
        file: "/s/l.json",
        ageMs: 60_000,
        lock: { pid: 4242, hostname: "laptop", timestamp: "T" },
      }),
      {
        kind: "refuse",
        message:
          "the stack's lock of T may still be held: pid 4242 on laptop runs, and without /proc this host cannot tell whether it is pulumi; " +
          "let that update finish (or stop it), then run recover again; if 'ps -p 4242' shows no pulumi, nothing holds the lock: remove it with 'pulumi cancel'",
      },
    );
  });
});
