/**
 * Child side of the benchmark IPC protocol (see `proc.ts`): announce readiness, answer requests,
 * report a fatal start-up error, and exit when the harness goes away.
 */

type Handler = (message: Record<string, unknown>) => object | Promise<object>;

/** Answers `{ type, id }` messages from the harness with `handlers[type]`; always answers `sample`. */
export function serveIpc(handlers: Record<string, Handler>): void {
  if (process.send === undefined) return; // started by hand: nothing to answer
  // The harness died or closed the channel: nobody will stop us otherwise.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Record<string, unknown>) => {
    const { id, type } = message;
    const handler = typeof type === 'string' ? (handlers[type] ?? (type === 'sample' ? sample : undefined)) : undefined;
    if (handler === undefined) {
      reply({ id, error: `unknown request ${String(type)}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (result) => reply({ ...result, id }),
        (error: unknown) => reply({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
}

/** Tells the harness this process is ready, with whatever it needs to know (a port, addresses). */
export function announce(payload: object): void {
  reply({ ...payload, type: 'ready' });
}

/** Tells the harness this process cannot start, then exits. */
export function fatal(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${error instanceof Error ? (error.stack ?? message) : message}\n`);
  if (process.send !== undefined) {
    process.send({ type: 'fatal', error: message }, () => process.exit(1));
    setTimeout(() => process.exit(1), 1_000);
    return;
  }
  process.exit(1);
}

function reply(message: object): void {
  process.send?.(message);
}

/** For platforms without /proc: the harness asks the process itself. */
function sample(): object {
  const cpu = process.cpuUsage();
  return { rssBytes: process.memoryUsage.rss(), cpuUs: cpu.user + cpu.system };
}
