// corio's public API.
export { run, spawn, sleep, now, backend, currentLoop, stats } from './run.js';
export type { RunOptions, SpawnOptions, BackendKind, BackendInfo, Main, LoopStats } from './run.js';
export { yieldNow, suspend, Instruction } from './instruction.js';
export type { Operation, Waiter } from './instruction.js';
export { Task } from './task.js';
export type { TaskState, TaskOutcome } from './task.js';
export { open, readFile, writeFile, appendFile, FileHandle, FileStats } from './file.js';
export type { PathLike, Data, ReadFileOptions, WriteFileOptions } from './file.js';
export type { OpenFlags } from './flags.js';
export {
  CancelledError,
  CorioError,
  DeadlockError,
  UnobservedErrors,
  systemError,
} from './errors.js';
export type { SystemError } from './errors.js';
export { probeBackends, compiledBackends } from './backends.js';
export type { BackendProbe } from './backends.js';
