/**
 * The collector's record store: the newest records, bounded by count and by bytes, in memory and,
 * when the collector has a JSONL file, in that file too. The file is reloaded on start and rewritten
 * with only the kept records once it outgrows the bounds by half, so history survives a restart
 * without the file growing forever.
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ApiRecord } from '../core/record.js';

/** One record as the store keeps it. */
export interface StoredRecord {
  /** Position in arrival order, unique within one store (reloaded records come first). */
  readonly seq: number;
  readonly record: ApiRecord;
  /** Size of its JSON, counted against `maxBytes`. */
  readonly bytes: number;
}

/** Options of {@link openRecordStore}. */
export interface RecordStoreOptions {
  /** JSONL file to reload from and append to; `null` keeps records in memory only. */
  path: string | null;
  /** Records kept; the oldest are dropped beyond it. */
  maxRecords: number;
  /** Bytes of record JSON kept; the oldest are dropped beyond it (the newest record is always kept). */
  maxBytes: number;
}

/** The newest records, in memory and optionally in a JSONL file; see {@link openRecordStore}. */
export interface RecordStore {
  /** The JSONL file, or `null`. */
  readonly path: string | null;
  /** Records read back from the file when the store was opened (after the bounds were applied). */
  readonly reloaded: number;
  /** Keeps `record` (appending it to the file) and tells the subscribers. `sizeHint` is its JSON size when known. */
  add(record: ApiRecord, sizeHint?: number): StoredRecord;
  /** The kept records, oldest first (a new array each call). */
  list(): StoredRecord[];
  /** The record with this `seq`, if it is still kept. */
  get(seq: number): StoredRecord | undefined;
  /** Calls `listener` with each record added from now on; returns the unsubscribe function. */
  subscribe(listener: (entry: StoredRecord) => void): () => void;
  /** Ids of leak-finder findings dismissed as false positives (kept in {@link dismissalsPath} of the file). */
  dismissed(): string[];
  /** Dismisses (or, with `false`, reopens) a finding; persisted next to the JSONL file when there is one. */
  setDismissed(id: string, dismissed: boolean): Promise<void>;
  /** Finishes a rewrite in progress and closes the file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Where the dismissed leak findings of a records file are kept: `records.jsonl.dismissed.json`, a
 * JSON object `{ "dismissed": ["POST /login request_body $.card", ...] }`. `doctor --scan` reads it.
 */
export function dismissalsPath(path: string): string {
  return `${path}.dismissed.json`;
}

/** The dismissed finding ids in a dismissals file; a missing file holds none. Rejects on a malformed one. */
export async function readDismissals(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const value = JSON.parse(text) as { dismissed?: unknown };
  if (!Array.isArray(value.dismissed) || !value.dismissed.every((id) => typeof id === 'string')) {
    throw new Error(`${file}: expected {"dismissed": ["finding id", ...]}`);
  }
  return value.dismissed as string[];
}

/** Defaults of the store bounds. */
export const DEFAULT_MAX_STORED_RECORDS = 10_000;
export const DEFAULT_MAX_STORED_BYTES = 64 * 1024 * 1024; // 64 MiB

/** The file is rewritten once it holds this many times the bounds: never on every append. */
const COMPACT_FACTOR = 1.5;

/**
 * Opens a record store: reads back the newest records of `path` (skipping lines that are not JSON
 * objects), rewrites the file when it was over the bounds, and opens it for appending. Rejects when
 * the file cannot be read or created (e.g. `ENOENT` for a missing directory).
 *
 * @example
 * const store = await openRecordStore({ path: 'records.jsonl', maxRecords: 1_000, maxBytes: 16 * 1024 * 1024 });
 * store.add(record);
 * store.list().at(-1)?.record === record; // true
 * await store.close();
 */
export async function openRecordStore(options: RecordStoreOptions): Promise<RecordStore> {
  const { path, maxRecords, maxBytes } = options;
  // A queue as an array plus a head index: dropping the oldest must not move every other entry.
  let entries: StoredRecord[] = [];
  let head = 0;
  const bySeq = new Map<number, StoredRecord>();
  const listeners = new Set<(entry: StoredRecord) => void>();
  let nextSeq = 1;
  let keptBytes = 0;
  // What the file holds, including records already dropped from memory.
  let fileRecords = 0;
  let fileBytes = 0;
  let stream: WriteStream | null = null;
  let compacting: Promise<void> | null = null;
  let held: string[] = [];
  let closed: Promise<void> | null = null;

  function keep(record: ApiRecord, bytes: number): StoredRecord {
    const entry: StoredRecord = { seq: nextSeq++, record, bytes };
    entries.push(entry);
    bySeq.set(entry.seq, entry);
    keptBytes += bytes;
    while (entries.length - head > 1 && (entries.length - head > maxRecords || keptBytes > maxBytes)) {
      const old = entries[head] as StoredRecord;
      (entries as (StoredRecord | undefined)[])[head++] = undefined;
      keptBytes -= old.bytes;
      bySeq.delete(old.seq);
    }
    if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head);
      head = 0;
    }
    return entry;
  }

  const kept = (): StoredRecord[] => entries.slice(head);

  const overgrown = (): boolean =>
    fileRecords > Math.max(maxRecords * COMPACT_FACTOR, maxRecords + 1) || fileBytes > maxBytes * COMPACT_FACTOR;

  let needsNewline = false;
  if (path !== null) {
    const loaded = await readJsonl(path);
    for (const { record, bytes } of loaded.records) keep(record, bytes);
    fileRecords = loaded.lines;
    fileBytes = loaded.bytes;
    needsNewline = loaded.bytes > 0 && !loaded.endsWithNewline;
  }
  const reloaded = entries.length - head;
  const dismissals = new Set(
    path === null
      ? []
      : await readDismissals(dismissalsPath(path)).catch((error: Error) => {
          warn(dismissalsPath(path), error);
          return [];
        }),
  );
  let savingDismissals: Promise<void> = Promise.resolve();

  if (path !== null) {
    const rewritten = overgrown();
    if (rewritten) await replaceFile(path, snapshot());
    stream = await openAppendStream(path);
    // A crash mid-line must not glue the next record onto the broken one.
    if (needsNewline && !rewritten) write('\n');
  }

  function write(text: string): void {
    fileBytes += Buffer.byteLength(text);
    if (stream === null) held.push(text);
    else stream.write(text);
  }

  /** The kept records as file content; resets the file counters to describe exactly that. */
  function snapshot(): string {
    const records = kept();
    const text = records.map((entry) => `${JSON.stringify(entry.record)}\n`).join('');
    fileRecords = records.length;
    fileBytes = Buffer.byteLength(text);
    return text;
  }

  function compact(file: string): void {
    // Taken now, synchronously: records added from here on are held and appended after it.
    const text = snapshot();
    const previous = stream;
    stream = null;
    compacting = (async () => {
      try {
        await closeStream(previous);
        await replaceFile(file, text);
      } catch (error) {
        warn(file, error as Error);
      }
      stream = await openAppendStream(file).catch((error: Error) => {
        warn(file, error);
        return null;
      });
      const pending = held;
      held = [];
      if (stream !== null) for (const line of pending) stream.write(line);
      compacting = null;
      // Held records may have outgrown the caps again (a burst during the rewrite).
      if (stream !== null && closed === null && overgrown()) compact(file);
    })();
  }

  return {
    path,
    reloaded,
    add(record: ApiRecord, sizeHint?: number): StoredRecord {
      let line: string | null = null;
      let bytes = sizeHint;
      if (path !== null) {
        line = `${JSON.stringify(record)}\n`;
        bytes = Buffer.byteLength(line) - 1;
      }
      const entry = keep(record, bytes ?? Buffer.byteLength(JSON.stringify(record)));
      if (line !== null && path !== null && closed === null) {
        write(line);
        fileRecords++;
        if (compacting === null && overgrown()) compact(path);
      }
      for (const listener of listeners) {
        try {
          listener(entry);
        } catch {
          // A failing subscriber (a closed SSE socket) must not stop the others or the publisher.
        }
      }
      return entry;
    },
    list: kept,
    get: (seq: number) => bySeq.get(seq),
    dismissed: () => [...dismissals],
    setDismissed(id: string, dismissed: boolean): Promise<void> {
      if (dismissed) dismissals.add(id);
      else dismissals.delete(id);
      if (path === null) return Promise.resolve();
      const text = `${JSON.stringify({ dismissed: [...dismissals] }, null, 2)}\n`;
      // One write at a time, in order: the last call's set is what stays on disk.
      savingDismissals = savingDismissals
        .then(() => replaceFile(dismissalsPath(path), text))
        .catch((error: Error) => warn(dismissalsPath(path), error));
      return savingDismissals;
    },
    subscribe(listener: (entry: StoredRecord) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close(): Promise<void> {
      closed ??= (async () => {
        listeners.clear();
        await savingDismissals;
        while (compacting !== null) await compacting;
        await closeStream(stream);
        stream = null;
        // Leave the file within bounds for the next start (a burst may have outgrown them).
        if (path !== null && overgrown()) await replaceFile(path, snapshot()).catch((error: Error) => warn(path, error));
      })();
      return closed;
    },
  };
}

