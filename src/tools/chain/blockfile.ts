/**
 * The block-file format of `../shared/fixtures/regtest-2000.blocks`: a sequence of records,
 * each a u32 little-endian length followed by that many bytes of a raw block as Core
 * serialises it (with witness data). No magic, no index, no padding.
 *
 * {@link readBlockFile} streams records with a bounded buffer (one record plus one read chunk),
 * so a file of any size is read without loading it whole. {@link BlockFileWriter} appends
 * records through a write stream, honouring backpressure.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** Largest record accepted (Core's MAX_BLOCK_SERIALIZED_SIZE is 4,000,000; leave headroom). */
export const MAX_RECORD_SIZE = 8_000_000;

export interface BlockRecord {
  /** Zero-based record index (height − 1 for a chain file starting at height 1). */
  readonly index: number;
  /** File offset of the record's length prefix; the block starts 4 bytes later. */
  readonly offset: number;
  /** The raw block bytes (an exact-size buffer owned by the caller). */
  readonly block: Buffer;
}

export class BlockFileError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'BlockFileError';
  }
}

/**
 * Iterates over the records of a block file. Throws {@link BlockFileError} on a truncated
 * record or a declared length above {@link MAX_RECORD_SIZE}.
 */
export async function* readBlockFile(path: string, opts: { highWaterMark?: number } = {}): AsyncGenerator<BlockRecord> {
  const stream = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 1 << 20 });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let fileOffset = 0; // file offset of the first byte in `pending`
  let index = 0;
  let need = -1; // block length of the current record once its prefix is known
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      for (;;) {
        if (need < 0) {
          if (pendingBytes < 4) break;
          const head = pending[0].length >= 4 ? pending[0] : Buffer.concat(pending);
          need = head.readUInt32LE(0);
          if (need > MAX_RECORD_SIZE) throw new BlockFileError(`record ${index} declares ${need} bytes (limit ${MAX_RECORD_SIZE})`, fileOffset);
        }
        if (pendingBytes < 4 + need) break;
        const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
        const block = Buffer.from(all.subarray(4, 4 + need));
        const rest = all.subarray(4 + need);
        yield { index, offset: fileOffset, block };
        index++;
        fileOffset += 4 + need;
        need = -1;
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
      }
    }
  } finally {
    stream.destroy();
  }
  if (pendingBytes > 0) {
    throw new BlockFileError(need < 0 ? `truncated record length (${pendingBytes} bytes left)` : `truncated record ${index}: ${need} bytes declared, ${pendingBytes - 4} present`, fileOffset);
  }
}

/** Appends length-prefixed records to a file (created or truncated). */
export class BlockFileWriter {
  private readonly stream: WriteStream;
  private readonly closed: Promise<void>;
  private error: Error | null = null;
  /** Bytes written so far (prefixes included): the offset the next record will have. */
  offset = 0;
  count = 0;

  private constructor(stream: WriteStream) {
    this.stream = stream;
    this.closed = new Promise((resolve) => stream.once('close', () => resolve()));
    stream.on('error', (e: Error) => (this.error = e));
  }

  static async create(path: string): Promise<BlockFileWriter> {
    const stream = createWriteStream(path, { flags: 'w' });
    await once(stream, 'open');
    return new BlockFileWriter(stream);
  }

  /** Writes one record; resolves once the stream can take more (backpressure). Returns the record's offset. */
  async write(block: Uint8Array): Promise<number> {
    if (this.error) throw this.error;
    const at = this.offset;
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(block.length, 0);
    const a = this.stream.write(head);
    const b = this.stream.write(block);
    this.offset += 4 + block.length;
    this.count++;
    if (!a || !b) await once(this.stream, 'drain');
    return at;
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    if (this.error) throw this.error;
    this.stream.end();
    await this.closed;
    if (this.error) throw this.error;
  }
}

/** Writes a whole list of blocks as a block file. */
export async function writeBlockFile(path: string, blocks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<{ count: number; bytes: number }> {
  const w = await BlockFileWriter.create(path);
  try {
    for await (const b of blocks) await w.write(b);
  } finally {
    await w.close();
  }
  return { count: w.count, bytes: w.offset };
}
