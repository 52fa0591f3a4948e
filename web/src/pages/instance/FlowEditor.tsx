/**
 * A flow written as JSON, as the API takes it (docs/flows.md). When the API refuses it because of a
 * step (a flow wrong as a whole names the step, `steps: step "X" ...`; a field names its place,
 * `steps.4.seconds: ...`), that step is marked in the list of steps and selected in the JSON.
 */
import { useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../../api.js';
import { useAction } from '../../hooks.js';
import { t } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

/** A step as the API answers it: its id and type, and the fields of its type (docs/flows.md). */
type Step = { id: string; type: string; [field: string]: unknown };

/** A stored flow, as `GET .../flows` answers (api/flows.ts): a PUT takes its definition back unchanged. */
export interface Flow {
  id: number;
  name: string;
  enabled: boolean;
  trigger: { type: 'api' } | { type: 'keyword'; match_type: 'exact' | 'contains' | 'startswith' | 'regex'; text: string };
  steps: Step[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What a save sends for `flow`: its definition, without what the API adds (id, version, dates). */
export const definitionOf = (flow: Flow): Record<string, unknown> => ({
  name: flow.name,
  enabled: flow.enabled,
  trigger: flow.trigger,
  steps: flow.steps,
});

/** A value as JSON on one line, spaced to be read. */
const inline = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(inline).join(', ')}]`
    : value && typeof value === 'object'
      ? Object.keys(value).length
        ? `{ ${Object.entries(value)
            .map(([key, v]) => `${JSON.stringify(key)}: ${inline(v)}`)
            .join(', ')} }`
        : '{}'
      : JSON.stringify(value);

/** A flow as the editor shows it: one step a line, so a step is easy to find and to move. */
export function flowText(flow: Record<string, unknown>): string {
  const { steps, ...rest } = flow;
  const head = Object.entries(rest).map(([key, value]) => `  ${JSON.stringify(key)}: ${inline(value)},\n`);
  const lines = Array.isArray(steps) ? steps.map((step) => `    ${inline(step)}`).join(',\n') : '';
  return `{\n${head.join('')}  "steps": [\n${lines}\n  ]\n}\n`;
}

/** A small flow that saves as it is: the start of a new one. */
export const exampleFlow = () =>
  flowText({
    name: t('flows.example.name'),
    enabled: true,
    trigger: { type: 'keyword', match_type: 'exact', text: t('flows.example.keyword') },
    steps: [
      { id: 'ask', type: 'ask', text: t('flows.example.ask'), save: 'score', timeout: 3600, onTimeout: 'end' },
      { id: 'thanks', type: 'send', text: t('flows.example.thanks') },
    ],
  });

/**
 * Where each element of the top-level `steps` array is in `text` (from its first character to its
 * last), by its position in the array, read as JSON is (strings may hold brackets).
 */
export function stepRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let depth = 0;
  let key = '';
  let lastString = '';
  let stringStart = -1;
  let escaped = false;
  let inSteps = false;
  let index = 0;
  let start = -1;
  const end = (at: number) => {
    if (start >= 0) ranges[index] = [start, start + text.slice(start, at).trimEnd().length];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (stringStart >= 0) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') {
        lastString = text.slice(stringStart + 1, i);
        stringStart = -1;
      }
      continue;
    }
    // Inside the steps array, an element starts at its first character and ends before the next comma.
    if (inSteps && depth === 2 && start < 0 && c !== ',' && c !== ']' && !/\s/.test(c)) start = i;
    if (c === '"') stringStart = i;
    else if (c === ':' && depth === 1) key = lastString;
    else if (c === '{' || c === '[') {
      depth++;
      if (!inSteps && depth === 2 && c === '[' && key === 'steps') inSteps = true;
    } else if (c === '}' || c === ']') {
      depth--;
      if (inSteps && depth === 1) {
        end(i);
        break;
      }
    } else if (inSteps && depth === 2 && c === ',') {
      end(i);
      index++;
      start = -1;
    }
  }
  return ranges;
}

/** The place in the steps sent of the step a refusal names; undefined when it names none. */
function refusedStep(err: unknown, steps: unknown[]): number | undefined {
  if (!(err instanceof ApiError) || err.status !== 400) return undefined;
  const named = err.code === 'INVALID_FLOW' ? err.detail.match(/^steps: step "([^"]+)" /) : null;
  if (named) {
    const ids = steps.map((step) => (step as { id?: unknown } | null)?.id);
    // Two steps with one id: the second is the one in the way.
    const index = err.detail.includes('two steps have the id') ? ids.lastIndexOf(named[1]) : ids.indexOf(named[1]);
    return index >= 0 ? index : undefined;
  }
  const field = err.detail.match(/^steps\.(\d+)(?=[.:\s])/);
  return field ? Number(field[1]) : undefined;
}

const lineAt = (text: string, at: number) => text.slice(0, at).split('\n').length;

/** The editor of a new flow (`flow` null) or of one stored; `onSaved` once the API took it. */
export function FlowEditor({
  instance,
  flow,
  saved,
  onSaved,
  onCancel,
}: {
  instance: string;
  flow: Flow | null;
  /** What the save before this editor did. */
  saved: string | null;
  onSaved: (saved: Flow) => void;
  onCancel: () => void;
}) {
  const [text, setText] = useState(() => (flow ? flowText(definitionOf(flow)) : exampleFlow()));
  const [bad, setBad] = useState<{ id: unknown; index: number } | null>(null);
  const [stepError, setStepError] = useState<string | null>(null);
  const { busy, error, run, setError } = useAction();
  const area = useRef<HTMLTextAreaElement>(null);
  const steps = useMemo(() => {
    try {
      const parsed = JSON.parse(text) as { steps?: unknown };
      return Array.isArray(parsed.steps) ? parsed.steps.map((step) => step as { id?: unknown; type?: unknown }) : null;
    } catch {
      return null;
    }
  }, [text]);
  const ranges = useMemo(() => stepRanges(text), [text]);
  // The marked step stays marked while the text changes: where it was, or else where its id went.
  const badIndex = !bad || !steps ? -1 : steps[bad.index]?.id === bad.id ? bad.index : steps.findIndex((s) => s.id === bad.id);

  /** Selects step `index` in the JSON (the field shows it, scrolled to). */
  const show = (index: number, within = text) => {
    const range = stepRanges(within)[index];
    const el = area.current;
    if (!range || !el) return;
    el.focus();
    el.setSelectionRange(range[0], range[1]);
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 20;
    el.scrollTop = Math.max(0, (lineAt(within, range[0]) - 3) * lineHeight);
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setBad(null);
    setStepError(null);
    let body: { steps?: unknown } | null;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setError(t('flows.badJson', { error: (err as Error).message }));
      return;
    }
    const sent = text;
    let saved: Flow | undefined;
    const ok = await run(async () => {
      try {
        saved = await api<Flow>(flow ? 'PUT' : 'POST', `/instance/${instance}/flows${flow ? `/${flow.id}` : ''}`, body);
      } catch (err) {
        const sentSteps = Array.isArray(body?.steps) ? (body.steps as unknown[]) : [];
        const index = refusedStep(err, sentSteps);
        if (index !== undefined) {
          const id = (sentSteps[index] as { id?: unknown } | null)?.id;
          const name = typeof id === 'string' ? id : t('flows.stepN', { n: index + 1 });
          const range = stepRanges(sent)[index];
          setBad({ id, index });
          setStepError(
            range ? t('flows.stepError', { step: name, line: lineAt(sent, range[0]) }) : t('flows.stepErrorNoLine', { step: name }),
          );
          // After the alert is shown: the step chosen in the field, to be corrected there.
          setTimeout(() => show(index, sent));
        }
        throw err;
      }
    });
    if (ok && saved) onSaved(saved);
  };

  return (
    <form onSubmit={save} aria-labelledby="flow-form-title" class="flow-editor">
      <h3 id="flow-form-title">{flow ? t('flows.editing', { name: flow.name }) : t('flows.new')}</h3>
      <Field id="flow-json" label={t('flows.json')} hint={t('flows.jsonHint')}>
        <textarea
          id="flow-json"
          ref={area}
          class="code"
          rows={14}
          spellcheck={false}
          value={text}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'flow-error' : undefined}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
      </Field>
      {steps && steps.length > 0 && (
        <div class="flow-outline">
          <span class="hint" id="flow-steps-title">
            {t('flows.steps')}
          </span>
          <ol class="flow-steps" aria-labelledby="flow-steps-title">
            {steps.map((step, index) => {
              const name = typeof step.id === 'string' ? step.id : t('flows.stepN', { n: index + 1 });
              return (
                <li class={index === badIndex ? 'bad' : undefined} data-step={name}>
                  <button
                    type="button"
                    class="secondary"
                    title={t('flows.showStep', { step: name })}
                    aria-label={t('flows.showStep', { step: name })}
                    disabled={!ranges[index]}
                    onClick={() => show(index)}
                  >
                    {index === badIndex && <span aria-hidden="true">⚠ </span>}
                    {name}
                    {typeof step.type === 'string' && <span class="step-type"> · {step.type}</span>}
                  </button>
                </li>
              );
            })}
          </ol>
        </div>
      )}
      {error ? (
        <div role="alert" class="error flow-error" id="flow-error" data-testid="flow-error">
          {stepError && <p>{stepError}</p>}
          <p>{error}</p>
        </div>
      ) : (
        <Alert notice={saved} />
      )}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {flow ? t('common.save') : t('flows.create')}
        </button>
        {flow && (
          <button type="button" class="secondary" onClick={onCancel}>
            {t('common.cancel')}
          </button>
        )}
      </div>
    </form>
  );
}
