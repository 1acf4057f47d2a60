// The patterns config strings must match, each with the hint its message gives.

/** A pattern a string must match, and what to tell the user when it does not. */
export interface Pattern {
  readonly re: RegExp;
  readonly hint: string;
}

// DNS-1123 label: what Kubernetes accepts for namespace names, and what Istio accepts for subset
// names. Version names end up in both (Deployment names, subsets), so they must satisfy it.
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A release or chart version: major.minor.patch with an optional pre-release. */
export const SEMVER = /^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/;
// Image references, after the grammar of distribution/reference: a registry host (a port
// allowed), lowercase path components, and a tag or a digest.
// Each part is written so a string matches it in one way only: no backtracking blow-up.
const HOST_LABEL = "[A-Za-z0-9]+(?:-+[A-Za-z0-9]+)*";
const HOST = `${HOST_LABEL}(?:\\.${HOST_LABEL})*(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
/** Where images come from: a registry host or a repository path (Istio's hub). */
export const IMAGE_HUB: Pattern = {
  re: new RegExp(`^${HOST}(?:/${PATH_COMPONENT})*$`),
  hint: "must be an image registry and path such as docker.io/istio or localhost:5000/istio",
};
/** An image tag, as registries accept it. */
export const IMAGE_TAG: Pattern = {
  re: new RegExp(`^${TAG}$`),
  hint: "must be an image tag: at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
};
/** An image reference, pinned or not (`Checker.image` requires the pin). */
export const IMAGE: Pattern = {
  re: new RegExp(
    `^(?:${HOST}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@sha256:[0-9a-f]{64})?$`,
  ),
  hint: "must be an image reference such as registry.example.com/team/app:1.2.3 (a lowercase path, then a tag or an @sha256: digest)",
};
export const CPU = /^([0-9]+m|[0-9]+(\.[0-9]+)?)$/;
export const MEMORY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
