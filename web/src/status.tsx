/** An instance's connection as the pages show it: the status badge, and what WhatsApp or the last attempt had to say. */
import type { Status, StatusDetails } from './api.js';
import { language, t, type Key } from './i18n.js';

/** `qr`: connecting, with a QR code waiting to be scanned. */
export function StatusBadge({ status }: { status: Status | 'qr' }) {
  return <span class={`badge ${status === 'qr' ? 'connecting' : status}`}>{t(`status.${status}` as Key)}</span>;
}

/** Why the last connection attempt failed (while not open), and any limit WhatsApp put on the account. */
export function healthLines(details: StatusDetails): string[] {
  const when = (until: string | null) => (until ? new Date(until).toLocaleString(language.value) : t('instances.untilUnknown'));
  const lines: string[] = [];
  const { status, lastError } = details.accountStatus;
  if (status !== 'open' && lastError) lines.push(t('instances.lastError', { error: lastError }));
  const { messageCapping, reachoutTimelock } = details.restrictions ?? {};
  if (messageCapping?.active) lines.push(t('instances.capped', { until: when(messageCapping.until) }));
  if (reachoutTimelock?.active) lines.push(t('instances.timelocked', { until: when(reachoutTimelock.until) }));
  return lines;
}

export function HealthLines({ details }: { details: StatusDetails }) {
  return (
    <>
      {healthLines(details).map((line) => (
        <p class="warning" data-testid="health">
          {line}
        </p>
      ))}
    </>
  );
}
