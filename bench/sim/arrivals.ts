import { exponential } from './heap.js';

/** Arrival times over [0, durationS): Poisson at `rate`, or bursty on/off (same mean rate). */
export function arrivals(
  kind: 'poisson' | 'bursty',
  rate: number,
  durationS: number,
  random: () => number,
): number[] {
  const times: number[] = [];
  if (kind === 'poisson') {
    for (let t = exponential(random, 1 / rate); t < durationS; t += exponential(random, 1 / rate))
      times.push(t);
    return times;
  }
  // On/off (an MMPP): ON periods (mean 2 s) at 2.5× the rate, OFF periods (mean 3 s) silent: mean = rate.
  let t = 0;
  let on = true;
  while (t < durationS) {
    const period = exponential(random, on ? 2 : 3);
    if (on) {
      const end = Math.min(durationS, t + period);
      for (
        let a = t + exponential(random, 1 / (2.5 * rate));
        a < end;
        a += exponential(random, 1 / (2.5 * rate))
      )
        times.push(a);
    }
    t += period;
    on = !on;
  }
  return times;
}
