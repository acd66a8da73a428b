/**
 * A request's cancellation: the deadline passing or the client leaving. A plain object rather than an
 * AbortController because it is made for every proxied request (AbortSignal costs an EventTarget and a
 * DOMException per request on the hot path); `signal()` makes a real AbortSignal only where an API needs one.
 */
export class Cancellation {
  aborted = false;
  /** True when the cause was the deadline (504), false when the client went away. */
  expired = false;
  private listeners: (() => void)[] | null = null;
  private controller: AbortController | null = null;

  /** Runs `fn` on cancellation (now, if already cancelled); returns a remover. */
  on(fn: () => void): () => void {
    if (this.aborted) {
      fn();
      return noop;
    }
    (this.listeners ??= []).push(fn);
    return () => {
      const i = this.listeners?.indexOf(fn) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }

  cancel(expired: boolean): void {
    if (this.aborted) return;
    this.aborted = true;
    this.expired = expired;
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const fn of listeners) fn();
  }

  /** An AbortSignal that follows this cancellation (made on first use). */
  signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      this.on(() => controller.abort());
    }
    return this.controller.signal;
  }
}

function noop(): void {}
