import { useState } from 'preact/hooks';
import { localNumber, toJid } from '../../../../domain/recipients.js';
import { api, ApiError } from '../../api.js';
import { useAction, useInfo, useLive, workflowUrl } from '../../hooks.js';
import { t, type Key } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

/** A send of a campaign is acknowledged (sent, delivered...); it ends; a restriction pauses it. */
const CAMPAIGN_EVENTS = ['message_ack', 'bulk_completed', 'account_restriction'];

interface Counts {
  pending: number;
  sent: number;
  failed: number;
  cancelled: number;
  skipped: number;
}
interface Job {
  id: number;
  status: 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';
  body: string | null;
  total: number;
  counts: Counts;
  createdAt: string;
}
interface Recipient {
  position: number;
  id: string;
  name: string | null;
  status: string;
  messageStatus: string | null;
  error: string | null;
}

const done = (c: Counts) => c.sent + c.failed + c.cancelled + c.skipped;

function Recipients({ instance, job }: { instance: string; job: number }) {
  const [rows, setRows] = useState<Recipient[] | null>(null);
  useLive(
    async () => setRows((await api<{ recipients: Recipient[] }>('GET', `/instance/${instance}/bulk/${job}?limit=100`)).recipients),
    { instance, types: CAMPAIGN_EVENTS, pollMs: 3_000 },
    [instance, job],
  );
  if (!rows) return <p>{t('common.loading')}</p>;
  return (
    <div class="table">
      <table>
        <thead>
          <tr>
            <th scope="col">{t('campaigns.recipient')}</th>
            <th scope="col">{t('campaigns.status')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <td>
                {r.name ? `${r.name} ` : ''}
                {r.id.split('@')[0]}
              </td>
              <td>
                {r.status}
                {r.messageStatus && r.messageStatus !== r.status ? ` (${r.messageStatus})` : ''}
                {r.error ? `: ${r.error}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface Line {
  /** Its number in the field, from 1 (blank lines count, so it is the one the user sees). */
  line: number;
  id: string;
  name?: string;
}

/**
 * The recipients' lines, each "number[, name]", and what is wrong with them, by the rule the API
 * applies (domain/recipients.ts): a number written the local way (0555…) or anything that is not a
 * number or a WhatsApp id is refused, naming its line, before anything is sent.
 */
function readLines(text: string): { lines: Line[]; problems: string[] } {
  const lines: Line[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    if (!raw.trim()) return;
    const [id, ...name] = raw.split(',');
    const line = { line: index + 1, id: id!.trim(), ...(name.length ? { name: name.join(',').trim() } : {}) };
    const local = localNumber(line.id);
    if (local) problems.push(t('campaigns.lineLocal', { line: line.line, number: line.id, international: `90${local.slice(1)}` }));
    else if (!toJid(line.id)) problems.push(t('campaigns.lineInvalid', { line: line.line, text: line.id }));
    lines.push(line);
  });
  return { lines, problems };
}

function NewCampaign({ instance, onCreated }: { instance: string; onCreated: () => void }) {
  const [recipients, setRecipients] = useState('');
  const [body, setBody] = useState('');
  const [delay, setDelay] = useState('3');
  const [problems, setProblems] = useState<string[]>([]);
  const { busy, error, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const { lines, problems } = readLines(recipients);
    setProblems(problems);
    if (problems.length) return;
    const start = async () => {
      try {
        await api('POST', `/instance/${instance}/bulk`, {
          recipients: lines.map(({ id, name }) => ({ id, ...(name === undefined ? {} : { name }) })),
          body,
          delay: Number(delay),
        });
      } catch (err) {
        // Should the API still refuse a line ("recipients.3.id: …"), its words, naming the line as the field counts it.
        const refused = err instanceof ApiError ? err.detail.match(/^recipients\.(\d+)\.id: (.*)$/s) : null;
        const line = refused && lines[Number(refused[1])];
        if (line) setProblems([t('campaigns.lineError', { line: line.line, error: refused[2]! })]);
        throw err;
      }
    };
    if (await run(start)) {
      setRecipients('');
      setBody('');
      onCreated();
    }
  };
  return (
    <form onSubmit={submit} aria-labelledby="campaign-form-title">
      <h3 id="campaign-form-title">{t('campaigns.new')}</h3>
      <div class="fields">
        <Field id="campaign-recipients" label={t('campaigns.recipients')} hint={t('campaigns.recipientsHint')}>
          <textarea
            id="campaign-recipients"
            required
            rows={3}
            value={recipients}
            aria-invalid={problems.length > 0}
            aria-describedby={problems.length > 0 ? 'campaign-problems' : undefined}
            onInput={(e) => setRecipients((e.target as HTMLTextAreaElement).value)}
          />
        </Field>
        <Field id="campaign-body" label={t('campaigns.body')} hint={t('campaigns.bodyHint')}>
          <textarea id="campaign-body" required rows={3} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <Field id="campaign-delay" label={t('campaigns.delay')}>
          <input
            id="campaign-delay"
            type="number"
            min={0}
            max={3600}
            value={delay}
            onInput={(e) => setDelay((e.target as HTMLInputElement).value)}
          />
        </Field>
      </div>
      {problems.length > 0 ? (
        <div role="alert" class="error" id="campaign-problems" data-testid="campaign-problems">
          <p>{t('campaigns.notStarted')}</p>
          <ul>
            {problems.map((problem) => (
              <li>{problem}</li>
            ))}
          </ul>
        </div>
      ) : (
        <Alert error={error} />
      )}
      <button type="submit" disabled={busy}>
        {t('campaigns.start')}
      </button>
    </form>
  );
}

/** Campaigns with their progress, live; each can be paused, resumed or cancelled and opened in the Temporal UI. */
export function Campaigns({ instance }: { instance: string }) {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [version, setVersion] = useState(0);
  const info = useInfo();
  const { busy, error, run } = useAction();
  useLive(
    async () => setJobs((await api<{ jobs: Job[] }>('GET', `/instance/${instance}/bulk?limit=20`)).jobs),
    { instance, types: CAMPAIGN_EVENTS, pollMs: 2_000 },
    [instance, version],
  );
  const act = (job: number, action: string) =>
    run(() => api('POST', `/instance/${instance}/bulk/${job}/${action}`)).then(() => setVersion((v) => v + 1));
  return (
    <>
      <Alert error={error} />
      {jobs && jobs.length === 0 && <p>{t('campaigns.empty')}</p>}
      <ul class="jobs">
        {jobs?.map((job) => {
          const percent = job.total ? Math.round((done(job.counts) / job.total) * 100) : 100;
          const link = workflowUrl(info, `bulk-${instance}-${job.id}`);
          return (
            <li class="job" data-job={job.id}>
              <div class="row">
                <strong>#{job.id}</strong>
                <span class="badge">{t(`campaigns.state.${job.status}` as Key)}</span>
                <span class="hint">{job.body?.slice(0, 60)}</span>
              </div>
              <label class="progress">
                <span>{t('campaigns.progress', { percent, done: done(job.counts), total: job.total })}</span>
                <progress max={job.total} value={done(job.counts)} />
              </label>
              <p class="hint">
                {t('campaigns.counts', {
                  sent: job.counts.sent,
                  failed: job.counts.failed,
                  skipped: job.counts.skipped,
                  cancelled: job.counts.cancelled,
                })}
              </p>
              <div class="actions">
                {(job.status === 'running' || job.status === 'scheduled') && (
                  <button type="button" class="secondary" disabled={busy} onClick={() => act(job.id, 'pause')}>
                    {t('campaigns.pause')}
                  </button>
                )}
                {job.status === 'paused' && (
                  <button type="button" class="secondary" disabled={busy} onClick={() => act(job.id, 'resume')}>
                    {t('campaigns.resume')}
                  </button>
                )}
                {job.status !== 'completed' && job.status !== 'cancelled' && (
                  <button
                    type="button"
                    class="danger"
                    disabled={busy}
                    onClick={() => confirm(t('campaigns.confirmCancel', { id: job.id })) && act(job.id, 'cancel')}
                  >
                    {t('common.cancel')}
                  </button>
                )}
                <button
                  type="button"
                  class="secondary"
                  aria-expanded={open === job.id}
                  onClick={() => setOpen(open === job.id ? null : job.id)}
                >
                  {t('campaigns.recipientsButton')}
                </button>
                {link && (
                  <a href={link} target="_blank" rel="noreferrer">
                    {t('common.temporal')}
                  </a>
                )}
              </div>
              {open === job.id && <Recipients instance={instance} job={job.id} />}
            </li>
          );
        })}
      </ul>
      <NewCampaign instance={instance} onCreated={() => setVersion((v) => v + 1)} />
    </>
  );
}