/** Write-then-rename: a crash mid-rewrite leaves the old file, never half of one. */
async function replaceFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/** What {@link readJsonl} read. */
export interface LoadedFile {
  records: { record: ApiRecord; bytes: number }[];
  lines: number;
  bytes: number;
  endsWithNewline: boolean;
}

/** Every JSON-object line of `path`; a missing file is an empty one (unless `mustExist`: it rejects). */
export async function readJsonl(path: string, options: { mustExist?: boolean } = {}): Promise<LoadedFile> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.mustExist !== true)
      return { records: [], lines: 0, bytes: 0, endsWithNewline: true };
    throw error;
  }
  const records: LoadedFile['records'] = [];
  let lines = 0;
  let lastByteIsNewline = true;
  const input = createReadStream(path);
  input.on('data', (chunk) => {
    if (chunk.length > 0) lastByteIsNewline = chunk[chunk.length - 1] === 0x0a;
  });
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === '') continue;
    lines++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue; // a line cut by a crash, or not ours
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      records.push({ record: value as ApiRecord, bytes: Buffer.byteLength(line) });
    }
  }
  return { records, lines, bytes: size, endsWithNewline: lastByteIsNewline };
}

/**
 * Opens `path` for appending; rejects with the open error (ENOENT, EACCES). Later write errors are
 * reported once as a warning: losing the file must not stop the collector.
 */
async function openAppendStream(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path, { flags: 'a' });
  await once(stream, 'open'); // rejects with the 'error' (ENOENT, EACCES) instead
  let warned = false;
  stream.on('error', (error) => {
    if (warned) return;
    warned = true;
    warn(path, error);
  });
  return stream;
}

function warn(path: string, error: Error): void {
  process.emitWarning(`apitoolkit-node collector: writing ${path} failed: ${error.message}`, { code: 'APITOOLKIT_WARN_COLLECTOR_JSONL' });
}

function closeStream(stream: WriteStream | null): Promise<void> {
  if (stream === null || stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', resolve);
    stream.end();
  });
}
