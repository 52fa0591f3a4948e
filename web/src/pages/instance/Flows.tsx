import { useRef, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useAction, useLive } from '../../hooks.js';
import { plural, t } from '../../i18n.js';
import { Alert } from '../../ui.js';
import { definitionOf, FlowEditor, type Flow } from './FlowEditor.js';
import { FlowRuns } from './FlowRuns.js';

/** What starts a flow, in words. */
const triggerWords = (trigger: Flow['trigger']) =>
  trigger.type === 'api' ? t('flows.trigger.api') : t(`flows.trigger.${trigger.match_type}`, { text: trigger.text });

/**
 * Conversation flows: the list (each switched on or off, edited, deleted), the runs of the one
 * chosen, and the editor of a new flow or of the one being edited, as JSON.
 */
export function Flows({ instance }: { instance: string }) {
  const [flows, setFlows] = useState<Flow[] | null>(null);
  const [editing, setEditing] = useState<Flow | null>(null);
  // A new editor after each save or cancel: it starts again from the example.
  const [editorKey, setEditorKey] = useState(0);
  const [runsOf, setRunsOf] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // What the last save did, said beside the editor (where the user is).
  const [saved, setSaved] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const editor = useRef<HTMLDivElement>(null);
  const { busy, error, run } = useAction();
  const base = `/instance/${instance}/flows`;
  useLive(async () => setFlows(await api<Flow[]>('GET', base)), { instance, types: [], pollMs: 10_000 }, [instance, version]);
  const reload = () => setVersion((v) => v + 1);
  const closeEditor = () => {
    setEditing(null);
    setEditorKey((k) => k + 1);
  };
  const act = async (call: () => Promise<string | null>) => {
    setNotice(null);
    let said: string | null = null;
    if (await run(async () => void (said = await call()))) setNotice(said);
    reload();
  };
  const toggle = (flow: Flow) =>
    act(async () => {
      await api('PUT', `${base}/${flow.id}`, { ...definitionOf(flow), enabled: !flow.enabled });
      return null;
    });
  const remove = (flow: Flow) =>
    confirm(t('flows.confirmDelete', { name: flow.name })) &&
    act(async () => {
      const { cancelledRuns } = await api<{ cancelledRuns: number }>('DELETE', `${base}/${flow.id}`);
      if (runsOf === flow.id) setRunsOf(null);
      if (editing?.id === flow.id) closeEditor();
      const deleted = t('flows.deleted', { name: flow.name });
      return cancelledRuns ? `${deleted} ${plural('flows.runsCancelled', cancelledRuns)}` : deleted;
    });
  const edit = (flow: Flow) => {
    setSaved(null);
    setEditing(flow);
    setEditorKey((k) => k + 1);
    setTimeout(() => editor.current?.scrollIntoView({ block: 'start' }));
  };
  const shown = flows?.find((f) => f.id === runsOf);
  return (
    <>
      <Alert error={error} notice={notice} />
      {flows && flows.length === 0 && <p>{t('flows.empty')}</p>}
      {flows && flows.length > 0 && (
        <ul class="flows">
          {flows.map((flow) => (
            <li data-flow={flow.id} class={flow.enabled ? '' : 'disabled'}>
              <div class="flow-about">
                <strong id={`flow-name-${flow.id}`}>{flow.name}</strong>{' '}
                <span class="badge">{t('flows.version', { version: flow.version })}</span>
                <p class="hint">{triggerWords(flow.trigger)}</p>
              </div>
              <div class="actions">
                <label class="switch" for={`flow-enabled-${flow.id}`}>
                  <input
                    type="checkbox"
                    role="switch"
                    id={`flow-enabled-${flow.id}`}
                    aria-describedby={`flow-name-${flow.id}`}
                    checked={flow.enabled}
                    disabled={busy}
                    onChange={() => toggle(flow)}
                  />
                  {t('flows.enabled')}
                </label>
                <button
                  type="button"
                  class="secondary"
                  aria-expanded={runsOf === flow.id}
                  onClick={() => setRunsOf(runsOf === flow.id ? null : flow.id)}
                >
                  {t('flows.runsButton')}
                </button>
                <button type="button" class="secondary" onClick={() => edit(flow)}>
                  {t('common.edit')}
                </button>
                <button type="button" class="danger" disabled={busy} onClick={() => remove(flow)}>
                  {t('common.delete')}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {shown && <FlowRuns key={shown.id} instance={instance} flow={shown} onClose={() => setRunsOf(null)} />}
      <div ref={editor} class="flow-editor-place">
        <FlowEditor
          key={editorKey}
          instance={instance}
          flow={editing}
          saved={saved}
          onCancel={closeEditor}
          onSaved={(flow) => {
            setSaved(t('flows.saved', { name: flow.name, version: flow.version }));
            closeEditor();
            reload();
          }}
        />
      </div>
    </>
  );
}
