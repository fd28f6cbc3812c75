// corio's public API.
export { run, spawn, sleep, now, backend, currentLoop, stats, dumpTasks } from './run.js';
export type { RunOptions, SpawnOptions, BackendKind, BackendInfo, Main, LoopStats } from './run.js';
export type { DebugOptions, SlowStep } from './loop.js';
export { yieldNow, suspend, Instruction } from './instruction.js';
export type { Operation, Op, Waiter } from './instruction.js';
export { Task, currentTask } from './task.js';
export type { TaskState, TaskOutcome } from './task.js';
export { withTimeout, moveOnAfter, withDeadline, moveOnAt, shield } from './timeouts.js';
export type { Body } from './body.js';
export { taskGroup, TaskGroup, TaskGroupError, all, allSettled, race, first, asCompleted } from './group.js';
export type { Settled } from './group.js';
export { Event, Lock, Semaphore, BoundedSemaphore, Condition, Barrier, BrokenBarrierError } from './sync.js';
export { Queue, LifoQueue, PriorityQueue, QueueShutDown, QueueFull, QueueEmpty } from './queue.js';
export { open, readFile, writeFile, appendFile, FileHandle, FileStats } from './file.js';
export type { PathLike, Data, ReadFileOptions, WriteFileOptions } from './file.js';
export { FileWriter, createWriter, openWriter } from './stream.js';
export { unlink, rename, mkdir, rmdir, rm, readdir, stat, lstat, copyFile, writeFileAtomic, Dirent } from './fs-ops.js';
export type { MkdirOptions, RmOptions, AtomicWriteOptions } from './fs-ops.js';
export type { WriterOptions } from './stream.js';
export type { OpenFlags } from './flags.js';
export {
  CancelledError,
  CorioError,
  DeadlockError,
  TimeoutError,
  UnobservedErrors,
  systemError,
} from './errors.js';
export type { SystemError } from './errors.js';
export { probeBackends, compiledBackends } from './backends.js';
export type { BackendProbe } from './backends.js';
