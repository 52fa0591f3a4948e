/**
 * A flow's runs, newest first, by status, with a form that starts one; and one run opened: where it is, its variables, what it
 * sent and received at each step, a Cancel while it lives, and its workflow in the Temporal UI.
 */
import { useState } from 'preact/hooks';
import { FLOW_RUN_STATUSES, type FlowRun, type FlowRunStatus } from '../../../../domain/flows.js';
import { phoneOf } from '../../../../domain/recipients.js';
import { workflowIds } from '../../../../workflows/names.js';
import { api } from '../../api.js';
import { useAction, useInfo, useLive, workflowUrl } from '../../hooks.js';
import { localTime, t, type Key } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';
import type { Flow } from './FlowEditor.js';
/** A run as listed: without its history. */
type Listed = Omit<FlowRun, 'history'>;

/**
 * A run's start and end are announced; between them it moves when a message of its chat comes in or goes
 * out (what it sends is acknowledged), so those events show it too. Without the stream, asked this often.
 */
const RUN_EVENTS = ['flow_started', 'flow_completed', 'flow_handoff', 'flow_failed', 'message_received', 'message_ack'];
const POLL_MS = 5_000;
const PAGE = 20;

const live = (status: FlowRunStatus) => status === 'running' || status === 'waiting';
const statusWords = (status: FlowRunStatus) => t(`flows.state.${status}` as Key);
const Time = ({ at }: { at: string | null }) => (at ? <time datetime={at}>{localTime(at)}</time> : <>—</>);

