// A writable for large outputs from a coroutine: write() hands a chunk to the kernel and returns at once
// while the bytes in flight stay under a window; past it, write() waits until completions make room. So a
// producer runs as fast as the disk takes data, with bounded memory, and never waits one write at a time.
//
//     const out = yield* openWriter('/tmp/big.csv', { window: 4 << 20 });
//     for (const row of rows) yield* out.write(row);
//     yield* out.end();        // waits for everything, closes, throws the first error if any
//
// Chunks land one after another in write() order (each takes the next range of the file, as position-less
// writes do). The first failure stops the writer: later write() calls and end() throw it, and end() still
// waits for the chunks in flight so nothing touches the file after it returns.
import { Buffer } from 'node:buffer';
import { CorioError, describeValue } from '../core/errors.js';
import { open, type FileHandle, type Data, type PathLike } from './file.js';
import type { OpenFlags } from './flags.js';
import type { Op } from '../core/instruction.js';
import { WaitList } from '../concurrency/sync.js';

/** createWriter()'s and openWriter()'s options. */
export interface WriterOptions {
  /** Most bytes in flight before write() waits. Default 1 MiB. */
  window?: number;
  /** Encoding for string chunks. Default utf8. */
  encoding?: BufferEncoding;
}

/**
 * Writes a stream of chunks to one file at consecutive offsets with several writes in flight (up to
 * `window` bytes): write() returns once a chunk is submitted and only waits while the window is full; end()
 * waits for every write and reports the first failure. Made by createWriter() or openWriter().
 */
export class FileWriter {
  private inFlight = 0;
  private written = 0;
  private failure: unknown = undefined;
  private ended = false;
  private readonly room = new WaitList<void>();
  private readonly window: number;
  private readonly encoding: BufferEncoding;

  constructor(
    readonly file: FileHandle,
    private readonly ownsFile: boolean,
    options: WriterOptions = {},
  ) {
    const window = options.window ?? 1 << 20;
    if (!Number.isSafeInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, got ${describeValue(window)}`);
    this.window = window;
    this.encoding = options.encoding ?? 'utf8';
  }

  /** Bytes the kernel has confirmed written. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Bytes handed to the kernel and not yet confirmed. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** Queues a chunk; waits only while the window is full. */
  *write(chunk: Data): Op<void> {
    if (this.ended) throw new CorioError('ERR_STREAM_WRITE_AFTER_END', 'write() after end()');
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, this.encoding) : chunk;
    if (!ArrayBuffer.isView(bytes)) throw new TypeError(`write() takes a string or an ArrayBufferView, got ${describeValue(chunk)}`);
    // A chunk bigger than the window still goes out alone once everything before it has finished.
    while (this.failure === undefined && this.inFlight > 0 && this.inFlight + bytes.byteLength > this.window) {
      yield* this.room.wait('FileWriter.write() (window full)');
    }
    if (this.failure !== undefined) throw this.failure;
    const length = bytes.byteLength;
    this.inFlight += length;
    this.file.startWrite(bytes, {
      name: 'FileWriter',
      resume: (n: number) => this.settled(length, n, n < length ? new CorioError('ERR_CORIO_SHORT_WRITE', `short write: ${n} of ${length} bytes`) : undefined),
      fail: (error: unknown) => this.settled(length, 0, error),
    });
  }

  private settled(length: number, written: number, error: unknown): void {
    this.inFlight -= length;
    this.written += written;
    if (error !== undefined && this.failure === undefined) this.failure = error;
    this.room.wakeAll(undefined);
  }

  /** Waits for every chunk, closes the file if the writer opened it, and throws the first error. */
  *end(): Op<number> {
    this.ended = true;
    while (this.inFlight > 0) yield* this.room.wait('FileWriter.end() (draining)');
    if (this.ownsFile) yield* this.file.close();
    if (this.failure !== undefined) throw this.failure;
    return this.written;
  }
}

/** A writer over an open handle (the handle stays open after end()). */
export function createWriter(file: FileHandle, options?: WriterOptions): FileWriter {
  return new FileWriter(file, false, options);
}

/** Opens `path` (flag 'w' by default) and returns a writer that closes it at end(). */
export function* openWriter(path: PathLike, options: WriterOptions & { flags?: OpenFlags; mode?: number } = {}): Op<FileWriter> {
  const file = yield* open(path, options.flags ?? 'w', options.mode);
  return new FileWriter(file, true, options);
}
