import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useAction } from '../../hooks.js';
import { t } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

type Settings = Record<string, string>;

/** The instance's settings; only what was changed is sent. The secret is write-only (shown masked). */
export function SettingsForm({ instance }: { instance: string }) {
  const [stored, setStored] = useState<Settings | null>(null);
  const [edited, setEdited] = useState<Settings>({});
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  const load = () => run(async () => setStored(await api<Settings>('GET', `/instance/${instance}/settings`)));
  useEffect(() => void load(), [instance]);
  if (!stored) return <Alert error={error} fallback={t('common.loading')} />;
  // The secret and the proxy (its password) are write-only: shown masked beside an empty field.
  const writeOnly = (name: string) => name === 'webhookSecret' || name === 'proxyUrl';
  const value = (name: string) => edited[name] ?? (writeOnly(name) ? '' : (stored[name] ?? ''));
  const set = (name: string) => (e: Event) => {
    const input = e.target as HTMLInputElement;
    setSaved(false);
    setEdited({ ...edited, [name]: input.type === 'checkbox' ? String(input.checked) : input.value });
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(edited)) {
      if (name === 'webhookSecret' && v === '') continue;
      body[name] = ['sendDelay', 'chatbotPauseMinutes', 'chatbotRepliesPerMinute'].includes(name)
        ? Number(v)
        : name === 'webhookEnabled' || name === 'rejectCalls'
          ? v === 'true'
          : v;
    }
    if (await run(() => api('POST', `/instance/${instance}/settings`, body))) {
      setEdited({});
      setSaved(true);
      await load();
    }
  };
  return (
    <form onSubmit={submit}>
      <div class="fields">
        <Field id="s-webhookUrl" label={t('settings.webhookUrl')}>
          <input
            id="s-webhookUrl"
            type="url"
            value={value('webhookUrl')}
            placeholder="https://example.com/hook"
            onInput={set('webhookUrl')}
          />
        </Field>
        <Field id="s-webhookEnabled" label={t('settings.webhookEnabled')} inline>
          <input id="s-webhookEnabled" type="checkbox" checked={value('webhookEnabled') === 'true'} onChange={set('webhookEnabled')} />
        </Field>
        <Field
          id="s-webhookSecret"
          label={t('settings.webhookSecret')}
          hint={stored.webhookSecret ? t('settings.secretSet', { masked: stored.webhookSecret }) : t('settings.secretHint')}
        >
          <input
            id="s-webhookSecret"
            type="password"
            autocomplete="off"
            value={value('webhookSecret')}
            placeholder="whsec_…"
            onInput={set('webhookSecret')}
          />
        </Field>
        <Field
          id="s-proxyUrl"
          label={t('settings.proxyUrl')}
          hint={stored.proxyUrl ? t('settings.proxySet', { masked: stored.proxyUrl }) : t('settings.proxyHint')}
        >
          <input id="s-proxyUrl" autocomplete="off" value={value('proxyUrl')} placeholder="socks5://host:1080" onInput={set('proxyUrl')} />
        </Field>
        <Field id="s-rejectCalls" label={t('settings.rejectCalls')} inline>
          <input id="s-rejectCalls" type="checkbox" checked={value('rejectCalls') === 'true'} onChange={set('rejectCalls')} />
        </Field>
        <Field id="s-rejectCallsMessage" label={t('settings.rejectCallsMessage')} hint={t('settings.rejectCallsMessageHint')}>
          <input id="s-rejectCallsMessage" value={value('rejectCallsMessage')} onInput={set('rejectCallsMessage')} />
        </Field>
        <Field id="s-sendDelay" label={t('settings.sendDelay')}>
          <input id="s-sendDelay" type="number" min={0} max={3600000} value={value('sendDelay')} onInput={set('sendDelay')} />
        </Field>
        <Field id="s-optOutKeywords" label={t('settings.optOutKeywords')}>
          <input id="s-optOutKeywords" value={value('optOutKeywords')} onInput={set('optOutKeywords')} />
        </Field>
        <Field id="s-timezone" label={t('settings.timezone')}>
          <input id="s-timezone" value={value('timezone')} onInput={set('timezone')} />
        </Field>
        <Field id="s-chatbotPauseMinutes" label={t('settings.chatbotPauseMinutes')}>
          <input
            id="s-chatbotPauseMinutes"
            type="number"
            min={0}
            value={value('chatbotPauseMinutes')}
            onInput={set('chatbotPauseMinutes')}
          />
        </Field>
        <Field id="s-chatbotRepliesPerMinute" label={t('settings.chatbotRepliesPerMinute')}>
          <input
            id="s-chatbotRepliesPerMinute"
            type="number"
            min={1}
            max={60}
            value={value('chatbotRepliesPerMinute')}
            onInput={set('chatbotRepliesPerMinute')}
          />
        </Field>
      </div>
      <Alert error={error} notice={saved ? t('settings.saved') : null} />
      <button type="submit" disabled={busy || Object.keys(edited).length === 0}>
        {t('common.save')}
      </button>
    </form>
  );
}