export function FlowRuns({ instance, flow, onClose }: { instance: string; flow: Flow; onClose: () => void }) {
  const [status, setStatus] = useState('');
  const [page, setPage] = useState(1);
  const [answer, setAnswer] = useState<{ runs: Listed[]; total: number } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useLive(
    async () => {
      const query = new URLSearchParams({ limit: String(PAGE), page: String(page), ...(status ? { status } : {}) });
      setAnswer(await api<{ runs: Listed[]; total: number }>('GET', `/instance/${instance}/flows/${flow.id}/runs?${query}`));
    },
    { instance, types: RUN_EVENTS, pollMs: POLL_MS },
    [instance, flow.id, status, page, version],
  );
  const pages = answer ? Math.max(1, Math.ceil(answer.total / PAGE)) : 1;
  return (
    <section class="flow-runs" aria-labelledby="flow-runs-title" data-testid="flow-runs">
      <div class="row between">
        <h3 id="flow-runs-title">{t('flows.runsOf', { name: flow.name })}</h3>
        <button type="button" class="secondary" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
      {!flow.enabled && <p class="hint">{t('flows.startDisabled')}</p>}
      {flow.enabled && (
        <StartRun
          instance={instance}
          flow={flow}
          onStarted={(runId) => {
            setStatus('');
            setPage(1);
            setVersion((v) => v + 1);
            setOpen(runId);
          }}
        />
      )}
      <Field id="flow-runs-status" label={t('flows.status')} inline>
        <select
          id="flow-runs-status"
          value={status}
          onChange={(e) => {
            setStatus((e.target as HTMLSelectElement).value);
            setPage(1);
          }}
        >
          <option value="">{t('flows.allStatuses')}</option>
          {FLOW_RUN_STATUSES.map((s) => (
            <option value={s}>{statusWords(s)}</option>
          ))}
        </select>
      </Field>
      {!answer && <p>{t('common.loading')}</p>}
      {answer && answer.runs.length === 0 && <p>{t('flows.noRuns')}</p>}
      {answer && answer.runs.length > 0 && (
        <div class="table">
          <table class="runs">
            <thead>
              <tr>
                <th scope="col">{t('flows.status')}</th>
                <th scope="col">{t('flows.chat')}</th>
                <th scope="col">{t('flows.step')}</th>
                <th scope="col">{t('flows.started')}</th>
                <th scope="col">{t('flows.ended')}</th>
                <td />
              </tr>
            </thead>
            <tbody>
              {answer.runs.map((r) => (
                <tr data-run={r.runId} class={open === r.runId ? 'open' : undefined}>
                  <td>
                    <span class={`badge ${r.status}`}>{statusWords(r.status)}</span>
                  </td>
                  <td>{phoneOf(r.chatId)}</td>
                  <td>
                    <code>{r.step ?? '—'}</code>
                  </td>
                  <td data-label={t('flows.started')}>
                    <Time at={r.startedAt} />
                  </td>
                  <td data-label={t('flows.ended')}>
                    <Time at={r.endedAt} />
                  </td>
                  <td>
                    <button
                      type="button"
                      class="secondary"
                      aria-expanded={open === r.runId}
                      aria-label={t('flows.detailsOf', { chat: phoneOf(r.chatId), time: localTime(r.startedAt) })}
                      onClick={() => setOpen(open === r.runId ? null : r.runId)}
                    >
                      {t('flows.details')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <div class="row">
          <button type="button" class="secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            {t('flows.previous')}
          </button>
          <span>{t('flows.page', { page, pages })}</span>
          <button type="button" class="secondary" disabled={page >= pages} onClick={() => setPage(page + 1)}>
            {t('flows.next')}
          </button>
        </div>
      )}
      {open && (
        <RunView key={open} instance={instance} runId={open} onChanged={() => setVersion((v) => v + 1)} onClose={() => setOpen(null)} />
      )}
    </section>
  );
}

/**
 * Starts a run for a contact, as `POST .../flows/{flowId}/start` does: a phone number, the run's own
 * variables as a JSON object if any, and whether a run under way in that chat gives way to it.
 */
function StartRun({ instance, flow, onStarted }: { instance: string; flow: Flow; onStarted: (runId: string) => void }) {
  const [to, setTo] = useState('');
  const [vars, setVars] = useState('');
  const [replace, setReplace] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const { busy, error, run, setError } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    setNotice(null);
    let parsed: unknown;
    if (vars.trim()) {
      try {
        parsed = JSON.parse(vars);
      } catch (err) {
        return setError(t('flows.badVars', { error: (err as Error).message }));
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return setError(t('flows.varsNotObject'));
    }
    await run(async () => {
      const answer = await api<{ runId: string; replaced?: string }>('POST', `/instance/${instance}/flows/${flow.id}/start`, {
        to: to.trim(),
        ...(parsed ? { vars: parsed } : {}),
        ...(replace ? { replace: true } : {}),
      });
      setNotice(t(answer.replaced ? 'flows.startedReplacing' : 'flows.startedRun', { chat: to.trim() }));
      onStarted(answer.runId);
    });
  };
  return (
    <form class="start-run" onSubmit={submit} aria-labelledby="start-run-title">
      <h4 id="start-run-title">{t('flows.startTitle')}</h4>
      <div class="fields">
        <Field id="start-run-to" label={t('send.to')} hint={t('flows.startToHint')}>
          <input id="start-run-to" required inputMode="tel" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </Field>
        <Field id="start-run-vars" label={t('flows.startVars')} hint={t('flows.startVarsHint')}>
          <textarea
            id="start-run-vars"
            rows={2}
            spellcheck={false}
            placeholder='{ "order": "10042" }'
            value={vars}
            onInput={(e) => setVars((e.target as HTMLTextAreaElement).value)}
          />
        </Field>
      </div>
      <Field id="start-run-replace" label={t('flows.startReplace')} inline>
        <input
          type="checkbox"
          id="start-run-replace"
          checked={replace}
          onChange={(e) => setReplace((e.target as HTMLInputElement).checked)}
        />
      </Field>
      <Alert error={error} notice={notice} />
      <button type="submit" disabled={busy}>
        {t('flows.startSubmit')}
      </button>
    </form>
  );
}

/** A saved variable's value as written: text as it is, anything else as JSON. */
const valueText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function RunView({ instance, runId, onChanged, onClose }: { instance: string; runId: string; onChanged: () => void; onClose: () => void }) {
  const [run, setRun] = useState<FlowRun | null>(null);
  const [version, setVersion] = useState(0);
  const info = useInfo();
  const { busy, error, run: act } = useAction();
  useLive(
    async () => setRun(await api<FlowRun>('GET', `/instance/${instance}/flows/runs/${runId}`)),
    {
      instance,
      types: RUN_EVENTS,
      // Its own chat's messages only, once it is known.
      concerns: (event) => !run || !event.data.chatId || event.data.chatId === run.chatId,
      pollMs: POLL_MS,
    },
    [instance, runId, version, run?.chatId],
  );
  const cancel = async () => {
    if (!confirm(t('flows.confirmCancel', { chat: phoneOf(run!.chatId) }))) return;
    await act(() => api('POST', `/instance/${instance}/flows/runs/${runId}/cancel`));
    setVersion((v) => v + 1);
    onChanged();
  };
  const link = workflowUrl(info, workflowIds.flowRun(instance, runId));
  return (
    <article class="run" aria-labelledby="run-title" data-testid="run">
      <div class="row between">
        <h3 id="run-title">{t('flows.run', { chat: run ? phoneOf(run.chatId) : '…' })}</h3>
        <button type="button" class="secondary" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
      {!run ? (
        <p>{t('common.loading')}</p>
      ) : (
        <>
          <p class="row">
            <span class={`badge ${run.status}`}>{statusWords(run.status)}</span>
            <span>{t('flows.atStep', { step: run.step ?? '—' })}</span>
            <span class="hint">{t('flows.atVersion', { version: run.flowVersion })}</span>
            <code class="hint run-id">{run.runId}</code>
          </p>
          {run.reason && <p>{t('flows.reason', { reason: run.reason })}</p>}
          <Alert error={error} />
          <div class="actions">
            {live(run.status) && (
              <button type="button" class="danger" disabled={busy} onClick={cancel}>
                {t('flows.cancelRun')}
              </button>
            )}
            {link && (
              <a href={link} target="_blank" rel="noreferrer">
                {t('common.temporal')}
              </a>
            )}
          </div>
          <h4>{t('flows.vars')}</h4>
          {Object.keys(run.vars).length === 0 ? (
            <p class="hint">{t('flows.noVars')}</p>
          ) : (
            <dl class="vars">
              {Object.entries(run.vars).map(([name, value]) => (
                <>
                  <dt>
                    <code>{name}</code>
                  </dt>
                  <dd>{valueText(value)}</dd>
                </>
              ))}
            </dl>
          )}
          <h4>{t('flows.history')}</h4>
          <ol class="history">
            {run.history.map((entry) => (
              <li>
                <p class="hint">
                  <Time at={entry.at} /> · <code>{entry.step}</code>
                </p>
                {entry.sent !== undefined && <HistoryLine kind="sent" text={entry.sent} />}
                {entry.received !== undefined && <HistoryLine kind="received" text={entry.received} />}
                {entry.note !== undefined && <HistoryLine kind="note" text={entry.note} />}
              </li>
            ))}
          </ol>
        </>
      )}
    </article>
  );
}

function HistoryLine({ kind, text }: { kind: 'sent' | 'received' | 'note'; text: string }) {
  return (
    <p class={`history-line ${kind}`}>
      <span class="hint">{t(`flows.${kind}`)}:</span> {text}
    </p>
  );
}
