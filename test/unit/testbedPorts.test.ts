// test/testbed/ports.sh: the test bed's listeners get ports below the kernel's ephemeral range,
// where no outgoing connection's source port can take them between the check and the bind (the
// CI failure of 2026-12-04: pilot-discovery's own API-server connection held its webhook port).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

const PORTS = path.join(__dirname, "..", "testbed", "ports.sh");

function bash(script: string): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const r = spawnSync(
    "bash",
    ["-c", `die() { echo "die: $*" >&2; exit 1; }\n. "${PORTS}"\n${script}`],
    {
      encoding: "utf8",
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ephemeralLow = Number(
  fs
    .readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
    .trim()
    .split(/\s+/)[0],
);

describe("the test bed's port picker (ports.sh)", () => {
  it("WHEN nothing listens on a port THEN port_listened says so", () => {
    const r = bash(
      'p=$(free_port); port_listened "$p" && echo listened || echo not',
    );
    assert.equal(r.stdout.trim(), "not", r.stderr);
  });

  it("WHEN 40 ports are taken THEN each is below the ephemeral range and none repeats", () => {
    const r = bash(
      'for i in $(seq 1 40); do p=$(free_port); USED_PORTS+="$p "; echo "$p"; done',
    );
    assert.equal(r.status, 0, r.stderr);
    const ports = r.stdout.trim().split("\n").map(Number);
    assert.equal(ports.length, 40);
    assert.equal(new Set(ports).size, 40);
    for (const p of ports) {
      assert.ok(
        p >= 10000 && p < ephemeralLow,
        `${p} is not below ${ephemeralLow}`,
      );
    }
  });

  it("WHEN something listens on a port THEN port_free says it is taken", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const r = bash(`port_free ${port} && echo free || echo taken`);
      assert.equal(r.stdout.trim(), "taken");
      // A restart of a listener only waits for a listener, not for lingering connections.
      const l = bash(`port_listened ${port} && echo listened || echo not`);
      assert.equal(l.stdout.trim(), "listened");
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
