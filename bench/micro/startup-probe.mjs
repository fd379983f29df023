// Loaded with `node --import` before the app's first module (bench/micro/startup.ts): a 1 ms interval
// timer from the process' start, whose longest gap between ticks is the longest event-loop block the
// app sees, module loading included. A gap still open is counted when it is read.
let last = performance.now();
let longest = 0;
const timer = setInterval(() => {
  const now = performance.now();
  if (now - last > longest) longest = now - last;
  last = now;
}, 1);
globalThis.__startupProbe = {
  longest: () => Math.max(longest, performance.now() - last),
  /** Starts a new window: the longest gap from now on (the gap open now included). */
  mark: () => {
    const open = performance.now() - last;
    const before = Math.max(longest, open);
    longest = 0;
    return before;
  },
  stop: () => clearInterval(timer),
};
