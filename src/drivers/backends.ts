// Which backends this build has and which can run on this machine, with the reason for each.
import { binding } from './native.js';

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
