// Types of tools/preflight.js (plain JavaScript: `npm run deploy` runs it before node_modules
// exists), for the TypeScript tools and tests.

/** A command's end, as child_process.spawnSync reports it. */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the command could not run: code ENOENT when it is not on PATH. */
  readonly error?: { readonly code?: string; readonly message: string };
}

export type Runner = (cmd: string, args: string[]) => RunResult;

export function runCommand(
  cmd: string,
  args: string[],
  opts?: { cwd?: string; env?: NodeJS.ProcessEnv },
): RunResult;

export function checkLogin(run: Runner): {
  problem?: string;
  backendUrl?: string;
};

export function checkPassphrase(opts: {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stack: string;
  backendUrl?: string;
  exists?: boolean;
}): string | undefined;

export function checkKubeContext(run: Runner): {
  problem?: string;
  context?: string;
};

export function stackExists(run: Runner, stack: string): boolean | undefined;

export interface PreflightOptions {
  readonly stack: string;
  /** The tool talks to the cluster: check the current kubectl context. */
  readonly kube?: boolean;
  /** The tool creates the stack when it is missing (deploy): a new stack needs a passphrase too. */
  readonly mayInit?: boolean;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly run?: Runner;
}

export interface PreflightResult {
  /** One line each, naming what is missing and the fix; empty when all is there. */
  readonly problems: string[];
  /** The backend `pulumi whoami` names (file://..., https://api.pulumi.com), if logged in. */
  readonly backendUrl?: string;
  /** Whether the stack exists, when `mayInit` asked. */
  readonly stackExists?: boolean;
  readonly kubeContext?: string;
}

export function preflight(opts: PreflightOptions): PreflightResult;

/** Why `npm ci` must run in `root`, or undefined when node_modules matches package-lock.json. */
export function npmCiNeeded(root: string): string | undefined;

export const PASSPHRASE_FIX: string;
