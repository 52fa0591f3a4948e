import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useAction, useLive } from '../../hooks.js';
import { t } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

interface Rule {
  id: number;
  match_type: 'exact' | 'contains' | 'startswith' | 'regex';
  trigger_text: string;
  response: string;
  delay: number;
  enabled: 0 | 1;
  priority: number;
}
const EMPTY = { match_type: 'contains', trigger_text: '', response: '', delay: '1' };
const MATCH_TYPES = ['exact', 'contains', 'startswith', 'regex'] as const;

/** Keyword rules in the order they are tried: add, edit, delete, move up or down, switch each and the bot. */
export function Chatbot({ instance }: { instance: string }) {
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [enabled, setEnabled] = useState(false);
  const [form, setForm] = useState<Record<string, string>>(EMPTY);
  const [editing, setEditing] = useState<number | null>(null);
  const [version, setVersion] = useState(0);
  const { busy, error, run } = useAction();
  const base = `/instance/${instance}/chatbot`;
  useLive(
    async () => {
      const answer = await api<{ rules: Rule[]; enabled: boolean }>('GET', `${base}/rules`);
      setRules(answer.rules);
      setEnabled(answer.enabled);
    },
    { instance, types: ['chatbot_paused'], pollMs: 10_000 },
    [instance, version],
  );
  const reload = () => setVersion((v) => v + 1);
  const save = async (e: Event) => {
    e.preventDefault();
    const body = { ...(editing ? { id: editing } : {}), ...form, delay: Number(form.delay) };
    if (await run(() => api('POST', `${base}/rules`, body))) {
      setForm(EMPTY);
      setEditing(null);
      reload();
    }
  };
  /** Swaps a rule with its neighbour: priorities are renumbered in steps of 10 so that the order is the one shown. */
  const move = (index: number, by: -1 | 1) =>
    run(async () => {
      const order = [...rules!];
      [order[index], order[index + by]] = [order[index + by]!, order[index]!];
      for (const [i, rule] of order.entries())
        if (rule.priority !== i * 10) await api('POST', `${base}/rules`, { id: rule.id, priority: i * 10 });
      reload();
    });
  const act = (call: () => Promise<unknown>) => run(call).then(reload);
  const edit = (rule: Rule) => {
    setEditing(rule.id);
    setForm({
      match_type: rule.match_type,
      trigger_text: rule.trigger_text,
      response: rule.response,
      delay: String(rule.delay),
    });
  };
  return (
    <>
      <div class="row">
        <span>{enabled ? t('chatbot.on') : t('chatbot.off')}</span>
        <button
          type="button"
          class="secondary"
          disabled={busy}
          onClick={() => act(() => api('POST', `${base}/toggle`, { enabled: !enabled }))}
        >
          {enabled ? t('chatbot.turnOff') : t('chatbot.turnOn')}
        </button>
      </div>
      {rules && rules.length === 0 && <p>{t('chatbot.empty')}</p>}
      {rules && rules.length > 0 && (
        <ol class="rules">
          {rules.map((rule, i) => (
            <RuleRow
              rule={rule}
              first={i === 0}
              last={i === rules.length - 1}
              busy={busy}
              base={base}
              move={(by) => move(i, by)}
              act={act}
              edit={() => edit(rule)}
            />
          ))}
        </ol>
      )}
      <RuleForm
        form={form}
        setForm={setForm}
        editing={editing}
        busy={busy}
        error={error}
        save={save}
        cancel={() => (setEditing(null), setForm(EMPTY))}
      />
    </>
  );
}

/** One rule: what it matches and answers, and its buttons. */
function RuleRow({
  rule,
  first,
  last,
  busy,
  base,
  move,
  act,
  edit,
}: {
  rule: Rule;
  first: boolean;
  last: boolean;
  busy: boolean;
  base: string;
  move: (by: -1 | 1) => unknown;
  act: (call: () => Promise<unknown>) => unknown;
  edit: () => void;
}) {
  return (
    <li data-rule={rule.id} class={rule.enabled ? '' : 'disabled'}>
      <div>
        <strong>{t(`chatbot.match.${rule.match_type}`)}</strong> “{rule.trigger_text}” → {rule.response}{' '}
        <span class="hint">{t('chatbot.after', { delay: rule.delay })}</span>
      </div>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          aria-label={t('chatbot.moveUp', { trigger: rule.trigger_text })}
          disabled={busy || first}
          onClick={() => move(-1)}
        >
          ↑
        </button>
        <button
          type="button"
          class="secondary"
          aria-label={t('chatbot.moveDown', { trigger: rule.trigger_text })}
          disabled={busy || last}
          onClick={() => move(1)}
        >
          ↓
        </button>
        <button
          type="button"
          class="secondary"
          disabled={busy}
          onClick={() => act(() => api('POST', `${base}/rules`, { id: rule.id, enabled: !rule.enabled }))}
        >
          {rule.enabled ? t('chatbot.disable') : t('chatbot.enable')}
        </button>
        <button type="button" class="secondary" onClick={edit}>
          {t('common.edit')}
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() =>
            confirm(t('chatbot.confirmDelete', { trigger: rule.trigger_text })) && act(() => api('DELETE', `${base}/rules/${rule.id}`))
          }
        >
          {t('common.delete')}
        </button>
      </div>
    </li>
  );
}

/** The form that adds a rule, or edits the one chosen. */
function RuleForm({
  form,
  setForm,
  editing,
  busy,
  error,
  save,
  cancel,
}: {
  form: Record<string, string>;
  setForm: (form: Record<string, string>) => void;
  editing: number | null;
  busy: boolean;
  error: string | null;
  save: (e: Event) => void;
  cancel: () => void;
}) {
  const field = (name: string) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  return (
    <form onSubmit={save} aria-labelledby="rule-form-title">
      <h3 id="rule-form-title">{editing ? t('chatbot.editRule') : t('chatbot.addRule')}</h3>
      <div class="fields">
        <Field id="rule-match" label={t('chatbot.matchType')}>
          <select id="rule-match" value={form.match_type} onChange={field('match_type')}>
            {MATCH_TYPES.map((m) => (
              <option value={m}>{t(`chatbot.match.${m}`)}</option>
            ))}
          </select>
        </Field>
        <Field id="rule-trigger" label={t('chatbot.trigger')}>
          <input id="rule-trigger" required value={form.trigger_text} onInput={field('trigger_text')} />
        </Field>
        <Field id="rule-response" label={t('chatbot.response')} hint={t('chatbot.placeholders')}>
          <textarea id="rule-response" required rows={2} value={form.response} onInput={field('response')} />
        </Field>
        <Field id="rule-delay" label={t('chatbot.delay')}>
          <input id="rule-delay" type="number" min={0} max={3600} value={form.delay} onInput={field('delay')} />
        </Field>
      </div>
      <Alert error={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {editing ? t('common.save') : t('chatbot.add')}
        </button>
        {editing && (
          <button type="button" class="secondary" onClick={cancel}>
            {t('common.cancel')}
          </button>
        )}
      </div>
    </form>
  );
}
