/** Instances (Hatlar): every instance with its live status, its QR until paired, and its actions. */
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, type Account, type InstanceList, type Status, type StatusDetails } from '../api.js';
import { t } from '../i18n.js';
import { useAction, useLive, usePolling } from '../hooks.js';
import { HealthLines, StatusBadge } from '../status.js';
import { Alert, Field } from '../ui.js';

/** Why its last connection attempt failed and WhatsApp's limits on the account, asked again when they change. */
function Health({ id, status }: { id: string; status: Status }) {
  const [details, setDetails] = useState<StatusDetails | null>(null);
  useLive(
    async () => setDetails(await api<StatusDetails>('GET', `/instance/${id}/status`)),
    { instance: id, types: ['connection_status', 'account_restriction'], pollMs: 5_000 },
    [id, status],
  );
  return details ? <HealthLines details={details} /> : null;
}

/** The QR while connecting (asked every 2 s, as WhatsApp rotates it), the account once open. */
function Pairing({ id, status }: { id: string; status: Status }) {
  const [qr, setQr] = useState<string | null>(null);
  const [account, setAccount] = useState<Account | null>(null);
  usePolling(
    async () => {
      if (status === 'connecting') setQr((await api<{ qrCode: string | null }>('GET', `/instance/${id}/qr`)).qrCode);
    },
    2_000,
    [id, status],
  );
  useEffect(() => {
    if (status === 'open') api<Account>('GET', `/instance/${id}/me`).then(setAccount, () => setAccount(null));
    else setAccount(null);
  }, [id, status]);
  if (status === 'open' && account)
    return <p class="account">{t('instances.account', { name: account.name ?? '—', phone: account.phone })}</p>;
  if (status !== 'connecting') return null;
  return (
    <>
      {qr ? (
        <figure class="qr">
          <img src={qr} width={264} height={264} alt={t('instances.scan')} />
          <figcaption>{t('instances.scan')}</figcaption>
        </figure>
      ) : (
        <p class="hint">{t('instances.waitingQr')}</p>
      )}
      <PairingCode id={id} />
    </>
  );
}

/** Pairing by phone number instead of the QR: the code WhatsApp gives, to type on that phone. */
function PairingCode({ id }: { id: string }) {
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    setCode(null);
    await run(async () => setCode((await api<{ code: string }>('POST', `/instance/${id}/pairing-code`, { phone: phone.trim() })).code));
  };
  const field = `pair-phone-${id}`;
  return (
    <form class="pairing-code" onSubmit={submit}>
      <Field id={field} label={t('instances.pairPhone')} hint={t('instances.pairPhoneHint')}>
        <input
          id={field}
          inputMode="numeric"
          autocomplete="tel"
          value={phone}
          onInput={(e) => setPhone((e.target as HTMLInputElement).value)}
        />
      </Field>
      <button type="submit" class="secondary" disabled={busy || !phone.trim()}>
        {t('instances.pairGetCode')}
      </button>
      <Alert error={error} />
      {code && (
        <p role="status" class="notice">
          {t('instances.pairCode')}{' '}
          <strong class="pair-code" data-testid="pairing-code">
            {code}
          </strong>
        </p>
      )}
    </form>
  );
}

function InstanceCard({ id, status, onChanged }: { id: string; status: Status; onChanged: (message?: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (method: string, path: string, done?: string) => {
    setBusy(true);
    setError(null);
    try {
      await api(method, `/instance/${id}${path}`);
      onChanged(done);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const remove = () => {
    if (confirm(t('instances.confirmDelete', { id }))) void act('DELETE', '', t('instances.deleted', { id }));
  };
  return (
    <li class="card instance" data-instance={id}>
      <div class="row">
        <h2>
          <a href={`#/instances/${encodeURIComponent(id)}`}>{id}</a>
        </h2>
        <StatusBadge status={status} />
      </div>
      <Health id={id} status={status} />
      <Pairing id={id} status={status} />
      <div class="actions">
        {status === 'disconnected' && (
          <button type="button" disabled={busy} onClick={() => act('POST', '/connect')}>
            {t('instances.connect')}
          </button>
        )}
        <button type="button" class="secondary" disabled={busy} onClick={() => act('POST', '/restart')}>
          {t('instances.restart')}
        </button>
        {status !== 'disconnected' && (
          <button type="button" class="secondary" disabled={busy} onClick={() => act('POST', '/logout')}>
            {t('instances.logout')}
          </button>
        )}
        <button type="button" class="danger" disabled={busy} onClick={remove}>
          {t('instances.delete')}
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </li>
  );
}

function CreateInstance({ onCreated }: { onCreated: (message: string) => void }) {
  const [id, setId] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const created = await api<{ instanceId: string }>('POST', '/instance', {
        ...(id.trim() ? { id: id.trim() } : {}),
        ...(description.trim() ? { description: description.trim() } : {}),
      });
      setId('');
      setDescription('');
      onCreated(t('instances.created', { id: created.instanceId }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">{t('instances.create')}</h2>
      <div class="fields">
        <div>
          <label for="new-id">{t('instances.id')}</label>
          <input id="new-id" value={id} aria-describedby="new-id-hint" onInput={(e) => setId((e.target as HTMLInputElement).value)} />
          <p id="new-id-hint" class="hint">
            {t('instances.idHint')}
          </p>
        </div>
        <div>
          <label for="new-description">{t('instances.description')}</label>
          <input id="new-description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit">{t('instances.createSubmit')}</button>
    </form>
  );
}

export function Instances() {
  const [list, setList] = useState<InstanceList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  // Statuses change with connection_status events (every instance's stream: the admin token's).
  useLive(
    async () => {
      try {
        setList(await api<InstanceList>('GET', '/instance'));
        setError(null);
      } catch (err) {
        setError(errorText(err));
      }
    },
    { instance: null, types: ['connection_status'], pollMs: 2_000 },
    [version],
  );
  const changed = (message?: string) => {
    if (message) setNotice(message);
    setVersion((v) => v + 1);
  };
  return (
    <>
      <h1>{t('instances.title')}</h1>
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!list && !error && <p>{t('common.loading')}</p>}
      {list && list.instances.length === 0 && <p>{t('instances.empty')}</p>}
      {list && (
        <ul class="instances">
          {list.instances.map((id) => (
            <InstanceCard key={id} id={id} status={list.statuses[id]?.accountStatus.status ?? 'disconnected'} onChanged={changed} />
          ))}
        </ul>
      )}
      <CreateInstance onCreated={changed} />
    </>
  );
}
