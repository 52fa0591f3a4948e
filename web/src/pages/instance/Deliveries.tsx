import { useState } from 'preact/hooks';
import { isGroupJid, phoneOf } from '../../../../domain/recipients.js';
import { EVENT_NAMES } from '../../../../domain/events.js';
import { api } from '../../api.js';
import { useAction, useInfo, useLive, usePolling, workflowUrl } from '../../hooks.js';
import { localTime, plural, t, type Key } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

type DeliveryStatus = 'pending' | 'delivered' | 'failed';
interface Delivery {
  id: string;
  seq: number;
  event: string;
  /** The chat the event concerns (a message's, a group's, a caller); null for the instance's own events. */
  chatId: string | null;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
}
interface Attempt {
  at: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

const EVENTS: readonly string[] = EVENT_NAMES;
/** The event in words; one the dashboard does not know yet by its name. */
const eventWords = (event: string) => (EVENTS.includes(event) ? t(`webhooks.event.${event}` as Key) : event);
const chatWords = (chatId: string) => (isGroupJid(chatId) ? t('webhooks.group', { id: phoneOf(chatId) }) : phoneOf(chatId));

/** The receiver's last answer: its HTTP status, and the error when it says more than that. */
function lastAnswer(d: Delivery): string | null {
  const code = d.lastStatusCode === null ? null : `HTTP ${d.lastStatusCode}`;
  const error = d.lastError && d.lastError !== code ? d.lastError : null;
  const answer = [code, error].filter(Boolean).join(', ');
  return answer ? t('webhooks.lastAnswer', { answer }) : null;
}

function Attempts({ instance, id }: { instance: string; id: string }) {
  const [attempts, setAttempts] = useState<Attempt[] | null>(null);
  usePolling(
    async () => setAttempts((await api<{ attempts: Attempt[] }>('GET', `/instance/${instance}/webhooks/deliveries/${id}`)).attempts),
    3_000,
    [instance, id],
  );
  if (!attempts) return <p>{t('common.loading')}</p>;
  if (attempts.length === 0) return <p class="hint">{t('webhooks.noAttempts')}</p>;
  return (
    <ol class="attempts">
      {attempts.map((a) => (
        <li>
          {localTime(a.at)}: {a.statusCode ?? '—'} ({a.durationMs} ms)
          {a.error ? `, ${a.error}` : ''}
        </li>
      ))}
    </ol>
  );
}

/**
 * The webhook delivery log, newest first: when each event happened, what it was and which chat it
 * concerns, its state, attempts and the receiver's last answer; a failed one can be retried, a
 * delivered one sent again from its attempts.
 */
export function Deliveries({ instance }: { instance: string }) {
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [only, setOnly] = useState<DeliveryStatus | ''>('');
  const [open, setOpen] = useState<string | null>(null);
  const [retried, setRetried] = useState(false);
  const [version, setVersion] = useState(0);
  const info = useInfo();
  const { busy, error, run } = useAction();
  useLive(
    async () =>
      setRows(
        (await api<{ deliveries: Delivery[] }>('GET', `/instance/${instance}/webhooks/deliveries?limit=20${only ? `&status=${only}` : ''}`))
          .deliveries,
      ),
    // Every event is a new delivery (types left out); attempts are not events, so the log is also asked every 5 s.
    { instance, pollMs: 5_000, refreshMs: 5_000 },
    [instance, only, version],
  );
  const retry = async (id: string) => {
    setRetried(false);
    if (await run(() => api('POST', `/instance/${instance}/webhooks/deliveries/${id}/retry`))) {
      setRetried(true);
      setVersion((v) => v + 1);
    }
  };
  const link = workflowUrl(info, `webhooks-${instance}`);
  return (
    <>
      <div class="row between">
        <Field id="deliveries-only" label={t('webhooks.show')} inline>
          <select id="deliveries-only" value={only} onChange={(e) => setOnly((e.target as HTMLSelectElement).value as DeliveryStatus | '')}>
            <option value="">{t('webhooks.all')}</option>
            {(['failed', 'pending', 'delivered'] as const).map((s) => (
              <option value={s}>{t(`webhooks.only.${s}`)}</option>
            ))}
          </select>
        </Field>
        {link && (
          <a href={link} target="_blank" rel="noreferrer">
            {t('common.temporal')}
          </a>
        )}
      </div>
      <Alert error={error} notice={retried ? t('webhooks.retried') : null} />
      {rows && rows.length === 0 && <p>{t('webhooks.empty')}</p>}
      <ul class="plain deliveries">
        {rows?.map((d) => {
          const answer = lastAnswer(d);
          return (
            <li key={d.id} data-delivery={d.id} data-status={d.status}>
              <div class="row">
                <time datetime={d.createdAt}>{localTime(d.createdAt)}</time>
                <strong title={d.event}>{eventWords(d.event)}</strong>
                {d.chatId && <span data-testid="chat">{chatWords(d.chatId)}</span>}
              </div>
              <div class="row">
                <span class={`badge ${d.status}`}>{t(`webhooks.state.${d.status}`)}</span>
                <span class="hint">{d.attempts ? plural('webhooks.attempts', d.attempts) : t('webhooks.noAttempts')}</span>
                {answer && <span class={d.status === 'failed' ? 'error' : 'hint'}>{answer}</span>}
                <span class="actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-expanded={open === d.id}
                    onClick={() => setOpen(open === d.id ? null : d.id)}
                  >
                    {t('webhooks.details')}
                  </button>
                  {d.status === 'failed' && (
                    <button type="button" class="secondary" disabled={busy} onClick={() => retry(d.id)}>
                      {t('webhooks.retry')}
                    </button>
                  )}
                </span>
              </div>
              {open === d.id && (
                <div class="attempts-details">
                  <Attempts instance={instance} id={d.id} />
                  {/* A receiver that lost a delivered event can have it again, same webhook-id: not a step of the usual path. */}
                  {d.status === 'delivered' && (
                    <button type="button" class="secondary" disabled={busy} onClick={() => retry(d.id)}>
                      {t('webhooks.sendAgain')}
                    </button>
                  )}
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </>
  );
}
