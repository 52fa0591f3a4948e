/** API access (API erişimi): the token in use (masked, copyable), how to call the API with it, and links to the docs and the Temporal UI. */
import { useState } from 'preact/hooks';
import { token } from '../api.js';
import { useInfo } from '../hooks.js';
import { t } from '../i18n.js';

const mask = (value: string) => (value.length <= 8 ? '•'.repeat(value.length) : `${value.slice(0, 4)}${'•'.repeat(12)}${value.slice(-4)}`);

export function ApiAccess() {
  const value = token.value ?? '';
  const [shown, setShown] = useState(false);
  const [copied, setCopied] = useState(false);
  const info = useInfo();
  const copy = async () => {
    await navigator.clipboard.writeText(value);
    setCopied(true);
  };
  const base = new URL('./api', location.href).href;
  const shownToken = shown ? value : 'TOKEN';
  return (
    <>
      <h1>{t('access.title')}</h1>
      <section class="card" aria-labelledby="token-title">
        <h2 id="token-title">{t('access.token')}</h2>
        <div class="row">
          <code class="token" data-testid="token">
            {shown ? value : mask(value)}
          </code>
          <button type="button" class="secondary" aria-pressed={shown} onClick={() => setShown(!shown)}>
            {shown ? t('access.hide') : t('access.show')}
          </button>
          <button type="button" onClick={copy}>
            {t('access.copy')}
          </button>
          {copied && <span role="status">{t('access.copied')}</span>}
        </div>
        <p>{t('access.howTo')}</p>
        {/* One box per command, wrapped inside it: a phone shows each whole, and copies it as one line. */}
        {[
          `curl -H "Authorization: Bearer ${shownToken}" ${base}/instance`,
          `curl -H "X-Api-Key: ${shownToken}" ${base}/instance`,
          `curl "${base}/instance?token=${shownToken}"`,
        ].map((line) => (
          <pre class="command">{line}</pre>
        ))}
      </section>
      <section class="card" aria-labelledby="links-title">
        <h2 id="links-title">{t('access.links')}</h2>
        <ul>
          <li>
            <a href="./api/docs/">{t('access.apiDocs')}</a>
          </li>
          <li>
            {info?.temporalUiUrl ? (
              <a
                href={`${info.temporalUiUrl}/namespaces/${encodeURIComponent(info.temporalNamespace)}/workflows`}
                target="_blank"
                rel="noreferrer"
              >
                {t('access.temporalUi')}
              </a>
            ) : (
              t('access.noTemporalUi')
            )}
          </li>
        </ul>
        {info && <p class="hint">v{info.version}</p>}
      </section>
    </>
  );
}
