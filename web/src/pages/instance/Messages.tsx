import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useAction, useLive } from '../../hooks.js';
import { language, t } from '../../i18n.js';
import { Alert, Field } from '../../ui.js';

interface Chat {
  id: string;
  name: string | null;
  botPausedUntil: string | null;
  labels?: string[];
}
interface Label {
  id: string;
  name: string;
}
interface Channel {
  id: string;
  name: string;
}
interface Pause {
  chatId: string;
  pausedUntil: string;
  because: 'phone' | 'person' | 'handoff';
}
interface Message {
  id: string;
  from: string | null;
  fromMe: boolean;
  body: string;
  type: string;
  status: string;
  timestamp: number;
  editedAt?: number;
  edits?: Array<{ body: string; previous: string; editedAt: number }>;
  revoked?: boolean;
}

interface PollResults {
  options: Array<{ name: string; votes: number }>;
  voters: number;
}

/** The statuses (stories), shown as a chat of their own: the contacts' and the account's. */
const STATUSES = 'status@broadcast';

/** An edit or a delete the account sent is a message of its own in the history: the page shows it on the message it changed. */
const CHANGES = new Set(['edit', 'delete']);

/** The last messages of one chat, picked from the instance's chats. */
export function Messages({ instance }: { instance: string }) {
  const [chats, setChats] = useState<Chat[] | null>(null);
  const [chat, setChat] = useState('');
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [polls, setPolls] = useState<Record<string, PollResults>>({});
  const [pause, setPause] = useState<Pause | null>(null);
  const [resumed, setResumed] = useState<string | null>(null);
  const { error, run } = useAction();
  const resume = useAction();
  const [labels, setLabels] = useState<Map<string, string>>(new Map());
  const [channels, setChannels] = useState<Channel[]>([]);
  // A new chat appears with its first message, and a chat's labels change with label_update.
  useLive(
    async () => setChats(await api<Chat[]>('GET', `/instance/${instance}/chats`)),
    { instance, types: ['message_received', 'label_update'], pollMs: 10_000 },
    [instance],
  );
  // The labels' names, loaded again only when labels change; the channels, which no event announces, once a minute.
  useLive(
    async () => setLabels(new Map((await api<Label[]>('GET', `/instance/${instance}/labels`)).map((l) => [l.id, l.name]))),
    { instance, types: ['label_update'], pollMs: 60_000 },
    [instance],
  );
  useLive(async () => setChannels(await api<Channel[]>('GET', `/instance/${instance}/channels`)), { instance, types: [], pollMs: 60_000 }, [
    instance,
  ]);
  useLive(
    async () => {
      if (chat)
        await run(async () => {
          const [page, paused] = await Promise.all([
            chat === STATUSES
              ? api<{ statuses: Message[] }>('GET', `/instance/${instance}/status/list?limit=20`).then((p) => ({ messages: p.statuses }))
              : chat.endsWith('@newsletter')
                ? // A channel's latest posts, asked of WhatsApp.
                  api<{ messages: Message[] }>(
                    'GET',
                    `/instance/${instance}/channels/messages?channelId=${encodeURIComponent(chat)}&limit=20`,
                  )
                : api<{ messages: Message[] }>('GET', `/instance/${instance}/chats/messages?chatId=${encodeURIComponent(chat)}&limit=20`),
            api<{ pauses: Pause[] }>('GET', `/instance/${instance}/chatbot/pauses`),
          ]);
          setMessages(page.messages);
          setPause(paused.pauses.find((p) => p.chatId === chat) ?? null);
          // The polls on the page, with their current results.
          const shown = page.messages.filter((m) => m.type === 'poll' && !m.revoked);
          const results = await Promise.all(
            shown.map((m) =>
              api<PollResults>('GET', `/instance/${instance}/messages/poll?msgId=${encodeURIComponent(m.id)}`).catch(() => null),
            ),
          );
          setPolls(Object.fromEntries(shown.flatMap((m, i) => (results[i] ? [[m.id, results[i]]] : []))));
        });
    },
    {
      instance,
      types: [
        'message_received',
        'message_ack',
        'chatbot_paused',
        'message_edited',
        'message_revoked',
        'poll_vote',
        'status_received',
        'channel_message',
      ],
      concerns: (event) => event.data.chatId === chat,
      pollMs: 3_000,
    },
    [instance, chat],
  );
  const locale = () => (language.value === 'tr' ? 'tr-TR' : 'en-GB');
  const time = (s: number) => new Date(s * 1000).toLocaleString(locale());
  const resumeBot = () =>
    resume.run(async () => {
      await api('POST', `/instance/${instance}/chatbot/resume`, { chatId: chat });
      setPause(null);
      setResumed(t('messages.resumed'));
    });
  return (
    <>
      <Field id="messages-chat" label={t('messages.chat')}>
        <select
          id="messages-chat"
          value={chat}
          onChange={(e) => (setChat((e.target as HTMLSelectElement).value), setPause(null), setResumed(null), setMessages(null))}
        >
          <option value="">{chats?.length ? t('messages.pick') : t('messages.noChats')}</option>
          <option value={STATUSES}>{t('messages.statuses')}</option>
          {channels.map((c) => (
            <option value={c.id}>{t('messages.channel', { name: c.name })}</option>
          ))}
          {chats?.map((c) => (
            <option value={c.id}>
              {c.name ? `${c.name} (${c.id.split('@')[0]})` : c.id.split('@')[0]}
              {c.botPausedUntil ? ` · ${t('messages.pausedMark')}` : ''}
              {c.labels?.length ? ` · ${c.labels.map((id) => labels.get(id) ?? id).join(', ')}` : ''}
            </option>
          ))}
        </select>
      </Field>
      <Alert error={error} />
      {chat && pause && (
        <div class="paused" role="status">
          <p>
            {pause.because === 'handoff'
              ? t('messages.pausedHandoff', {
                  time: new Date(pause.pausedUntil).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' }),
                })
              : t('messages.paused', {
                  time: new Date(pause.pausedUntil).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' }),
                  because: t(`messages.because.${pause.because}`),
                })}
          </p>
          <button type="button" class="secondary" disabled={resume.busy} onClick={resumeBot}>
            {t('messages.resume')}
          </button>
        </div>
      )}
      <Alert error={resume.error} notice={chat && !pause ? resumed : null} />
      {chat && messages && messages.length === 0 && <p>{t('messages.empty')}</p>}
      {chat && messages && (
        <ol class="messages" aria-live="polite">
          {[...messages]
            .reverse()
            .filter((m) => !CHANGES.has(m.type))
            .map((m) => (
              <li class={m.fromMe ? 'mine' : 'theirs'}>
                <span class="hint">
                  {time(m.timestamp)} · {m.fromMe ? t('messages.sent', { status: m.status }) : t('messages.received')}
                  {chat === STATUSES && !m.fromMe && m.from && ` · ${m.from.split('@')[0]}`}
                  {m.editedAt && (
                    <span
                      class="edited"
                      title={m.edits?.map((e) => t('messages.editedFrom', { previous: e.previous, time: time(e.editedAt) })).join('\n')}
                    >
                      {' · '}
                      {t('messages.edited')}
                    </span>
                  )}
                </span>
                {m.revoked ? (
                  <div class="revoked">
                    <em>{t('messages.revoked')}</em>
                    {m.body && <div>{m.body}</div>}
                  </div>
                ) : (
                  <div>{m.body || `[${m.type}]`}</div>
                )}
                {polls[m.id] && (
                  <ul class="poll" aria-label={t('messages.pollResults', { voters: polls[m.id]!.voters })}>
                    {polls[m.id]!.options.map((o) => (
                      <li>
                        {o.name} <span class="badge">{o.votes}</span>
                      </li>
                    ))}
                    <li class="hint">{t('messages.pollResults', { voters: polls[m.id]!.voters })}</li>
                  </ul>
                )}
              </li>
            ))}
        </ol>
      )}
    </>
  );
}
