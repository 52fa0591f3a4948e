import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useAction, useLive } from '../../hooks.js';
import { language, t, type Key } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

interface ScheduledMessage {
  id: number;
  recipient: string;
  recipientName: string | null;
  body: string | null;
  scheduledAt: string;
  status: 'pending' | 'sent' | 'failed' | 'cancelled';
  error: string | null;
}

/** `datetime-local`'s value as ISO 8601 with this browser's zone, as the API wants it. */
function withZone(local: string): string {
  const at = new Date(local);
  const offset = -at.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${local.length === 16 ? `${local}:00` : local}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** Scheduled messages, latest first, with cancel for pending ones and a form for a new one. */
export function Scheduled({ instance }: { instance: string }) {
  const [rows, setRows] = useState<ScheduledMessage[] | null>(null);
  const [version, setVersion] = useState(0);
  const [form, setForm] = useState({ recipient: '', body: '', at: '' });
  const { busy, error, run } = useAction();
  useLive(
    async () => setRows((await api<{ scheduled: ScheduledMessage[] }>('GET', `/instance/${instance}/scheduled?limit=20`)).scheduled),
    { instance, types: ['scheduled_sent', 'scheduled_failed'], pollMs: 5_000 },
    [instance, version],
  );
  const reload = () => setVersion((v) => v + 1);
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = { recipient: form.recipient.trim(), body: form.body, scheduledAt: withZone(form.at) };
    if (await run(() => api('POST', `/instance/${instance}/scheduled`, body))) {
      setForm({ recipient: '', body: '', at: '' });
      reload();
    }
  };
  const field = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  const when = (iso: string) => new Date(iso).toLocaleString(language.value === 'tr' ? 'tr-TR' : 'en-GB');
  return (
    <>
      <Alert error={error} />
      {rows && rows.length === 0 && <p>{t('scheduled.empty')}</p>}
      <ul class="plain">
        {rows?.map((row) => (
          <li data-scheduled={row.id} class="row">
            <span>{when(row.scheduledAt)}</span>
            <span>{row.recipientName ?? row.recipient}</span>
            <span class="hint">{row.body?.slice(0, 60)}</span>
            <span class="badge">{t(`scheduled.state.${row.status}` as Key)}</span>
            {row.error && <span class="error">{row.error}</span>}
            {row.status === 'pending' && (
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() => run(() => api('DELETE', `/instance/${instance}/scheduled/${row.id}`)).then(reload)}
              >
                {t('common.cancel')}
              </button>
            )}
          </li>
        ))}
      </ul>
      <form onSubmit={submit} aria-labelledby="scheduled-form-title">
        <h3 id="scheduled-form-title">{t('scheduled.new')}</h3>
        <div class="fields">
          <Field id="scheduled-recipient" label={t('send.to')}>
            <input id="scheduled-recipient" required value={form.recipient} onInput={field('recipient')} />
          </Field>
          <Field id="scheduled-body" label={t('send.body')}>
            <textarea id="scheduled-body" required rows={2} value={form.body} onInput={field('body')} />
          </Field>
          <Field id="scheduled-at" label={t('scheduled.at')}>
            <input id="scheduled-at" type="datetime-local" required value={form.at} onInput={field('at')} />
          </Field>
        </div>
        <button type="submit" disabled={busy}>
          {t('scheduled.submit')}
        </button>
      </form>
    </>
  );
}
