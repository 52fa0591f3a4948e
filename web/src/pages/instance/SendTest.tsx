import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useAction } from '../../hooks.js';
import { t } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

/** A text through the instance's outbox, as `POST .../messages/chat` sends it: a person's, so the chatbot keeps out of that chat for a while. */
export function SendTest({ instance }: { instance: string }) {
  const [to, setTo] = useState('');
  const [body, setBody] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    setResult(null);
    await run(async () => {
      const answer = await api<{ sent: boolean; id: string }>('POST', `/instance/${instance}/messages/chat`, {
        to: to.trim(),
        body,
        byPerson: true,
      });
      setResult(answer.sent ? t('send.sent', { id: answer.id }) : t('send.queued', { id: answer.id }));
    });
  };
  return (
    <form onSubmit={submit}>
      <div class="fields">
        <Field id="send-to" label={t('send.to')} hint={t('send.toHint')}>
          <input id="send-to" required inputMode="tel" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </Field>
        <Field id="send-body" label={t('send.body')} hint={t('send.asPerson')}>
          <textarea id="send-body" required rows={2} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
        </Field>
      </div>
      <Alert error={error} notice={result} />
      <button type="submit" disabled={busy}>
        {t('send.submit')}
      </button>
    </form>
  );
}
