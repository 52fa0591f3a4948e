/** Events for the webhook and event benchmarks: an instance with a webhook, and events recorded in bulk. */
import type { Gateway } from '../../test/support/gateway.js';

/** Creates the instance and points its webhook at `url`. */
export async function useWebhook(gw: Gateway, instanceId: string, url: string): Promise<void> {
  await gw.request('/api/instance', { method: 'POST', json: { id: instanceId } });
  const res = await gw.request(`/api/instance/${instanceId}/settings`, { method: 'POST', json: { webhookUrl: url, webhookEnabled: true } });
  if (res.status !== 200) throw new Error(`settings: ${res.status} ${await res.text()}`);
}

/** Records `count` message_received events over `chats` chats in one statement (as many chats' messages arriving at once). */
export async function recordBurst(gw: Gateway, instanceId: string, count: number, chats: number, from = 0): Promise<void> {
  await gw.db.raw(
    `insert into webhook_events (id, instance_id, event, data, timestamp)
     select gen_random_uuid(), ?, 'message_received',
            jsonb_build_object('id', 'B' || i, 'chatId', '90555' || lpad((i % ?)::text, 7, '0') || '@s.whatsapp.net', 'body', 'bench message ' || i, 'type', 'chat', 'fromMe', false),
            (extract(epoch from now()) * 1000)::bigint
       from generate_series(?::int, ?::int) as i`,
    [instanceId, chats, from, from + count - 1],
  );
}
