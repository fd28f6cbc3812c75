// Which backends this build has and which can run on this machine, with the reason for each.
import { binding } from './native.js';

/** One compiled backend: its name, whether it can run on this machine, and why (probeBackends()). */
export interface BackendProbe {
  name: string;
  available: boolean;
  /** Why it is (or is not) usable here, e.g. "io_uring_setup: EPERM". */
  reason: string;
}

/** Backends compiled into this build, best first. */
export function compiledBackends(): string[] {
  return [...binding.compiledBackends];
}

/** Tries each compiled backend (creates and destroys it) and reports what this machine permits. */
export function probeBackends(): BackendProbe[] {
  return binding.compiledBackends.map((name) => {
    try {
      const b = new binding.NativeBackend(name, new Int32Array(2));
      const reason = b.reason;
      b.destroy();
      return { name, available: true, reason };
    } catch (error) {
      return { name, available: false, reason: error instanceof Error ? error.message : String(error) };
    }
  });
}

/** The backend asked for and who asked: run()'s option, the CORIO_BACKEND variable, or neither ('auto'). */
export interface BackendRequest {
  kind: string;
  source: 'option' | 'CORIO_BACKEND' | 'default';
}

/**
 * run()'s option wins, then CORIO_BACKEND, then 'auto'. A variable that is set but empty (`CORIO_BACKEND=`,
 * which shells make easy to leave behind) means unset, as an empty NODE_OPTIONS does for Node.
 */
export function requestedBackend(option?: string, env: NodeJS.ProcessEnv = process.env): BackendRequest {
  if (option !== undefined) return { kind: option, source: 'option' };
  const fromEnv = env.CORIO_BACKEND;
  if (fromEnv !== undefined && fromEnv !== '') return { kind: fromEnv, source: 'CORIO_BACKEND' };
  return { kind: 'auto', source: 'default' };
}

/** The backend run() would pick for `kind` on this machine and the reason it gives (creates and destroys it). */
export function chooseBackend(kind: string): BackendProbe {
  try {
    const b = new binding.NativeBackend(kind, new Int32Array(2));
    const chosen = { name: b.name, available: true, reason: b.reason };
    b.destroy();
    return chosen;
  } catch (error) {
    return { name: kind, available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
