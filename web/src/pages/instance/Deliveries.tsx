import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useAction, useInfo, usePolling, workflowUrl } from '../../hooks.js';
import { language, t, type Key } from '../../i18n.js';
import { Alert } from '../../ui.js';

interface Delivery {
  id: string;
  seq: number;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
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
          {new Date(a.at).toLocaleString(language.value === 'tr' ? 'tr-TR' : 'en-GB')}: {a.statusCode ?? '—'} ({a.durationMs} ms)
          {a.error ? `, ${a.error}` : ''}
        </li>
      ))}
    </ol>
  );
}

/** The webhook delivery log, newest first: each event's state and attempts, and a retry. */
export function Deliveries({ instance }: { instance: string }) {
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [retried, setRetried] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const info = useInfo();
  const { busy, error, run } = useAction();
  usePolling(
    async () => setRows((await api<{ deliveries: Delivery[] }>('GET', `/instance/${instance}/webhooks/deliveries?limit=20`)).deliveries),
    3_000,
    [instance, version],
  );
  const retry = async (id: string) => {
    setRetried(null);
    if (await run(() => api('POST', `/instance/${instance}/webhooks/deliveries/${id}/retry`))) {
      setRetried(t('webhooks.retried'));
      setVersion((v) => v + 1);
    }
  };
  const link = workflowUrl(info, `webhooks-${instance}`);
  return (
    <>
      {link && (
        <p>
          <a href={link} target="_blank" rel="noreferrer">
            {t('common.temporal')}
          </a>
        </p>
      )}
      <Alert error={error} notice={retried} />
      {rows && rows.length === 0 && <p>{t('webhooks.empty')}</p>}
      <ul class="plain">
        {rows?.map((d) => (
          <li data-delivery={d.id}>
            <div class="row">
              <strong>{d.event}</strong>
              <span class={`badge ${d.status}`}>{t(`webhooks.state.${d.status}` as Key)}</span>
              <span class="hint">{t('webhooks.attempts', { count: d.attempts })}</span>
              {d.lastError && <span class="error">{d.lastError}</span>}
              <button type="button" class="secondary" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? null : d.id)}>
                {t('webhooks.details')}
              </button>
              <button type="button" disabled={busy} onClick={() => retry(d.id)}>
                {t('webhooks.retry')}
              </button>
            </div>
            {open === d.id && <Attempts instance={instance} id={d.id} />}
          </li>
        ))}
      </ul>
    </>
  );
}
