// linkerd.identity checked before any resource, with certificates made here: what Linkerd would
// refuse at run time (pkg/issuercerts at edge-26.8.3) is refused by the config, with the field and
// the fix; and what the stack generates itself passes the same checks.
import "reflect-metadata";
import * as assert from "assert";
import { webcrypto } from "crypto";
import * as x509 from "@peculiar/x509";
import * as pulumi from "@pulumi/pulumi";
import { checkIdentityPems } from "../../components/config";
import { Checker } from "../../components/config/checker";
import {
  generateLinkerdIdentity,
  identityProvider,
} from "../../components/linkerd";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const NOW = new Date();
const HOUR = 3_600_000;

interface Made {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
  keyPem: string;
}

/** A CA certificate with the given flaws (signed by `signer`, or self-signed). */
async function make(
  cn: string,
  o: {
    signer?: Made;
    curve?: string;
    ca?: boolean;
    pathLen?: number;
    from?: Date;
    to?: Date;
  } = {},
): Promise<Made> {
  const keys = (await webcrypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: o.curve ?? "P-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const alg = o.curve === "P-384" ? { name: "ECDSA", hash: "SHA-384" } : SIGN;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "01",
    subject: `CN=${cn}`,
    issuer: o.signer ? o.signer.cert.subject : `CN=${cn}`,
    notBefore: o.from ?? new Date(NOW.getTime() - HOUR),
    notAfter: o.to ?? new Date(NOW.getTime() + 24 * HOUR),
    publicKey: keys.publicKey,
    signingKey: o.signer ? o.signer.keys.privateKey : keys.privateKey,
    signingAlgorithm: o.signer ? SIGN : alg,
    extensions: [
      new x509.BasicConstraintsExtension(o.ca ?? true, o.pathLen, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const der = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    cert,
    keys,
    pem: cert.toString("pem"),
    keyPem: x509.PemConverter.encode(der, "PRIVATE KEY"),
  };
}

function check(
  identity: Record<string, string>,
  keySecret = true,
): { problems: string[]; result: unknown } {
  const c = new Checker();
  const result = checkIdentityPems(
    c,
    "linkerd.identity",
    identity,
    keySecret,
    NOW,
  );
  return { problems: c.problems, result };
}

const pems = (anchor: Made, issuer: Made, key = issuer.keyPem) => ({
  trustAnchorPem: anchor.pem,
  issuerCertPem: issuer.pem,
  issuerKeyPem: key,
});

describe("linkerd.identity, checked before any resource", () => {
  let anchor: Made;
  let issuer: Made;
  before(async () => {
    anchor = await make("root.linkerd.cluster.local", { pathLen: 1 });
    issuer = await make("identity.linkerd.cluster.local", {
      signer: anchor,
      pathLen: 0,
    });
  });

  it("WHEN a P-256 anchor and a pathlen-0 issuer it signed, valid now, are given as secrets THEN they are accepted as they are", () => {
    const { problems, result } = check(pems(anchor, issuer));
    assert.deepStrictEqual(problems, []);
    assert.deepStrictEqual(result, pems(anchor, issuer));
  });

  it("WHEN the stack generates its own identity THEN it passes the same checks, its issuer backdated five minutes", async () => {
    const g = await generateLinkerdIdentity("cluster.local", NOW);
    assert.deepStrictEqual(
      check({
        trustAnchorPem: g.trustAnchorPem,
        issuerCertPem: g.issuerCertPem,
        issuerKeyPem: g.issuerKeyPem,
      }).problems,
      [],
    );
    const from = new x509.X509Certificate(g.issuerCertPem).notBefore.getTime();
    assert.ok(Math.abs(NOW.getTime() - 5 * 60_000 - from) < 2000, String(from));
  });

  it("WHEN the issuer key is stored in plain text THEN it is refused with the --secret fix", () => {
    const { problems } = check(pems(anchor, issuer), false);
    assert.strictEqual(problems.length, 1);
    assert.match(
      problems[0],
      /^linkerd\.identity\.issuerKeyPem is stored in plain text .*pulumi config set --secret --path linkerd\.identity\.issuerKeyPem/,
    );
  });

  it("WHEN one PEM is missing THEN the missing field is named and nothing else is checked", () => {
    const { problems, result } = check({
      trustAnchorPem: anchor.pem,
      issuerCertPem: issuer.pem,
    });
    assert.strictEqual(result, undefined);
    assert.deepStrictEqual(
      problems.map((p) => p.split(" ")[0]),
      ["linkerd.identity.issuerKeyPem"],
    );
  });

  it("WHEN the issuer is signed by another anchor THEN it is refused, naming both fields", async () => {
    const stranger = await make("other root", { pathLen: 1 });
    const foreign = await make("identity.linkerd.cluster.local", {
      signer: stranger,
      pathLen: 0,
    });
    const { problems } = check(pems(anchor, foreign));
    assert.strictEqual(problems.length, 1, problems.join("\n"));
    assert.match(
      problems[0],
      /^linkerd\.identity\.issuerCertPem .* is not signed by any certificate of linkerd\.identity\.trustAnchorPem; sign the issuer/,
    );
  });

  it("WHEN the issuer is not a CA, has no pathlen 0, or is not valid now THEN each is refused with what Linkerd needs", async () => {
    const leaf = await make("leaf", { signer: anchor, ca: false });
    const deep = await make("deep", { signer: anchor, pathLen: 2 });
    const future = await make("future", {
      signer: anchor,
      pathLen: 0,
      from: new Date(NOW.getTime() + HOUR),
    });
    const expired = await make("expired", {
      signer: anchor,
      pathLen: 0,
      to: new Date(NOW.getTime() - 1000),
    });
    const cases: Array<[Made, RegExp]> = [
      [leaf, /it is not a CA \(basicConstraints CA:TRUE is missing\)/],
      [deep, /its pathlen is 2, not 0/],
      [future, /not now .*backdate NotBefore/],
      [expired, /not now/],
    ];
    for (const [cert, why] of cases) {
      const { problems } = check(pems(anchor, cert));
      assert.strictEqual(problems.length, 1, problems.join("\n"));
      assert.match(
        problems[0],
        /^linkerd\.identity\.issuerCertPem \(CN=\w+\) is refused: /,
      );
      assert.match(problems[0], why);
    }
  });

  it("WHEN the anchor's key is P-384 THEN it is refused as not ECDSA P-256", async () => {
    const big = await make("big root", { curve: "P-384", pathLen: 1 });
    const { problems } = check(
      pems(big, await make("i", { signer: big, pathLen: 0 })),
    );
    assert.ok(
      problems.some((p) =>
        /^linkerd\.identity\.trustAnchorPem certificate 1 .*its key is ec secp384r1, not ECDSA P-256/.test(
          p,
        ),
      ),
      problems.join("\n"),
    );
  });

  it("WHEN the key is not the issuer's, or a PEM is not one THEN each is refused without printing the PEM", async () => {
    const other = await make("x", { signer: anchor, pathLen: 0 });
    assert.match(
      check(pems(anchor, issuer, other.keyPem)).problems.join("\n"),
      /issuerKeyPem is not the key of linkerd\.identity\.issuerCertPem/,
    );
    const { problems } = check({
      trustAnchorPem: "junk",
      issuerCertPem: issuer.pem,
      issuerKeyPem: "secret-junk",
    });
    assert.match(
      problems.join("\n"),
      /trustAnchorPem is not a PEM certificate \(got 4 characters\)/,
    );
    assert.match(
      problems.join("\n"),
      /issuerKeyPem is not a PEM private key \(got 11 characters\)/,
    );
    assert.ok(!problems.join("\n").includes("secret-junk"));
  });
});

describe("LinkerdIdentity's dynamic provider", () => {
  it("WHEN serialized as the engine runs it THEN its create makes an anchor and issuer that pass the checks, and a changed input replaces them", async () => {
    const text = (
      await pulumi.runtime.serializeFunction(() => identityProvider, {
        isFactoryFunction: true,
      })
    ).text;
    const mod = {
      exports: {} as { handler?: pulumi.dynamic.ResourceProvider },
    };
    new Function("exports", "require", text)(mod.exports, require);
    const provider = mod.exports.handler!;
    const inputs = {
      trustDomain: "cluster.local",
      anchorYears: 10,
      issuerDays: 30,
    };
    const made = await provider.create(inputs);
    const outs = made.outs as Record<string, string>;
    assert.deepStrictEqual(
      check({
        trustAnchorPem: outs.trustAnchorPem,
        issuerCertPem: outs.issuerCertPem,
        issuerKeyPem: outs.issuerKeyPem,
      }).problems,
      [],
    );
    const days =
      (new x509.X509Certificate(outs.issuerCertPem).notAfter.getTime() -
        new x509.X509Certificate(outs.issuerCertPem).notBefore.getTime()) /
      86_400_000;
    assert.strictEqual(days, 30);
    assert.deepStrictEqual(await provider.diff!(made.id, inputs, inputs), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.deepStrictEqual(
      (await provider.diff!(made.id, inputs, { ...inputs, issuerDays: 60 }))
        .replaces,
      ["issuerDays"],
    );
  });
});
