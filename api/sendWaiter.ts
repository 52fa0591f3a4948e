/**
 * Lets a send request wait, briefly, for its message to go out. The worker
 * NOTIFYs "sent" as soon as a message is on the socket (announceSent), and
 * any other first step out of pending (failed, or a receipt) in the statement
 * that records it; one LISTENing connection per API process (PgListener)
 * wakes the waiting requests.
 */
import { STATUS_CHANNEL } from '../db/messages.js';
import type { PgListener } from '../db/pgListener.js';
import type { MessageStatus } from '../whatsapp/session.js';

export class SendWaiter {
  private readonly waiting = new Map<string, Set<(status: MessageStatus) => void>>();

  /** `listener`: the process's one LISTENing connection, started by the caller. */
  constructor(listener: PgListener) {
    listener.on(STATUS_CHANNEL, (payload) => {
      const [instanceId, id, status] = payload.split('\n');
      for (const wake of this.waiting.get(`${instanceId}\n${id}`) ?? []) wake(status as MessageStatus);
    });
  }

  /**
   * Starts listening for a message's status before the message exists (its
   * id is chosen up front), so no change can slip by: `wait` resolves with
   * the first status other than `pending` announced since, or undefined
   * after `timeoutMs`. Call `cancel` when not waiting after all.
   */
  expect(instanceId: string, id: string): { wait(timeoutMs: number): Promise<MessageStatus | undefined>; cancel(): void } {
    const key = `${instanceId}\n${id}`;
    let announced: MessageStatus | undefined;
    let wake: ((status: MessageStatus) => void) | undefined;
    const listener = (status: MessageStatus) => {
      if (status === 'pending' || announced) return;
      announced = status;
      wake?.(status);
    };
    const set = this.waiting.get(key) ?? new Set();
    set.add(listener);
    this.waiting.set(key, set);
    const cancel = () => {
      set.delete(listener);
      if (set.size === 0 && this.waiting.get(key) === set) this.waiting.delete(key);
    };
    return {
      wait: async (timeoutMs) => {
        try {
          if (announced) return announced;
          let timer: NodeJS.Timeout | undefined;
          const result = await Promise.race([
            new Promise<MessageStatus>((resolve) => (wake = resolve)),
            new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
          ]);
          clearTimeout(timer);
          return result;
        } finally {
          cancel();
        }
      },
      cancel,
    };
  }
}
