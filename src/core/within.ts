/**
 * `promise`, or what `late()` gives once `ms` passed first; the timer is cleared either way, so
 * nothing is left running. `unref`: the wait alone does not keep a Node or Bun process alive (a
 * background send); leave it off where the caller is awaited to the end (shutdown, flush).
 *
 * @example
 * const result = await within(transport.send(batch), 5_000, () => timedOut);
 */
export function within<T, L = undefined>(
  promise: Promise<T>,
  ms: number,
  late?: () => L,
  options: { unref?: boolean } = {},
): Promise<T | L> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<L>((resolve) => {
    timer = setTimeout(() => resolve(late === undefined ? (undefined as L) : late()), ms);
    // A number on Workers, Deno and the edge: there is no process to hold there.
    if (options.unref === true) (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
