/**
 * One instance: its connection always in view at the top, and its sections (settings, a test
 * message, the chatbot, conversation flows, campaigns, scheduled messages, a chat's messages, the
 * webhook log) as tabs, one shown at a time. The address names the section (`#/instances/{id}/{section}`), so a link or a
 * reload opens it again.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Account, type StatusDetails } from '../api.js';
import { useAction, useLive, usePolling } from '../hooks.js';
import { t } from '../i18n.js';
import { HealthLines, StatusBadge } from '../status.js';
import { Alert } from '../ui.js';
import { Campaigns } from './instance/Campaigns.js';
import { Chatbot } from './instance/Chatbot.js';
import { Deliveries } from './instance/Deliveries.js';
import { Flows } from './instance/Flows.js';
import { Messages } from './instance/Messages.js';
import { Scheduled } from './instance/Scheduled.js';
import { SendTest } from './instance/SendTest.js';
import { SettingsForm } from './instance/SettingsForm.js';

const SECTIONS = [
  { id: 'settings', tab: 'detail.tab.settings', title: 'detail.settings', Section: SettingsForm },
  { id: 'send', tab: 'detail.tab.send', title: 'detail.send', Section: SendTest },
  { id: 'chatbot', tab: 'detail.tab.chatbot', title: 'detail.chatbot', Section: Chatbot },
  { id: 'flows', tab: 'detail.tab.flows', title: 'detail.flows', Section: Flows },
  { id: 'campaigns', tab: 'detail.tab.campaigns', title: 'detail.campaigns', Section: Campaigns },
  { id: 'scheduled', tab: 'detail.tab.scheduled', title: 'detail.scheduled', Section: Scheduled },
  { id: 'messages', tab: 'detail.tab.messages', title: 'detail.messages', Section: Messages },
  { id: 'webhooks', tab: 'detail.tab.webhooks', title: 'detail.webhooks', Section: Deliveries },
] as const;

/**
 * The instance's name and status, its account when known and a QR to scan or a way to connect, kept
 * at the top of the window (sticky); below, what went wrong, which scrolls away on a long section.
 */
function InstanceHead({ id }: { id: string }) {
  const [details, setDetails] = useState<StatusDetails | null>(null);
  const [qrWaiting, setQrWaiting] = useState(false);
  const [account, setAccount] = useState<Account | null>(null);
  const [version, setVersion] = useState(0);
  const { busy, error, run } = useAction();
  const status = details?.accountStatus.status;
  useLive(
    async () => setDetails(await api<StatusDetails>('GET', `/instance/${id}/status`)),
    { instance: id, types: ['connection_status', 'account_restriction'], pollMs: 3_000 },
    [id, version],
  );
  usePolling(
    async () =>
      setQrWaiting(status === 'connecting' && (await api<{ qrCode: string | null }>('GET', `/instance/${id}/qr`)).qrCode !== null),
    3_000,
    [id, status],
  );
  // The account stays known while disconnected (until a logout), so the page can say whose it is.
  useEffect(() => {
    if (status) api<Account>('GET', `/instance/${id}/me`).then(setAccount, () => setAccount(null));
  }, [id, status]);
  return (
    <>
      <div class="instance-head">
        <h1>{t('detail.title', { id })}</h1>
        {details && status ? (
          <div class="row connection" data-testid="connection" aria-live="polite">
            <StatusBadge status={qrWaiting ? 'qr' : status} />
            {account && (
              <span class="account">
                {t(status === 'open' ? 'instances.account' : 'detail.account', { name: account.name ?? '—', phone: account.phone })}
              </span>
            )}
            {qrWaiting && <a href="#/instances">{t('detail.scanQr')}</a>}
            {status === 'disconnected' && (
              <button
                type="button"
                class="secondary"
                disabled={busy}
                onClick={() => run(() => api('POST', `/instance/${id}/connect`)).then(() => setVersion((v) => v + 1))}
              >
                {t('instances.connect')}
              </button>
            )}
          </div>
        ) : (
          <p class="connection">{t('common.loading')}</p>
        )}
      </div>
      {details && <HealthLines details={details} />}
      <Alert error={error} />
    </>
  );
}

export function Instance({ id, section }: { id: string; section: string | undefined }) {
  const current = SECTIONS.find((s) => s.id === section) ?? SECTIONS[0];
  const tabs = useRef<Array<HTMLAnchorElement | null>>([]);
  const href = (to: string) => `#/instances/${encodeURIComponent(id)}/${to}`;
  // The tab pattern: the arrows, Home and End move along the tabs and open the one reached (in place
  // of the address, so Back leaves the page rather than walking back through the tabs).
  const onKeyDown = (e: KeyboardEvent, index: number) => {
    const last = SECTIONS.length - 1;
    const to = { ArrowRight: index === last ? 0 : index + 1, ArrowLeft: index === 0 ? last : index - 1, Home: 0, End: last }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    tabs.current[to]?.focus();
    location.replace(href(SECTIONS[to]!.id));
  };
  return (
    <>
      <p>
        <a href="#/instances">← {t('nav.instances')}</a>
      </p>
      <InstanceHead id={id} />
      <div class="tabs" role="tablist" aria-label={t('detail.sections')}>
        {SECTIONS.map((s, index) => (
          <a
            role="tab"
            id={`tab-${s.id}`}
            href={href(s.id)}
            aria-selected={s === current}
            aria-controls={s === current ? s.id : undefined}
            tabIndex={s === current ? 0 : -1}
            ref={(el) => void (tabs.current[index] = el)}
            onKeyDown={(e) => onKeyDown(e, index)}
          >
            {t(s.tab)}
          </a>
        ))}
      </div>
      <section key={current.id} class="card" role="tabpanel" id={current.id} aria-labelledby={`tab-${current.id}`} tabIndex={0}>
        <h2>{t(current.title)}</h2>
        <current.Section instance={id} />
      </section>
    </>
  );
}
