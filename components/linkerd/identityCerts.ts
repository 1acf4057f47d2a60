// Linkerd's identity PKI made in Node: an ECDSA P-256 trust anchor and an issuer CA it signs,
// the shapes Linkerd checks (linkerd2 pkg/issuercerts: issuer a CA, valid now, signed by an
// anchor; pkg/identity/service.go: ECDSA keys). @pulumi/tls's provider cannot be fetched here,
// and Node's own crypto parses but cannot sign certificates, so @peculiar/x509 signs.
//
// generateLinkerdIdentity runs inside LinkerdIdentity's dynamic provider, whose code the engine
// serializes with what it captures: so it captures nothing and requires its modules itself.
import type * as X509 from "@peculiar/x509";
import type * as NodeCrypto from "crypto";

/** The PEMs Linkerd's chart takes (identityTrustAnchorsPEM, identity.issuer.tls.*). */
export interface LinkerdIdentityPems {
  readonly trustAnchorPem: string;
  /** Kept so the issuer can be re-signed by the same anchor; never given to the cluster. */
  readonly trustAnchorKeyPem: string;
  readonly issuerCertPem: string;
  readonly issuerKeyPem: string;
}

export interface IdentityValidity {
  /** Years the trust anchor is valid. Defaults to 10. */
  readonly anchorYears?: number;
  /** Days the issuer is valid. Defaults to 365. */
  readonly issuerDays?: number;
}

/** NotBefore is set this far in the past, so a node whose clock lags still accepts the issuer. */
export const BACKDATE_MS = 5 * 60 * 1000;

/**
 * A fresh trust anchor (a self-signed CA, pathlen 1) and an issuer CA it signs (pathlen 0, the
 * one that signs the proxies' certificates), both valid from `now` less BACKDATE_MS.
 */
export async function generateLinkerdIdentity(
  trustDomain: string,
  now: Date = new Date(),
  validity: IdentityValidity = {},
): Promise<LinkerdIdentityPems> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  require("reflect-metadata"); // @peculiar/x509 resolves its classes through it
  const x509 = require("@peculiar/x509") as typeof X509;
  const { webcrypto } = require("crypto") as typeof NodeCrypto;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
  const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
  const CA_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
  // Positive 16-byte serials (the top bit cleared).
  const serial = (): string => {
    const bytes = webcrypto.getRandomValues(new Uint8Array(16));
    bytes[0] &= 0x7f;
    return Buffer.from(bytes).toString("hex");
  };
  const keyPem = async (key: CryptoKey): Promise<string> =>
    x509.PemConverter.encode(
      await webcrypto.subtle.exportKey("pkcs8", key),
      "PRIVATE KEY",
    );
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  // Backdated, so a node whose clock lags still accepts the issuer (BACKDATE_MS, inlined).
  const notBefore = new Date(now.getTime() - 5 * 60 * 1000);
  const anchorUntil = new Date(notBefore);
  anchorUntil.setUTCFullYear(
    anchorUntil.getUTCFullYear() + (validity.anchorYears ?? 10),
  );
  const issuerUntil = new Date(
    notBefore.getTime() + (validity.issuerDays ?? 365) * 86_400_000,
  );
  const gen = () =>
    webcrypto.subtle.generateKey(EC, true, [
      "sign",
      "verify",
    ]) as Promise<CryptoKeyPair>;
  const anchorKeys = await gen();
  const issuerKeys = await gen();
  const anchor = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=root.linkerd.${trustDomain}`,
    notBefore,
    notAfter: anchorUntil,
    keys: anchorKeys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(CA_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(anchorKeys.publicKey),
    ],
  });
  const issuer = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=identity.linkerd.${trustDomain}`,
    issuer: anchor.subject,
    notBefore,
    notAfter: issuerUntil < anchorUntil ? issuerUntil : anchorUntil,
    publicKey: issuerKeys.publicKey,
    signingKey: anchorKeys.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(issuerKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(anchorKeys.publicKey),
    ],
  });
  return {
    trustAnchorPem: anchor.toString("pem"),
    trustAnchorKeyPem: await keyPem(anchorKeys.privateKey),
    issuerCertPem: issuer.toString("pem"),
    issuerKeyPem: await keyPem(issuerKeys.privateKey),
  };
}
