/**
 * `peerd decode [FILE|-]`: reads a raw P2P byte stream and prints one JSON object per message.
 * A bad frame prints an error object with its byte offset and reason; decoding resumes after a
 * frame whose boundary is still trustworthy (bad checksum, bad command) and stops with a clear
 * error otherwise (wrong magic, absurd length). Exit status 1 if any error was seen.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { FrameDecoder } from '../wire/framing.js';
import { decodeMessage } from '../wire/messages.js';
import { messageSummary } from '../wire/summary.js';
import { networkByMagic, networkParams, NETWORKS, type NetworkName } from '../wire/network.js';

export interface DecodeReport {
  readonly messages: number;
  readonly errors: number;
}

/** Decodes a stream, writing JSON lines to `out`. The network comes from the option or from the first four bytes. */
export async function decodeStream(input: Readable, out: (line: string) => void, network?: NetworkName): Promise<DecodeReport> {
  let decoder: FrameDecoder | null = network ? new FrameDecoder({ magic: networkParams(network).magic }) : null;
  let head = Buffer.alloc(0);
  let messages = 0;
  let errors = 0;
  let stopped = false;
  const drain = (): void => {
    if (!decoder) return;
    for (let f = decoder.next(); f !== null; f = decoder.next()) {
      if (f.kind === 'error') {
        errors++;
        const resumable = f.resumeAt !== null;
        out(JSON.stringify({ offset: f.offset, error: f.code, command: f.command, declaredLength: f.declaredLength, reason: f.message, resumeAt: f.resumeAt }));
        if (!resumable || !decoder.recover()) {
          out(JSON.stringify({ offset: f.offset, error: 'stopped', reason: `cannot find the next frame after a ${f.code} error; the rest of the input is not decoded` }));
          stopped = true;
          return;
        }
        continue;
      }
      const r = decodeMessage(f.command, f.payload, { allowTrailing: true });
      if (!r.ok) {
        errors++;
        out(JSON.stringify({ offset: f.offset, command: f.command, size: f.payload.length, error: r.error.code, at: f.offset + 24 + r.error.offset, reason: r.error.message }));
        continue;
      }
      messages++;
      out(JSON.stringify({ offset: f.offset, command: f.command, size: f.payload.length, ...messageSummary(r.value) }));
    }
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (stopped) break;
    if (!decoder) {
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) continue;
      const params = networkByMagic(head.readUInt32LE(0));
      decoder = new FrameDecoder({ magic: (params ?? networkParams('main')).magic });
      decoder.push(head);
    } else decoder.push(chunk);
    drain();
  }
  if (!decoder && head.length > 0) {
    errors++;
    out(JSON.stringify({ offset: 0, error: 'truncated', reason: `only ${head.length} bytes: not even a magic` }));
  } else if (decoder && !stopped && decoder.bytesBuffered > 0) {
    errors++;
    out(JSON.stringify({ offset: decoder.streamOffset, error: 'truncated', reason: `${decoder.bytesBuffered} bytes at the end do not make a whole frame` }));
  }
  return { messages, errors };
}

export function installDecode(program: Command, setExit: (code: number) => void): void {
  program
    .command('decode')
    .description('decode a raw P2P byte stream (a capture, a file of frames) into one JSON object per message')
    .argument('[file]', 'file to read, or - for standard input', '-')
    .option('--network <name>', `magic to expect (${NETWORKS.join(', ')}); default: detected from the first four bytes`)
    .action(async (file: string, opts: { network?: string }) => {
      if (opts.network !== undefined && !(NETWORKS as readonly string[]).includes(opts.network)) {
        process.stderr.write(`peerd decode: --network must be one of ${NETWORKS.join(', ')}\n`);
        return setExit(2);
      }
      const input: Readable = file === '-' ? process.stdin : createReadStream(file);
      try {
        const lines: string[] = [];
        const flush = () => {
          if (lines.length) process.stdout.write(lines.join('\n') + '\n');
          lines.length = 0;
        };
        const r = await decodeStream(input, (l) => {
          lines.push(l);
          if (lines.length >= 256) flush();
        }, opts.network as NetworkName | undefined);
        flush();
        process.stderr.write(`${r.messages} messages, ${r.errors} errors\n`);
        setExit(r.errors > 0 ? 1 : 0);
      } catch (err) {
        process.stderr.write(`peerd decode: ${err instanceof Error ? err.message : String(err)}\n`);
        setExit(2);
      }
    });
}
