/** Resident set size of this process in bytes (the footprint a CPU replica reports). */
export function processRssBytes(): number {
  return process.memoryUsage.rss();
}
