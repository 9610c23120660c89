/**
 * Send slots: one per mailer connection, shared by every delivery batch of a process. A batch takes a slot before a
 * recipient's last check and gives it back when the relay has answered, so a checked message never waits for a
 * connection (and a reader who leaves during such a wait is never sent to).
 */

/** Messages between their last check and the relay's answer, across every batch of one process. */
export interface SendSlots {
  /** Waits for a free slot; the returned function frees it (calling it again does nothing). */
  acquire(): Promise<() => void>;
}

/** First-come, first-served send slots: at most `count` held at once. */
export function createSendSlots(count: number): SendSlots {
  let free = Math.max(1, count);
  const waiting: (() => void)[] = [];
  const grant = (): (() => void) => {
    let isFreed = false;
    return () => {
      if (isFreed) return;
      isFreed = true;
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    };
  };
  return {
    acquire() {
      if (free > 0) {
        free -= 1;
        return Promise.resolve(grant());
      }
      return new Promise((resolve) => waiting.push(() => resolve(grant())));
    },
  };
}
