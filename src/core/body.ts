// What structured operations accept as a body: a generator function, or an operation.
import { describeValue } from './errors.js';
import type { Instruction, Operation } from './instruction.js';

/** What structured operations (taskGroup spawn, all, race, timeouts …) accept: a generator function or an operation. */
export type Body<T> = (() => Operation<T>) | Operation<T>;

export function toOperation<T>(body: Body<T>, caller: string): Operation<T> {
  if (typeof body === 'function') {
    return {
      [Symbol.iterator]() {
        const produced = body();
        if (produced === null || typeof produced !== 'object' || typeof produced[Symbol.iterator] !== 'function') {
          throw new TypeError(`${caller}() needs a generator function (function*) or an operation; got a function returning ${describeValue(produced)}`);
        }
        return produced[Symbol.iterator]() as Iterator<Instruction<unknown>, T, unknown>;
      },
    };
  }
  if (body !== null && typeof body === 'object' && typeof (body as Operation<T>)[Symbol.iterator] === 'function') return body;
  throw new TypeError(`${caller}() needs a generator function (function*) or an operation, got ${describeValue(body)}`);
}
