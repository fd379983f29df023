/**
 * Reads the CPU profiles `bench/insitu.ts --profile DIR` wrote and says where each variant's time
 * per request goes, against the first profile given (bare): self time per request by part (the
 * SDK, node's http and streams, the framework, the app, garbage collection, the rest), then the
 * functions whose self time per request grew the most.
 *
 *   node --import tsx bench/insitu-profile.ts DIR/http-bare.cpuprofile DIR/http-full.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Loaded {
  name: string;
  requests: number;
  /** Microseconds of self time per function key, over the whole profile. */
  self: Map<string, number>;
  /** Microseconds per part. */
  parts: Map<string, number>;
  totalUs: number;
}

/** Which part of the process a frame belongs to. */
export function partOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, not attributed)';
  if (
    url.includes('/bench/.variants/') ||
    /\/dist\/[^/]+\.(c?js)$/.test(url) ||
    /\/dist\/\w+\/index\.(c?js)$/.test(url) ||
    url.includes('/src/')
  ) {
    return url.includes('/node_modules/') ? part3(url) : 'sdk';
  }
  if (url.includes('/node_modules/')) return part3(url);
  if (url.includes('/bench/')) return 'app + harness';
  if (url.startsWith('node:internal/streams') || url.startsWith('node:stream')) return 'node streams';
  if (url.startsWith('node:_http') || url.startsWith('node:http') || url.startsWith('node:internal/http')) return 'node http';
  if (url.startsWith('node:net') || url.startsWith('node:internal/stream_base') || url.startsWith('node:internal/net')) return 'node net';
  if (url.startsWith('node:internal/async_hooks') || url.startsWith('node:async_hooks') || url.startsWith('node:internal/async_local'))
    return 'node async_hooks / ALS';
  if (url.startsWith('node:internal/process/task_queues') || url.startsWith('node:internal/timers') || url.startsWith('node:timers'))
    return 'node ticks / timers';
  if (url.startsWith('node:')) return 'node other';
  if (url === '') return `native: ${name}`;
  return 'other';
}

function part3(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  const pkg = m?.[1] ?? 'node_modules';
  return ['tsx', 'esbuild'].includes(pkg) ? 'app + harness' : `pkg ${pkg}`;
}

function load(file: string): Loaded {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  let requests = 1;
  try {
    requests = (JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { completed: number }).completed;
  } catch {
    // per profile, not per request
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const parts = new Map<string, number>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    // The time until the next sample is this sample's.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    const part = partOf(url, functionName);
    if (part === 'idle') continue;
    totalUs += dt;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/(bench|dist|src)\//, '$1/')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    parts.set(part, (parts.get(part) ?? 0) + dt);
  }
  return { name: file.replace(/^.*\//, '').replace(/\.cpuprofile$/, ''), requests, self, parts, totalUs };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const profiles = positionals.map(load);
  const base = profiles[0]!;
  const top = Number(values.top);
  const per = (p: Loaded, us: number | undefined) => (us ?? 0) / p.requests;
  const allParts = [...new Set(profiles.flatMap((p) => [...p.parts.keys()]))].sort(
    (a, b) => per(profiles.at(-1)!, profiles.at(-1)!.parts.get(b)) - per(profiles.at(-1)!, profiles.at(-1)!.parts.get(a)),
  );
  const out: string[] = [];
  out.push(
    `| part (self µs/req, busy samples) | ${profiles.map((p) => p.name).join(' | ')} | ${profiles
      .slice(1)
      .map((p) => `${p.name} - ${base.name}`)
      .join(' | ')} |`,
  );
  out.push(
    `|---|${profiles.map(() => '---:').join('|')}|${profiles
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
  );
  const row = (label: string, f: (p: Loaded) => number) =>
    out.push(
      `| ${label} | ${profiles.map((p) => f(p).toFixed(1)).join(' | ')} | ${profiles
        .slice(1)
        .map((p) => (f(p) - f(base)).toFixed(1))
        .join(' | ')} |`,
    );
  for (const part of allParts) row(part, (p) => per(p, p.parts.get(part)));
  row('**total busy**', (p) => per(p, p.totalUs));
  out.push('');
  for (const p of profiles.slice(1)) {
    const keys = new Set([...p.self.keys(), ...base.self.keys()]);
    const diffs = [...keys].map((k) => [k, per(p, p.self.get(k)) - per(base, base.self.get(k)), per(p, p.self.get(k))] as const);
    diffs.sort((a, b) => b[1] - a[1]);
    out.push(`Functions whose self time grew most, ${p.name} against ${base.name} (µs/req: added, then ${p.name}'s own):`);
    for (const [k, d, own] of diffs.slice(0, top)) out.push(`  ${d.toFixed(2).padStart(7)}  ${own.toFixed(2).padStart(7)}  ${k}`);
    out.push('');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
