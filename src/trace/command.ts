// `corio trace <file>` (src/cli.ts): reads a trace corio wrote (run(main, { trace }) or CORIO_TRACE=<file>) and prints its
// summary; --svg <out> also draws the timeline, --from/--to (ms) pick a window of it.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fromTraceFile, type TraceFile } from './perfetto.js';
import { formatSummary } from './summary.js';
import { toSvg } from './svg.js';

export const TRACE_USAGE = `usage: corio trace <trace.json> [--svg <out.svg>] [--from <ms>] [--to <ms>] [--width <px>]

Prints the summary of a trace recorded with run(main, { trace: 'trace.json' }) or CORIO_TRACE=trace.json:
time in the kernel and in JS, operations by kind and where they ran, submissions per flush, the longest
task steps. --svg also writes the timeline as a self-contained SVG. The same file opens in ui.perfetto.dev.`;

export function traceCommand(argv: readonly string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        svg: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        width: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`corio trace: ${(error as Error).message}\n\n${TRACE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(TRACE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`corio trace: expected one trace file, got ${positionals.length}\n\n${TRACE_USAGE}`);
    return 2;
  }
  const number = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${name} must be a non-negative number, got '${text}'`);
    return n;
  };
  let recording;
  try {
    recording = fromTraceFile(JSON.parse(readFileSync(positionals[0], 'utf8')) as TraceFile);
  } catch (error) {
    console.error(`corio trace: cannot read ${positionals[0]}: ${(error as Error).message}`);
    return 1;
  }
  console.log(formatSummary(recording));
  if (values.svg !== undefined) {
    try {
      writeFileSync(values.svg, toSvg(recording, {
        from: number('from', values.from), to: number('to', values.to), width: number('width', values.width),
      }));
    } catch (error) {
      console.error(`corio trace: ${(error as Error).message}`);
      return 2;
    }
    console.log(`wrote ${values.svg}`);
  }
  return 0;
}
