// Linkerd identity material given in config (a team's own PKI), checked before any resource:
// what Linkerd itself would refuse at run time (linkerd2 pkg/issuercerts and
// pkg/identity/service.go at edge-26.8.3: ECDSA keys, the issuer a CA valid now, signed by one of
// the trust anchors). Node's crypto reads the certificates; @peculiar/x509 reads the extensions
// Node does not expose (path length, key usage). Messages never print a PEM.
import "reflect-metadata";
import * as crypto from "crypto";
import * as x509 from "@peculiar/x509";
import type { Checker } from "./checker";
import { Section } from "./section";

/**
 * `linkerd.identity`, for teams with their own PKI. All three are PEM strings:
 * - `trustAnchorPem`: the trust anchor(s) every proxy trusts (chart value identityTrustAnchorsPEM);
 *   may hold several certificates while a new anchor is rolled in;
 * - `issuerCertPem`: the issuer CA that signs the proxies' certificates, signed by an anchor
 *   (identity.issuer.tls.crtPEM);
 * - `issuerKeyPem`: its ECDSA P-256 private key (identity.issuer.tls.keyPEM); set it with
 *   `pulumi config set --secret --path linkerd.identity.issuerKeyPem`.
 *
 * Rotation: set a new issuer (signed by the same anchor) and `pulumi up`; the identity controller
 * picks it up and proxies renew within a day (identity.issuer.issuanceLifetime). A new anchor goes
 * in trustAnchorPem next to the old one first, pods restarted, then the issuer moves to it.
 */
export interface LinkerdIdentityConfig {
  readonly trustAnchorPem: string;
  readonly issuerCertPem: string;
  readonly issuerKeyPem: string;
}

const IDENTITY_FIELDS = {
  trustAnchorPem: "",
  issuerCertPem: "",
  issuerKeyPem: "",
};

const P256 = "prime256v1";

function certs(pem: string): crypto.X509Certificate[] {
  const blocks =
    pem.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    ) ?? [];
  return blocks.map((b) => new crypto.X509Certificate(b));
}

/** The CA problems of one certificate: P-256 key, CA basic constraint, keyCertSign, validity now. */
function caProblems(
  cert: crypto.X509Certificate,
  now: Date,
  pathLen?: number,
): string[] {
  const out: string[] = [];
  const curve = cert.publicKey.asymmetricKeyDetails?.namedCurve;
  if (cert.publicKey.asymmetricKeyType !== "ec" || curve !== P256) {
    out.push(
      `its key is ${cert.publicKey.asymmetricKeyType}${curve ? ` ${curve}` : ""}, not ECDSA P-256`,
    );
  }
  const parsed = new x509.X509Certificate(cert.raw);
  const bc = parsed.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) {
    out.push("it is not a CA (basicConstraints CA:TRUE is missing)");
  } else if (pathLen !== undefined && bc.pathLength !== pathLen) {
    out.push(`its pathlen is ${bc.pathLength ?? "unlimited"}, not ${pathLen}`);
  }
  const ku = parsed.getExtension(x509.KeyUsagesExtension);
  if (!ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    out.push("its key usage lacks keyCertSign");
  }
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (from > now || to <= now) {
    out.push(
      `it is valid from ${from.toISOString()} to ${to.toISOString()}, not now (${now.toISOString()}); backdate NotBefore a few minutes`,
    );
  }
  return out;
}

/**
 * Reads and checks `linkerd.identity`; records each problem (naming the field and the fix) and
 * returns undefined if there is any. `keySecret`: whether the stack stores `linkerd` encrypted.
 */
export function checkIdentityPems(
  c: Checker,
  key: string,
  raw: unknown,
  keySecret: boolean,
  now: Date,
): LinkerdIdentityConfig | undefined {
  const s = new Section(c, key, raw, IDENTITY_FIELDS);
  const before = c.problems.length;
  const fix = (field: string) =>
    `set it with 'pulumi config set --secret --path ${key}.${field} -- "$(cat <file>.pem)"', or remove ${key} to have the stack generate the identity`;
  const pems = {
    trustAnchorPem: s.string("trustAnchorPem"),
    issuerCertPem: s.string("issuerCertPem"),
    issuerKeyPem: s.string("issuerKeyPem"),
  };
  for (const [field, pem] of Object.entries(pems)) {
    if (!pem) {
      c.fail(
        `${key}.${field} is not set (all three PEMs go together); ${fix(field)}`,
      );
    }
  }
  if (c.problems.length > before) {
    return undefined;
  }
  if (!keySecret) {
    c.fail(
      `${key}.issuerKeyPem is stored in plain text (got a private key); ${fix("issuerKeyPem")}`,
    );
  }
  const read = (field: keyof typeof pems): crypto.X509Certificate[] => {
    try {
      const found = certs(pems[field]);
      if (found.length > 0) {
        return found;
      }
    } catch {
      // reported below
    }
    c.fail(
      `${key}.${field} is not a PEM certificate (got ${pems[field].length} characters); ${fix(field)}`,
    );
    return [];
  };
  const anchors = read("trustAnchorPem");
  const [issuer] = read("issuerCertPem");
  anchors.forEach((a, i) => {
    for (const p of caProblems(a, now)) {
      c.fail(
        `${key}.trustAnchorPem certificate ${i + 1} (${a.subject}) is refused: ${p}; Linkerd needs an ECDSA P-256 CA valid now`,
      );
    }
  });
  if (issuer) {
    for (const p of caProblems(issuer, now, 0)) {
      c.fail(
        `${key}.issuerCertPem (${issuer.subject}) is refused: ${p}; Linkerd needs an ECDSA P-256 issuer CA (pathlen 0, keyCertSign) valid now`,
      );
    }
    if (
      anchors.length > 0 &&
      !anchors.some((a) => issuer.checkIssued(a) && issuer.verify(a.publicKey))
    ) {
      c.fail(
        `${key}.issuerCertPem (${issuer.subject}, issued by ${issuer.issuer}) is not signed by any certificate of ${key}.trustAnchorPem; sign the issuer with the trust anchor's key`,
      );
    }
    try {
      const keyPub = crypto
        .createPublicKey(crypto.createPrivateKey(pems.issuerKeyPem))
        .export({ type: "spki", format: "der" });
      const certPub = issuer.publicKey.export({ type: "spki", format: "der" });
      if (!keyPub.equals(certPub)) {
        c.fail(
          `${key}.issuerKeyPem is not the key of ${key}.issuerCertPem (${issuer.subject}); give the issuer certificate's own private key`,
        );
      }
    } catch {
      c.fail(
        `${key}.issuerKeyPem is not a PEM private key (got ${pems.issuerKeyPem.length} characters); ${fix("issuerKeyPem")}`,
      );
    }
  }
  return c.problems.length > before ? undefined : pems;
}
